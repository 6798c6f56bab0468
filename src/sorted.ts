/**
 * Lists kept sorted by a numeric key, for the indexes of the checker
 * (src/check) and the kernel layer (src/kvm): one binary search, and the
 * insertion and removal (by identity) that keep the order.
 *
 * A long list is kept in blocks (BlockList): a VM of 8,000 memslots kept its
 * memslots, and a file its 8,000 bindings, in flat arrays, and every memslot
 * made or deleted shifted the rest of each (bench --check's slots trace:
 * README). In blocks of at most BLOCK items an insertion or removal shifts one
 * block, and finding an index walks the blocks' lengths (a few dozen for the
 * longest lists; a list of one block, as nearly all are, has none to walk).
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

const BLOCK = 256;

/**
 * A list of items addressed by index, as an array is, in blocks of at most
 * `cap` items: at(), insertAt(), removeAt() and set() cost a walk over the
 * blocks' lengths and a shift within one block, not a shift of the whole
 * list. The last block found is remembered, so that reading on from an index
 * costs nothing more per item.
 */
export class BlockList<T> implements Iterable<T> {
  private blocks: T[][] = [];
  private count = 0;
  /** The block last found, and the index of its first item (-1: none). */
  private hitBlock = 0;
  private hitStart = -1;

  /** `cap`: the most items a block holds (tests make it small, to have many blocks). */
  constructor(items: Iterable<T> = [], private readonly cap = BLOCK) {
    // The blocks are slices: an array given is not copied twice.
    const all = Array.isArray(items) ? (items as T[]) : [...items];
    for (let k = 0; k < all.length; k += cap) this.blocks.push(all.slice(k, k + cap));
    this.count = all.length;
  }

  get length(): number {
    return this.count;
  }

  /** How many blocks hold the items (for tests: they must stay few). */
  get blockCount(): number {
    return this.blocks.length;
  }

  /** Block bi holds index i from hitStart on, once found (i in [0, length]; length finds the end of the last block). */
  private find(i: number): number {
    const blocks = this.blocks;
    let b = 0;
    let start = 0;
    if (this.hitStart >= 0 && i >= this.hitStart) {
      b = this.hitBlock;
      start = this.hitStart;
    }
    while (b < blocks.length - 1 && i >= start + blocks[b].length) start += blocks[b++].length;
    this.hitBlock = b;
    this.hitStart = start;
    return b;
  }

  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    const b = this.find(i);
    return this.blocks[b][i - this.hitStart];
  }

  set(i: number, x: T): void {
    if (i < 0 || i >= this.count) throw new RangeError(`BlockList.set: index ${i} outside [0, ${this.count})`);
    const b = this.find(i);
    this.blocks[b][i - this.hitStart] = x;
  }

  /** Puts x at index i (0 to length), the items from i on moving up one. */
  insertAt(i: number, x: T): void {
    if (i < 0 || i > this.count) throw new RangeError(`BlockList.insertAt: index ${i} outside [0, ${this.count}]`);
    const blocks = this.blocks;
    if (blocks.length === 0) blocks.push([]);
    const b = this.find(i);
    const block = blocks[b];
    block.splice(i - this.hitStart, 0, x);
    this.count++;
    if (block.length > this.cap) {
      // Split evenly: each half has room for as many again.
      const half = block.length >> 1;
      blocks.splice(b + 1, 0, block.splice(half));
    }
  }

  /** Takes out the item at index i, the items after it moving down one; returns it. */
  removeAt(i: number): T {
    if (i < 0 || i >= this.count) throw new RangeError(`BlockList.removeAt: index ${i} outside [0, ${this.count})`);
    const blocks = this.blocks;
    const b = this.find(i);
    const block = blocks[b];
    const [x] = block.splice(i - this.hitStart, 1);
    this.count--;
    if (block.length === 0) {
      blocks.splice(b, 1);
      // The block found is gone: the next starts where it did, if there is one.
      if (b === blocks.length) this.hitStart = -1;
    } else if (block.length * 2 < this.cap && blocks.length > 1) {
      // As a B-tree keeps its leaves: a block under half full takes in a neighbour (the next, or the one before the
      // last), and what is then over a block splits evenly, so that every block but one holds half a block or more.
      const left = b + 1 < blocks.length ? b : b - 1;
      const merged = blocks[left].concat(blocks[left + 1]);
      const half = merged.length >> 1;
      blocks.splice(left, 2, ...(merged.length > this.cap ? [merged.slice(0, half), merged.slice(half)] : [merged]));
      this.hitStart = -1;
    }
    // Otherwise the block found (b) still starts where it did: the one after it when b was emptied.
    return x;
  }

  /** The first index whose item's key is at or past k (the list ascending by `key`). */
  lowerBound(k: number, key: (x: T) => number): number {
    const blocks = this.blocks;
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = blocks[mid];
      if (key(b[b.length - 1]) < k) lo = mid + 1;
      else hi = mid;
    }
    if (lo === blocks.length) return this.count;
    let start = 0;
    if (this.hitStart >= 0 && this.hitBlock <= lo) {
      start = this.hitStart;
      for (let b = this.hitBlock; b < lo; b++) start += blocks[b].length;
    } else for (let b = 0; b < lo; b++) start += blocks[b].length;
    this.hitBlock = lo;
    this.hitStart = start;
    return start + lowerBound(blocks[lo], k, key);
  }

  /** Puts x among the items (ascending by `key`), before those of its key. */
  insertSorted(x: T, key: (x: T) => number): void {
    this.insertAt(this.lowerBound(key(x), key), x);
  }

  /** Takes x (by identity) out of the items (ascending by `key`), looking among those of its key; false if it is not there. */
  removeSorted(x: T, key: (x: T) => number): boolean {
    const k = key(x);
    for (let i = this.lowerBound(k, key); i < this.count; i++) {
      const y = this.at(i)!;
      if (key(y) !== k) break;
      if (y === x) {
        this.removeAt(i);
        return true;
      }
    }
    return false;
  }

  /** Sorts the items by `key` (a list filled in bulk, in any order). */
  sortBy(key: (x: T) => number): void {
    const all = this.toArray().sort((a, b) => key(a) - key(b));
    this.blocks = [];
    for (let k = 0; k < all.length; k += this.cap) this.blocks.push(all.slice(k, k + this.cap));
    this.hitStart = -1;
  }

  /** Appends x (a list filled in bulk: sortBy() orders it after). */
  push(x: T): void {
    const blocks = this.blocks;
    if (blocks.length === 0 || blocks[blocks.length - 1].length >= this.cap) blocks.push([]);
    blocks[blocks.length - 1].push(x);
    this.count++;
  }

  toArray(): T[] {
    return this.blocks.length === 1 ? this.blocks[0].slice() : this.blocks.flat();
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const b of this.blocks) yield* b;
  }

  /** Whether some item satisfies fn (in order, stopping at the first). */
  some(fn: (x: T, i: number) => boolean): boolean {
    let i = 0;
    for (const b of this.blocks) for (const x of b) if (fn(x, i++)) return true;
    return false;
  }
}
