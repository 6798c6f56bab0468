/**
 * Hot calls (core-abi.ts "Hot calls"): one guest access, allocate or punch
 * run at once from its arguments, for the object API's handles, which need
 * each answer before they return. Where one() writes a command's eight words
 * and runs a batch of one, these take only the words the command reads and
 * call its step directly. The kernel layer has made every check first, as
 * for a queued command; its result words land in result 0, as one()'s do.
 */
import { RES_OK } from "../src/abi/core-abi";
import { resBuf } from "./batch";
import { guestAccess } from "./fault";
import { allocate, getInode } from "./inode";
import { punch } from "./invalidate";
import { put } from "./result";

/**
 * GUEST_ACCESS with private 0: its value word (the byte, for a read) on
 * RES_OK, else -1 - its code (its result words at result 0).
 */
export function hotAccess(vm: i32, gfn: f64, access: i32, byte: i32, attr: i32): f64 {
  guestAccess(resBuf, vm, <u64>gfn, access, 0, <u32>byte, attr);
  let code = load<f64>(resBuf);
  return code == <f64>RES_OK ? load<f64>(resBuf, 8) : -1 - code;
}

/** ALLOCATE (punch 0) or PUNCH (punch 1) of pages [start, stop) of an inode; result 0 as the batch writes it. */
export function hotFallocate(inode: i32, start: f64, stop: f64, punchIt: i32): void {
  let ino = getInode(inode);
  put(resBuf, RES_OK, <f64>(punchIt ? punch(ino, <u64>start, <u64>stop) : allocate(ino, <u64>start, <u64>stop)));
}
