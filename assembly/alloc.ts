/**
 * The core's memory allocator (the page allocator's and slab's part for the
 * simulator's own metadata). Power-of-two size classes with a free list each,
 * carved from a bump pointer that grows linear memory only by what is needed
 * (plus 1/16 slack), where asc's allocators double the whole memory at a time:
 * that matters for the "memory grows with populated pages" rule. Callers pass
 * the size back on free (every caller knows it), so blocks carry no header and
 * a power-of-two array fills its block exactly.
 */

const heads = memory.data(32 << 2, 4);
const HEAP_START: usize = (__heap_base + 15) & ~(<usize>15);
let top: usize = HEAP_START;
/** The highest top since instantiation or reset: what resetAlloc() must zero. */
let peak: usize = HEAP_START;

@inline function classOf(bytes: usize): usize {
  return bytes <= 16 ? 4 : 32 - <usize>clz(<u32>(bytes - 1));
}

export function alloc(bytes: usize): usize {
  let k = classOf(bytes);
  let h = heads + (k << 2);
  let p = <usize>load<u32>(h);
  if (p != 0) {
    store<u32>(h, load<u32>(p));
    return p;
  }
  p = top;
  top += <usize>1 << k;
  peak = max(peak, top);
  let have = <usize>memory.size();
  let need = (top + 0xffff) >>> 16;
  if (need > have) {
    let more = max(need - have, have >>> 4);
    if (memory.grow(<i32>more) < 0 && memory.grow(<i32>(need - have)) < 0) unreachable();
  }
  return p;
}

/** Zeroed block. */
export function allocZeroed(bytes: usize): usize {
  let p = alloc(bytes);
  memory.fill(p, 0, bytes);
  return p;
}

export function free(p: usize, bytes: usize): void {
  if (p == 0) return;
  let k = classOf(bytes);
  if (p + (<usize>1 << k) == top) {
    top = p; // the last block carved: give it back to the bump pointer
    return;
  }
  let h = heads + (k << 2);
  store<u32>(p, load<u32>(h));
  store<u32>(h, <u32>p);
}

/** Grow or shrink a block (p may be 0), keeping min(old, new) bytes. */
export function resize(p: usize, oldBytes: usize, newBytes: usize): usize {
  if (p != 0 && classOf(oldBytes) == classOf(newBytes)) return p;
  let q = alloc(newBytes);
  if (p != 0) {
    memory.copy(q, p, min(oldBytes, newBytes));
    free(p, oldBytes);
  }
  return q;
}

/** resize() to more bytes, the new ones set to `byte`. */
export function grow(p: usize, oldBytes: usize, newBytes: usize, byte: u8): usize {
  let q = resize(p, oldBytes, newBytes);
  memory.fill(q + oldBytes, byte, newBytes - oldBytes);
  return q;
}

/** A zeroed record of class T (an @unmanaged class: no constructor runs). */
@inline export function make<T>(): T {
  return changetype<T>(allocZeroed(offsetof<T>()));
}

@inline export function unmake<T>(x: T): void {
  free(changetype<usize>(x), offsetof<T>());
}

/**
 * Back to the instantiated state: every block forgotten, and the heap zeroed
 * as far as it was ever carved, since callers rely on fresh memory being 0
 * (memory cannot shrink, so pages past that stay and are still zero).
 */
export function resetAlloc(): void {
  memory.fill(heads, 0, 32 << 2);
  memory.fill(HEAP_START, 0, peak - HEAP_START);
  top = HEAP_START;
  peak = HEAP_START;
}

