/**
 * A gmem file's bindings: kvm_gmem_bind() / kvm_gmem_unbind() and the
 * per-file bindings xarray walked by kvm_gmem_invalidate_begin(). Here a
 * sorted array of memslot pointers, ordered by the memslot's pgoff; bindings of
 * one file never overlap (the kernel layer refuses that), so their ends are
 * sorted too and the first overlap of a range is one binary search away.
 */
import { Vec } from "./vec";
import { Memslot } from "./memslot";
import { Inode, updateSolo } from "./inode";
import { pgoffInsert, pgoffRemove } from "./pgoff-index";

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

// ---- the inode's index of every file's bindings (Inode.bound, pgoff-index.ts) ----

/** A new binding of one of the inode's files joins the inode's index. */
export function bindInode(ino: Inode, m: Memslot): void {
  pgoffInsert<Memslot>(ino.bound, m);
  if (m.npages > ino.boundLongest) ino.boundLongest = m.npages;
  updateSolo(ino);
}

export function unbindInode(ino: Inode, m: Memslot): void {
  pgoffRemove<Memslot>(ino.bound, m);
  updateSolo(ino);
}
