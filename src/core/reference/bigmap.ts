/**
 * A Map from integer keys that holds more than a JavaScript Map can (2^24
 * entries): the keys are split over shards of 2^22 consecutive keys each, so no
 * one Map ever passes the cap. It keeps the reference model's maps plain while
 * letting it hold as many pages as the engine.
 */
const SHARD_KEYS = 2 ** 22;

/** The shard of key k (keys below 2^22, nearly all, without a division). */
function shardOf(k: number): number {
  return k >= 0 && k < SHARD_KEYS ? 0 : Math.floor(k / SHARD_KEYS);
}

export class BigMap<V> {
  private readonly shards = new Map<number, Map<number, V>>();
  /** Shard 0 (keys below 2^22: nearly every key), also in `shards`: looked up without the shard map. */
  private low: Map<number, V> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(k: number): V | undefined {
    return this.shardAt(shardOf(k))?.get(k);
  }

  has(k: number): boolean {
    return this.shardAt(shardOf(k))?.has(k) ?? false;
  }

  set(k: number, v: V): this {
    const id = shardOf(k);
    let shard = this.shardAt(id);
    if (!shard) {
      this.shards.set(id, (shard = new Map()));
      if (id === 0) this.low = shard;
    }
    const before = shard.size;
    shard.set(k, v);
    this.count += shard.size - before;
    return this;
  }

  delete(k: number): boolean {
    const id = shardOf(k);
    const shard = this.shardAt(id);
    if (!shard || !shard.delete(k)) return false;
    this.count--;
    if (shard.size === 0) {
      this.shards.delete(id);
      if (id === 0) this.low = undefined;
    }
    return true;
  }

  /** Shard `id`, if it holds keys: shard 0 from its own field. */
  private shardAt(id: number): Map<number, V> | undefined {
    return id === 0 ? this.low : this.shards.get(id);
  }

  clear(): void {
    this.shards.clear();
    this.low = undefined;
    this.count = 0;
  }

  // One shard (a map whose keys lie within one 2^22 range: nearly every map) hands out its own iterator,
  // with no generator in between.
  keys(): IterableIterator<number> {
    return this.shards.size <= 1 ? this.only().keys() : this.allKeys();
  }

  values(): IterableIterator<V> {
    return this.shards.size <= 1 ? this.only().values() : this.allValues();
  }

  private only(): Map<number, V> {
    return this.shards.values().next().value ?? new Map();
  }

  private *allKeys(): IterableIterator<number> {
    for (const shard of this.shards.values()) yield* shard.keys();
  }

  private *allValues(): IterableIterator<V> {
    for (const shard of this.shards.values()) yield* shard.values();
  }
}
