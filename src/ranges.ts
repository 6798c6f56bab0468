/**
 * Page ranges [start, end) kept merged and ascending, for the windows a gmem
 * file donated away (src/kvm/ops/link.ts: gmem_link of the inode/file design,
 * an extension of upstream) and the permission policies that read them
 * (src/policy): a file that donated n windows answers whether a
 * range overlaps one in O(log n), where a scan of the list cost O(n) on every
 * fallocate, mmap, conversion and memslot of the file.
 *
 * Lists are never changed in place: a file's list is shared with the frozen
 * views policies get (src/kvm/views.ts), so adding a range makes a new list.
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

/** `ranges` (merged, ascending) with [s, e) added, as a new list: ranges it overlaps or touches merge into one. */
export function withRange(ranges: Ranges, s: number, e: number): Ranges {
  if (s >= e) return ranges;
  // From the first range that ends at or after s, those that start by e overlap or touch [s, e).
  const first = lowerBound(ranges, s, rangeEnd);
  let last = first;
  let lo = s;
  let end = e;
  while (last < ranges.length && ranges[last][0] <= e) {
    lo = Math.min(lo, ranges[last][0]);
    end = Math.max(end, ranges[last][1]);
    last++;
  }
  // One array of the final length, filled by index: spreading slices made three arrays and grew the last one.
  const out = new Array<readonly [number, number]>(ranges.length - (last - first) + 1);
  for (let k = 0; k < first; k++) out[k] = ranges[k];
  out[first] = [lo, end];
  for (let k = last, at = first + 1; k < ranges.length; k++, at++) out[at] = ranges[k];
  return out;
}
