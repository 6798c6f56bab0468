/**
 * The zap fan-out when inode pages go away or go bad:
 * kvm_gmem_invalidate_begin() over every file's bindings, then the MMU
 * notifier (kvm_mmu_notifier_invalidate_range_start() -> kvm_handle_hva_range())
 * over every host mapping of the pages. Plus the operations built on it:
 * kvm_gmem_punch_hole(), kvm_gmem_error_folio() (memory failure), munmap,
 * and FILE_BLOCK (a window donated away from one file: only that file's
 * bindings and host maps are zapped, and it stops reaching the window).
 * Zap order is not observable (each SPTE is removed and counted once), so each
 * step visits only what overlaps, in whatever order its index gives.
 */
import { PG_HWPOISON, RES_OK, RES_NO_PAGE } from "../src/abi/core-abi";
import { put } from "./result";
import { Inode, pagesRef } from "./inode";
import { GmemFile, getFile } from "./file";
import { Memslot, forEachSlotByHva } from "./memslot";
import { HostMap, mapRemove } from "./hostmap";
import { pgoffFirstReaching } from "./pgoff-index";
import { firstEndingAfter, bindingAt } from "./binding";
import { zapRange } from "./stage2";
import { bmRemoveRange, bmDelete, bmGet } from "./blockmap";
import { frameFlags, setFrameFlags, freeFrames, freeFrame, setFreeKind } from "./frames";

function zapSlotHva(m: Memslot, hs: u64, he: u64): void {
  zapRange(m.vm, m.base + (hs - m.uaddr), m.base + (he - m.uaddr));
}

/** The MMU notifier over hva pages [hs, he): every memslot of every VM showing them. */
export function notifyHva(hs: u64, he: u64): void {
  forEachSlotByHva(hs, he, zapSlotHva);
}

/** The SPTEs binding m maps over pgoffs [start, end), zapped (none where they do not overlap). */
@inline function zapBinding(m: Memslot, start: u64, end: u64): void {
  let s = max(start, m.pgoff), e = min(end, m.pgoff + m.npages);
  if (s < e) zapRange(m.vm, m.base + (s - m.pgoff), m.base + (e - m.pgoff));
}

/** kvm_gmem_invalidate_begin() for one file: the gfns its bindings give pgoffs [start, end), in its VM. */
function zapFileRange(f: GmemFile, start: u64, end: u64): void {
  if (f.vm.sptes == 0) return;
  let v = f.bindings;
  for (let j = firstEndingAfter(v, start), nb = v.len; j < nb; j++) {
    let m = bindingAt(v, j);
    if (m.pgoff >= end) break;
    zapBinding(m, start, end);
  }
}

/** The MMU notifier over the hva pages of the inode's maps (all, or those of `file` only) showing [start, end). */
export function notifyMaps(ino: Inode, start: u64, end: u64, onlyFile: bool, file: i32): void {
  let ml = ino.mapsByPgoff;
  // The maps that may reach start (pgoff-index.ts), up to the first that begins at or past end.
  for (let i = pgoffFirstReaching<HostMap>(ml, start, ino.mapsLongest), n = ml.len; i < n; i++) {
    let hm = changetype<HostMap>(<usize>ml.get(i));
    if (hm.pgoff >= end) break;
    if (onlyFile && hm.file != file) continue;
    let s = max(start, hm.pgoff), e = min(end, hm.pgoff + hm.npages);
    if (s < e) notifyHva(hm.hva + (s - hm.pgoff), hm.hva + (e - hm.pgoff));
  }
}

/**
 * kvm_gmem_invalidate_begin(): the SPTEs of every binding of every file of the
 * inode over pgoffs [start, end). An inode with one binding and no host map
 * (Inode.solo, the common guest-driven case) zaps through that binding, on
 * the inode's own line; any other walks the inode's index of its files'
 * bindings over the range, where the kernel walks every file. Inlined, so
 * that the first case makes no call.
 */
@inline export function zapBound(ino: Inode, start: u64, end: u64): void {
  let solo = ino.solo;
  if (solo != 0) zapBinding(changetype<Memslot>(solo), start, end);
  else zapIndexed(ino, start, end);
}

function zapIndexed(ino: Inode, start: u64, end: u64): void {
  let v = ino.bound;
  for (let i = pgoffFirstReaching<Memslot>(v, start, ino.boundLongest), n = v.len; i < n; i++) {
    let m = bindingAt(v, i);
    if (m.pgoff >= end) break;
    zapBinding(m, start, end);
  }
}

/** zapBound(), then the MMU notifier over the inode's host maps of the range (an inode with Inode.solo has none). */
@inline export function invalidate(ino: Inode, start: u64, end: u64): void {
  zapBound(ino, start, end);
  if (ino.solo == 0 && ino.maps.len != 0) notifyMaps(ino, start, end, false, -1); // most inodes have no host mapping: no call
}

/**
 * FILE_BLOCK: pgoffs [start, end) leave the file for good. Its bindings' SPTEs
 * there are zapped, then the notifier runs over its own host maps of the
 * range (maps of other files on the inode keep theirs); the fault paths check
 * the blocked ranges from now on.
 */
export function fileBlock(id: i32, start: u64, end: u64): void {
  let f = getFile(id);
  f.blocked.add(start, end);
  zapFileRange(f, start, end);
  notifyMaps(f.inode, start, end, true, id);
}

/** kvm_gmem_punch_hole(): zap (invalidate()), then free every present page in range; returns how many. */
export function punch(ino: Inode, start: u64, end: u64): i64 {
  invalidate(ino, start, end);
  if (end - start == 1) {
    let pfn = bmDelete(pagesRef(ino), start);
    if (pfn == 0) return 0;
    freeFrame(ino.kind, pfn);
    return 1;
  }
  setFreeKind(ino.kind);
  return bmRemoveRange(pagesRef(ino), start, end, freeFrames);
}

/**
 * kvm_gmem_error_folio(): poison the page, then zap it everywhere (value 1 if
 * newly poisoned). An absent page has no folio to fail: RES_NO_PAGE, nothing changes.
 */
export function memoryFailure(r: usize, ino: Inode, pgoff: u64): void {
  let pfn = bmGet(pagesRef(ino), pgoff);
  if (pfn == 0) return put(r, RES_NO_PAGE);
  let f = frameFlags(pfn);
  setFrameFlags(pfn, f | PG_HWPOISON);
  invalidate(ino, pgoff, pgoff + 1);
  put(r, RES_OK, (f & PG_HWPOISON) ? 0 : 1);
}

/** munmap: the notifier over the whole map, then the map goes. */
export function mapDestroy(m: HostMap): void {
  notifyHva(m.hva, m.hva + m.npages);
  mapRemove(m);
}
