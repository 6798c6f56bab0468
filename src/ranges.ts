/**
 * Page ranges [start, end) kept merged and ascending, for the windows a gmem
 * file donated away (src/kvm/ops/link.ts: gmem_link of the inode/file design,
 * an extension of upstream) and the permission policies that read them
 * (src/policy): a file that donated n windows answers whether a
 * range overlaps one in O(log n), where a scan of the list cost O(n) on every
 * fallocate, mmap, conversion and memslot of the file.
 *
 * A file's list is shared with the views policies get (src/kvm/views.ts).
 * A policy other than gmemsim's own is shown them deeply frozen, the list
 * included, and may keep them: a frozen list is never changed, and adding a
 * range to it makes a new list (writable()). gmemsim's own policy reads a
 * view and lets it go, so a list no one froze takes a new range in place
 * (addRange()): a new list per donation cost a copy of every window, and past
 * 16,384 windows each copy was an allocation of its own pages (a trace of
 * 32,000 one-page donations took 12.4 s to replay, 0.9 s in place).
 */
import { lowerBound } from "./sorted.js";

export type Ranges = ReadonlyArray<readonly [number, number]>;

const rangeStart = (r: readonly [number, number]) => r[0];
const rangeEnd = (r: readonly [number, number]) => r[1];

/** Does [s, e) overlap a range of `ranges` (merged, ascending)? */
export function overlapsRanges(ranges: Ranges, s: number, e: number): boolean {
  if (s >= e) return false;
  // The last range that starts before e: merged ranges end in the order they start, so it ends last of those.
  const k = lowerBound(ranges, e, rangeStart);
  return k > 0 && ranges[k - 1][1] > s;
}

/**
 * A list the kernel layer shares with the views policies are shown, to change:
 * the list itself, or a copy where a policy other than gmemsim's own was
 * shown it (deeply frozen) and may keep it. Its items are never changed, only
 * replaced.
 */
export function writable<T>(list: readonly T[]): T[] {
  return Object.isFrozen(list) ? list.slice() : (list as T[]);
}

/** setRange() of pages in, for a file's donated windows: the list (itself unless frozen) with [s, e) added. */
export function addRange(ranges: Ranges, s: number, e: number): Ranges {
  return setRange(ranges, s, e, true) ?? ranges;
}

/**
 * Pages [s, e) set in (`on`) or out of `ranges` (merged, ascending): runs it
 * cuts are trimmed or split, and a range set in merges with those it overlaps
 * or touches. The list itself changes unless it is frozen (writable()): a
 * VM's PRIVATE attribute ranges (rebuilding the list per change made n
 * changes cost n^2 log n), a file's donated windows (addRange()). Returns the
 * list, or null when the pages it holds did not change.
 */
export function setRange(ranges: Ranges, s: number, e: number, on: boolean): Ranges | null {
  if (s >= e) return null;
  let first: number;
  let last: number;
  let put: Array<readonly [number, number]>;
  if (on) {
    // The ranges [s, e) overlaps or touches: from the first that ends at or after s, while they start by e. Merged
    // and ascending, the first of them starts first and the last ends last.
    first = lowerBound(ranges, s, rangeEnd);
    last = first;
    while (last < ranges.length && ranges[last][0] <= e) last++;
    if (first === last) put = [[s, e]];
    else {
      // Already inside one range (merged ranges never touch, so two cannot cover it together).
      if (last - first === 1 && ranges[first][0] <= s && ranges[first][1] >= e) return null;
      put = [[Math.min(s, ranges[first][0]), Math.max(e, ranges[last - 1][1])]];
    }
  } else {
    // The ranges that hold a page of [s, e): from the first that ends past s, while they start before e.
    first = lowerBound(ranges, s + 1, rangeEnd);
    last = first;
    while (last < ranges.length && ranges[last][0] < e) last++;
    if (first === last) return null;
    put = [];
    if (ranges[first][0] < s) put.push([ranges[first][0], s]);
    if (ranges[last - 1][1] > e) put.push([e, ranges[last - 1][1]]);
  }
  const out = writable(ranges);
  out.splice(first, last - first, ...put);
  return out;
}
