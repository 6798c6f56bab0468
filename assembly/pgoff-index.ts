/**
 * Lists of objects ascending by pgoff (a Vec of pointers), whose owner keeps
 * the length of the longest: the objects that may show pgoff `start` begin
 * after start minus that length, a binary search away. An inode's host maps
 * (Inode.mapsByPgoff) and every file's bindings (Inode.bound) are such lists,
 * so a punch or an MMU notifier visits what lies over its range, not every
 * map or file of the inode.
 */
import { Vec } from "./vec";

/** The first item of v whose pgoff is at or past pgoff. */
function firstFrom<T>(v: Vec, pgoff: u64): i32 {
  let lo = 0, hi = v.len;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (changetype<T>(<usize>v.get(mid)).pgoff < pgoff) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export function pgoffInsert<T>(v: Vec, x: T): void {
  v.insertAt(firstFrom<T>(v, x.pgoff), <u32>changetype<usize>(x));
}

export function pgoffRemove<T>(v: Vec, x: T): void {
  let i = firstFrom<T>(v, x.pgoff);
  let p = <u32>changetype<usize>(x);
  while (v.get(i) != p) i++;
  v.removeAt(i);
}

/** The first item that may show pgoff start, when none is longer than `longest` pages. */
export function pgoffFirstReaching<T>(v: Vec, start: u64, longest: u64): i32 {
  return start >= longest ? firstFrom<T>(v, start - longest + 1) : 0;
}
