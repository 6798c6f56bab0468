/**
 * GmemError: what the object API throws. Every failure of an operation is the
 * kernel's errno plus a sentence naming the argument and the rule it broke.
 */
import { ERRNO, type ErrnoName } from "./uapi/errno.js";

export class GmemError extends Error {
  /** The errno's name, as the kernel spells it ("EINVAL"). */
  readonly errno: ErrnoName;
  /** The errno's number on x86-64 Linux. */
  readonly code: number;
  /** The operation that failed, as named in traces ("fallocate"). */
  readonly op: string;

  constructor(op: string, errno: ErrnoName, message: string) {
    super(`${op}: ${errno}: ${message}`);
    this.name = "GmemError";
    this.op = op;
    this.errno = errno;
    this.code = ERRNO[errno];
  }
}

/**
 * A trace line that cannot run (bad JSON, unknown name, a value out of range).
 * It becomes that line's result, never a crash, so it carries no stack trace:
 * capturing one cost more than running the op (random traces hit many of them).
 */
export class TraceError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = "TraceError";
  }
}
