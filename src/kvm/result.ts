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

export function fail(errno: ErrnoName, message: string): Result {
  const r: Result = { errno };
  Object.defineProperty(r, "message", { value: message, enumerable: false });
  return r;
}

export function messageOf(r: Result): string | undefined {
  return (r as { message?: string }).message;
}
