/**
 * A typed command's result words (the layout of src/api/typed.ts) as the
 * Result its op's own path gives: the same keys in the same order
 * (guest.ts fillAccess(), mmap.ts, result.ts fail()), and the sentence
 * behind a failure. One translation for every reader of typed results (the
 * binary trace's replay, apply's hot runs).
 */
import { KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, SIGBUS, TYPED_RES_WORDS } from "../api/typed.js";
import { withMessage, type Result } from "../kvm/result.js";
import { ERRNO, type ErrnoName } from "../uapi/errno.js";

const ERRNO_NAME: Record<number, ErrnoName> = Object.fromEntries(Object.entries(ERRNO).map(([k, v]) => [v, k as ErrnoName]));

/** Whether result k (words at k * TYPED_RES_WORDS) succeeded: no errno, exit or signal. */
export function typedOk(res: Float64Array, k: number): boolean {
  const o = k * TYPED_RES_WORDS;
  return res[o] === 0 && res[o + 1] === 0 && res[o + 2] === 0;
}

/**
 * Result k as a Result. `read`: the op reads a byte (a read or a load), whose
 * success carries it. `why`: the failure's sentence (TypedBatch.message()).
 * A malformed command (errno -1) has no Result: the caller says what it is.
 */
export function typedResult(res: Float64Array, k: number, read: boolean, why: string | undefined): Result {
  const o = k * TYPED_RES_WORDS;
  const errno = res[o];
  const exit = res[o + 1];
  const signal = res[o + 2];
  if (errno === 0 && exit === 0 && signal === 0) return read ? { ret: 0, value: res[o + 3] } : { ret: 0 };
  let r: Result;
  if (exit === KVM_EXIT_MMIO) r = { ret: 0, exit: "mmio", gpa: res[o + 4] };
  else if (exit === KVM_EXIT_INTERNAL_ERROR) r = { ret: 0, exit: "internal_error", suberror: res[o + 5] };
  else if (exit === KVM_EXIT_MEMORY_FAULT) r = { errno: ERRNO_NAME[errno], exit: "memory_fault", gpa: res[o + 4], size: res[o + 6], flags: res[o + 5] ? ["PRIVATE"] : [] };
  else if (signal) r = { signal: signal === SIGBUS ? "SIGBUS" : "SIGSEGV" };
  else r = { errno: ERRNO_NAME[errno] };
  if (why) withMessage(r, why);
  return r;
}
