/**
 * A map from non-negative integer keys (gfns, pgoffs, pfns: below 2^53) to
 * values, for the checker's big indexes (an inode's pages, a VM's SPTEs, pages
 * and SPTEs by pfn), with the subset of Map's interface they use.
 *
 * Why not a Map: V8's Map leaves a deleted entry in its hash chain until the
 * table is next rebuilt, and a table of n entries is rebuilt only after about
 * n more insertions. Keys deleted and set again over and over (pages punched
 * and faulted back, SPTEs zapped and mapped again: the guest's working set)
 * pile dead entries into their own chains meanwhile, so each lookup walks
 * longer chains the bigger the map: checking the same in-place conversions
 * cost more per op in a guest of 16,000 mapped pages than in one of 2,000
 * (bench --check's conversion trace: README).
 *
 * Here keys go in blocks of 64 (key / 64 names the block, as the core's block
 * map does): deleting a key clears its slot in the block, and only an emptied
 * block leaves the Map of blocks, which a dense working set rarely does.
 * Iteration goes block by block (in the order the blocks were made), each in
 * key order; a key deleted during iteration is skipped, as a Map skips it.
 */

const SPAN = 64;

class Block<V> {
  n = 0;
  readonly v: Array<V | undefined> = new Array(SPAN);
}

export class IntMap<V> implements Iterable<[number, V]> {
  private readonly blocks = new Map<number, Block<V>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: number): V | undefined {
    return this.blocks.get(Math.floor(key / SPAN))?.v[key % SPAN];
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  /** Sets key to value (never undefined: undefined is an absent key). */
  set(key: number, value: V): this {
    const b = Math.floor(key / SPAN);
    let block = this.blocks.get(b);
    if (block === undefined) this.blocks.set(b, (block = new Block()));
    const i = key % SPAN;
    if (block.v[i] === undefined) {
      block.n++;
      this.count++;
    }
    block.v[i] = value;
    return this;
  }

  delete(key: number): boolean {
    const b = Math.floor(key / SPAN);
    const block = this.blocks.get(b);
    const i = key % SPAN;
    if (block === undefined || block.v[i] === undefined) return false;
    block.v[i] = undefined;
    this.count--;
    if (--block.n === 0) this.blocks.delete(b);
    return true;
  }

  clear(): void {
    this.blocks.clear();
    this.count = 0;
  }

  /** Calls fn for each value and key, as Map.forEach does (a key deleted meanwhile is skipped). */
  forEach(fn: (value: V, key: number) => void): void {
    for (const [b, block] of this.blocks)
      for (let i = 0; i < SPAN; i++) {
        const x = block.v[i];
        if (x !== undefined) fn(x, b * SPAN + i);
      }
  }

  *entries(): IterableIterator<[number, V]> {
    for (const [b, block] of this.blocks)
      for (let i = 0; i < SPAN; i++) {
        const x = block.v[i];
        if (x !== undefined) yield [b * SPAN + i, x];
      }
  }

  [Symbol.iterator](): IterableIterator<[number, V]> {
    return this.entries();
  }

  *keys(): IterableIterator<number> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const block of this.blocks.values())
      for (let i = 0; i < SPAN; i++) {
        const x = block.v[i];
        if (x !== undefined) yield x;
      }
  }
}
