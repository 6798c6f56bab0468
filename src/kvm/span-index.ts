/**
 * Spans that never overlap one another (a VM's memslots by gfn, a file's
 * bindings by pgoff), sorted, so that the first one a range overlaps is a
 * binary search away (the list in blocks: src/sorted.ts): what KVM's memslot interval tree and the bindings
 * xarray's xa_find() give, where a scan of every memslot or binding cost each
 * memslot change the VM's whole list (a VM of 8,000 memslots replayed memslot
 * churn 3.5x slower than one of 1,000). A VM or file takes one from its second
 * memslot or binding on: most have one, and their bytes are counted.
 */
import { BlockList } from "../sorted.js";

export class SpanIndex<T> {
  private readonly items = new BlockList<T>();

  /** Spans [start(x), end(x)) of integers (gfns, pgoffs). */
  constructor(
    private readonly start: (x: T) => number,
    private readonly end: (x: T) => number,
    from: Iterable<T>,
  ) {
    for (const x of from) this.add(x);
  }

  add(x: T): void {
    this.items.insertSorted(x, this.start);
  }

  /** Takes x out (by identity). */
  remove(x: T): void {
    this.items.removeSorted(x, this.start);
  }

  /** The span with the lowest start that overlaps [start, end), other than `skip`; undefined if none. */
  firstOverlap(start: number, end: number, skip?: T): T | undefined {
    const items = this.items;
    // Spans do not overlap, so their ends are sorted as their starts are: the first that ends past start.
    for (let k = items.lowerBound(start + 1, this.end); k < items.length; k++) {
      const x = items.at(k)!;
      if (this.start(x) >= end) break;
      if (x !== skip) return x;
    }
    return undefined;
  }
}
