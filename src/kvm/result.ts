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

export function fail(errno: ErrnoName, message: string): Result {
  return withMessage({ errno }, message);
}

/**
 * Gives a result (or a result line) the sentence behind it: a `message` that
 * is not enumerable, so that the line stays exactly the kernel's in JSON and
 * in deep comparisons, and messageOf() reads it. Returns r.
 */
export function withMessage<T extends object>(r: T, message: string): T {
  Object.defineProperty(r, "message", { value: message, enumerable: false });
  return r;
}

/** An integer as results carry it: a number when exact as a double, a bigint past 2^53 (SPEC §5: exact digits). */
export function exact(v: bigint): number | bigint {
  return v <= 9007199254740991n && v >= -9007199254740991n ? Number(v) : v;
}

export function messageOf(r: Result): string | undefined {
  return (r as { message?: string }).message;
}
