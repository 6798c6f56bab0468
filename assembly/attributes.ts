/**
 * In-place conversion (linux-next, profile next): the attributes of a gmem
 * inode's pages, kept beside its page cache as PRIVATE pgoff runs (Inode.priv,
 * sparse: the cost follows the number of runs, not the range), and
 * __kvm_gmem_set_attributes(), which converts a range (core-abi.ts
 * SET_ATTRIBUTES). Conversion never touches contents.
 */
import { RES_OK, RES_EAGAIN, PG_PRIVATE } from "../src/abi/core-abi";
import { put } from "./result";
import { Inode } from "./inode";
import { getVm } from "./kvm";
import { slotByGfn } from "./memslot";
import { zapBound, notifyMaps } from "./invalidate";
import { gmemPrivateGfn } from "./fault";
import { bmForEach } from "./blockmap";
import { framePinned, anyPinned, frameFlags, setFrameFlags, setFrameCtx } from "./frames";

let firstPinned: i64 = -1;

function unprepare(_pgoff: u64, pfn: u32): void {
  let f = frameFlags(pfn);
  if (f & PG_PRIVATE) {
    setFrameFlags(pfn, f & ~PG_PRIVATE);
    setFrameCtx(pfn, 0);
  }
}

function findPinned(pgoff: u64, pfn: u32): void {
  if (firstPinned < 0 && framePinned(pfn)) firstPinned = <i64>pgoff;
}

export function setAttributes(r: usize, ino: Inode, start: u64, end: u64, toPrivate: bool): void {
  // kvm_gmem_range_has_attributes(): nothing to change, nothing happens (no unmap, no zap, no reference check).
  if (toPrivate ? ino.priv.covers(start, end) : !ino.priv.meets(start, end)) return put(r, RES_OK, 0);
  if (toPrivate) {
    // unmap_mapping_pages(): every host mapping of the range loses its PTEs, before the check below.
    notifyMaps(ino, start, end, false, -1);
    // kvm_gmem_has_outstanding_references(): the first pinned present page, ascending, fails the call.
    firstPinned = -1;
    if (anyPinned()) bmForEach(ino.pages, start, end, findPinned);
    if (firstPinned >= 0) return put(r, RES_EAGAIN, <f64>firstPinned);
  }
  // kvm_gmem_invalidate_start(): every binding of every file of the inode.
  zapBound(ino, start, end);
  if (toPrivate) ino.priv.add(start, end);
  else {
    ino.priv.remove(start, end);
    // The pages are no longer prepared private: a later private fault prepares them again, under its VM's context.
    bmForEach(ino.pages, start, end, unprepare);
  }
  put(r, RES_OK, 1);
}

/** kvm_gmem_is_private_gfn() for the kernel layer's check of a trace's `private`. */
export function gfnPrivate(vmId: i32, gfn: u64): bool {
  return gmemPrivateGfn(slotByGfn(getVm(vmId), gfn), gfn);
}
