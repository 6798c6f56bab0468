/**
 * A gmem file's bindings: kvm_gmem_bind() / kvm_gmem_unbind() and the
 * per-file bindings xarray walked by kvm_gmem_invalidate_begin(). Here a
 * sorted array of memslot pointers, ordered by the memslot's pgoff; bindings of
 * one file never overlap (the kernel layer refuses that), so their ends are
 * sorted too and the first overlap of a range is one binary search away.
 */
import { Vec } from "./vec";
import { Memslot } from "./memslot";
import { Inode } from "./inode";

@inline function at(v: Vec, i: i32): Memslot {
  return changetype<Memslot>(<usize>v.get(i));
}

/** First binding whose pgoff range ends after pgoff. */
export function firstEndingAfter(v: Vec, pgoff: u64): i32 {
  let lo = 0, hi = v.len;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    let m = at(v, mid);
    if (m.pgoff + m.npages <= pgoff) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export function bind(v: Vec, m: Memslot): void {
  v.insertAt(firstEndingAfter(v, m.pgoff), <u32>changetype<usize>(m));
}

export function unbind(v: Vec, m: Memslot): void {
  let i = firstEndingAfter(v, m.pgoff);
  let p = <u32>changetype<usize>(m);
  while (v.get(i) != p) i++;
  v.removeAt(i);
}

@inline export function bindingAt(v: Vec, i: i32): Memslot {
  return at(v, i);
}

// ---- the inode's index of every file's bindings (Inode.bound) ----

/** The first binding of an inode's index (ascending pgoff) whose pgoff is at or past pgoff. */
function firstFrom(v: Vec, pgoff: u64): i32 {
  let lo = 0, hi = v.len;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (at(v, mid).pgoff < pgoff) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** A new binding of one of the inode's files joins the inode's index. */
export function bindInode(ino: Inode, m: Memslot): void {
  ino.bound.insertAt(firstFrom(ino.bound, m.pgoff), <u32>changetype<usize>(m));
  if (m.npages > ino.boundLongest) ino.boundLongest = m.npages;
}

export function unbindInode(ino: Inode, m: Memslot): void {
  let v = ino.bound;
  let i = firstFrom(v, m.pgoff);
  let p = <u32>changetype<usize>(m);
  while (v.get(i) != p) i++;
  v.removeAt(i);
}

/** The first binding of the inode's index that may show pgoff start: one showing it begins after start minus the longest. */
export function firstReaching(ino: Inode, start: u64): i32 {
  return start >= ino.boundLongest ? firstFrom(ino.bound, start - ino.boundLongest + 1) : 0;
}
