/**
 * Results of operations, shaped as trace result lines (SPEC §5) minus "i".
 * A failure also carries a sentence naming the argument and the rule; it is not
 * enumerable, so result lines stay exactly the kernel's.
 */
import type { ErrnoName } from "../uapi/errno.js";

export type Result = {
  ret?: number;
  errno?: ErrnoName;
  signal?: "SIGBUS" | "SIGSEGV";
  exit?: "memory_fault" | "mmio" | "internal_error";
  [key: string]: unknown;
};

export function ok(extra?: Record<string, unknown>): Result {
  return extra ? { ret: 0, ...extra } : { ret: 0 };
}

/** The plain success {ret: 0}, shared (frozen): ops with nothing else to say return it, so a success costs no object. */
export const OK: Result = Object.freeze({ ret: 0 }) as Result;

/**
 * Where a failure keeps its sentence: a symbol key, which JSON.stringify,
 * Object.keys and for-in skip, read back through the non-enumerable `message`
 * getter of FAILURE. A failure built this way costs a plain construction; the
 * former per-result Object.defineProperty cost ~0.2 us, a few percent of a fuzzed op.
 */
const MESSAGE = Symbol("message");

/** The prototype of failures: Object.prototype plus the `message` getter (so `constructor` is still Object). */
const FAILURE: object = Object.create(Object.prototype, {
  message: {
    get(this: { [MESSAGE]?: string }) {
      return this[MESSAGE];
    },
    enumerable: false,
  },
});

function Failure(this: Result, errno: ErrnoName, message: string) {
  this.errno = errno;
  (this as { [MESSAGE]?: string })[MESSAGE] = message;
}
Failure.prototype = FAILURE;

export function fail(errno: ErrnoName, message: string): Result {
  return new (Failure as unknown as new (errno: ErrnoName, message: string) => Result)(errno, message);
}

/** An integer as results carry it: a number when exact as a double, a bigint past 2^53 (SPEC §5: exact digits). */
export function exact(v: bigint): number | bigint {
  return v <= 9007199254740991n && v >= -9007199254740991n ? Number(v) : v;
}

export function messageOf(r: Result): string | undefined {
  return (r as { message?: string }).message;
}
