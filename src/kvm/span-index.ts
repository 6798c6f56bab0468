/**
 * Spans that never overlap one another (a VM's memslots by gfn, a file's
 * bindings by pgoff), sorted, so that the first one a range overlaps is a
 * binary search away: what KVM's memslot interval tree and the bindings
 * xarray's xa_find() give, where a scan of every memslot or binding cost each
 * memslot change the VM's whole list (a VM of 8,000 memslots replayed memslot
 * churn 3.5x slower than one of 1,000). A collection takes one only once it
 * is large (INDEX_FROM): most VMs have a memslot or two, and a VM's bytes are
 * counted.
 */
export const INDEX_FROM = 16;

export class SpanIndex<T> {
  private readonly items: T[] = [];

  constructor(
    private readonly start: (x: T) => number,
    private readonly end: (x: T) => number,
    from: Iterable<T>,
  ) {
    for (const x of from) this.add(x);
  }

  add(x: T): void {
    this.items.splice(this.endingAfter(this.start(x)), 0, x);
  }

  /** Takes x out (by identity), found where its span says it is. */
  remove(x: T): void {
    const items = this.items;
    for (let k = this.endingAfter(this.start(x)); k < items.length && this.start(items[k]) <= this.start(x); k++) {
      if (items[k] === x) {
        items.splice(k, 1);
        return;
      }
    }
  }

  /** The span with the lowest start that overlaps [start, end), other than `skip`; undefined if none. */
  firstOverlap(start: number, end: number, skip?: T): T | undefined {
    const items = this.items;
    for (let k = this.endingAfter(start); k < items.length && this.start(items[k]) < end; k++) if (items[k] !== skip) return items[k];
    return undefined;
  }

  /** The first span that ends after x (spans do not overlap, so their ends are sorted as their starts are). */
  private endingAfter(x: number): number {
    const items = this.items;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.end(items[mid]) <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
