/**
 * Arrays kept sorted by a numeric key, for the indexes of the checker
 * (src/check) and the kernel layer (src/kvm): one binary search, and the
 * insertion and removal (by identity) that keep the order.
 */

/** The first index of `a` (ascending by `key`) whose key is at or past k. */
export function lowerBound<T>(a: readonly T[], k: number, key: (x: T) => number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(a[mid]) < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Puts x into `a` (ascending by `key`), among those of its key. */
export function insertSorted<T>(a: T[], x: T, key: (x: T) => number): void {
  a.splice(lowerBound(a, key(x), key), 0, x);
}

/** Takes x (by identity) out of `a` (ascending by `key`), looking among those of its key; false if it is not there. */
export function removeSorted<T>(a: T[], x: T, key: (x: T) => number): boolean {
  const k = key(x);
  for (let i = lowerBound(a, k, key); i < a.length && key(a[i]) === k; i++) {
    if (a[i] === x) {
      a.splice(i, 1);
      return true;
    }
  }
  return false;
}
