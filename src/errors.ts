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
 * It becomes that line's result, never a crash, so it carries no stack trace;
 * and it is made without Error's constructor (random traces hit many of them,
 * and a native Error, even without its stack, cost more than running the op:
 * ~0.9 us against ~0.35 us thrown and caught): an object with the message,
 * whose prototype chain is TraceError's and Error's, so `instanceof TraceError`
 * and `instanceof Error` hold, `name` is "TraceError", and util.inspect prints
 * it as before (Object.prototype.toString gives "[object Object]": it is no
 * native Error).
 */
export interface TraceError extends Error {}
export const TraceError = function TraceError(message: string): TraceError {
  const e = Object.create(TRACE_ERROR_PROTOTYPE) as TraceError;
  e.message = message;
  return e;
} as unknown as { new (message: string): TraceError; readonly prototype: TraceError };
const TRACE_ERROR_PROTOTYPE: TraceError = Object.create(Error.prototype, {
  constructor: { value: TraceError, writable: true, configurable: true },
  name: { value: "TraceError", writable: true, configurable: true },
});
(TraceError as unknown as { prototype: TraceError }).prototype = TRACE_ERROR_PROTOTYPE;
// util.inspect names it by its constructor's name, which a bundler may rename: "[TraceError: ...]" as before.
Object.defineProperty(TraceError, "name", { value: "TraceError" });

/** What someone else's code threw or returned (a policy's hook or property), as text: an Error's message, else the value; never a throw itself. */
export function foreignText(e: unknown): string {
  try {
    return e instanceof Error ? e.message : String(e);
  } catch {
    return "an unprintable value";
  }
}
