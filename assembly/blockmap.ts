/**
 * An ordered map u64 -> u32 for the two hot tables, the page cache
 * (Inode.pages: pgoff -> pfn, the address_space's i_pages) and the stage-2
 * table (Kvm.s2: gfn -> SPTE). Value 0 means absent, as in btree.ts. A map is
 * named by the address of its u32 root field (pagesRef(), s2Ref()); a root of
 * 0 is the empty map and costs nothing.
 *
 * Keys go in BLOCKS of 64 aligned keys (key >> 6 names the block): a u64
 * presence mask and the values. A DIRECTORY maps each populated block number
 * to the block's (tagged) address, in one of two forms named by the root's
 * low bit:
 *  - FLAT while the map's blocks lie within 30 consecutive block numbers (a
 *    page cache or stage-2 table of up to ~1,900 pages, or any denser
 *    window): 30 entries indexed by block number minus a base, in two cache
 *    lines the map keeps hot. A point lookup is a subtraction, a compare and
 *    a load: no hash, no search, no check of the block's header. The root
 *    word is the low half of an 8-byte pair whose high half copies the flat
 *    directory's base, so one load gives both (ROOT_BASE below).
 *  - a B+TREE (btree.ts) keyed by block number once a block falls outside any
 *    30-wide window. It turns flat again when removals leave it one leaf
 *    whose blocks lie within 16 block numbers (half the window: a map at the
 *    window's edge does not switch with every block), and an empty map is
 *    root 0, whose next block starts a flat directory.
 * This is the shape of the kernel's own structures: the xarray behind i_pages
 * and the EPT/NPT page tables are radix trees whose last level is a
 * fixed-size node indexed by the low bits of the key. A full block is indexed
 * directly: no search, and no shifting on insert or remove.
 *
 * Point lookups in a B+tree directory first try a small cache of recently
 * used blocks, shared by every such map (a software TLB: 4,096 sets of two
 * ways, 32 KiB): a hit is a hash, one load, and a check against the block's
 * own header, which names its map and block number; only a miss searches the
 * directory (which has 64x fewer keys than pages, so its nodes stay in
 * cache), and a block it finds absent is later entered where that search
 * ended. The cache is never invalidated: a freed block's header names no map,
 * so a stale entry simply misses. Maps with a flat directory stay out of it:
 * before the flat form, the tiers benchmark's 32 small maps (512 blocks)
 * filled all of L1d through this 32 KiB array; with it, bench --tiers' core
 * alone runs 3-5 ns/op faster (35.8-38.5 against 38.8-41.6, six runs of each).
 *
 * Cost, and its bound. A direct-indexed block costs 280 bytes whether it holds
 * 1 key or 64, so a lone page in a sparse file would cost ~290 B where the
 * plain B+tree paid ~11 B. Blocks therefore come in six size classes of 2, 4,
 * 8, 16, 32 and 64 values (32 to 280 bytes). Below 64 the values are packed
 * in key order and a key's index is the popcount of the mask below its bit
 * (one instruction; inserts and removes shift at most 31 values within the
 * block). A new block has room for 4; one that fills grows two classes at
 * once (4x its room, capped at 64), so a block filling from empty is copied
 * twice (4, 16, 64) rather than five times (2, 4, 8, 16, 32, 64: about 2 ns
 * per op more in bench --tiers' core alone and 13 ns more per first-touch
 * fault, measured side by side). It shrinks when a removal leaves it at a
 * quarter of its capacity, to the class of twice its keys (the gap between
 * the thresholds keeps a page that comes and goes from copying the block
 * each time; the 2-value class is reached this way), and is freed the
 * moment its mask is 0. So a lone key costs a 40-byte block plus its
 * directory entry (~51 B in all), a populated block 4.4 B per key plus
 * 1/64 of an entry, and any block at most 4x its keys' 4 bytes plus its
 * 24-byte header and entry. A flat directory is 128 bytes, less than the one
 * 512-byte B+tree leaf a small map took before it. The price of a sparse map is in range removal:
 * each block freed is touched once (~10 ns), where the B+tree freed ~60 keys
 * per node.
 *
 * A direct-indexed block holds 0 for each absent key (zeroed when made, and
 * wherever a key leaves it), so a point lookup there reads the value alone:
 * a hit touches one line of the block, not the header's as well.
 *
 * Block layout (8-byte aligned, from one pool per class with a free list):
 *   +0 presence mask u64 (the free-list link while free),
 *   +8 block number u64, +16 its map's root address u32 (0 while free),
 *   +24 values u32[cap].
 * The directory value of a block is its address with its class in the low 3
 * bits. Range operations (remove range, forEach, count, clear) walk the
 * directory's blocks in the range in order, so they cost what is populated
 * there, never the range's size; fill costs the blocks it fills.
 */

import { alloc } from "./alloc";
import {
  btGet, btLookup, lookupLeaf, lookupIdx, btInsertAt, btSet, btDelete, btForEach, btClear, btRemoveRange,
  btLeafCount, btLeafKey, btLeafValue, btClearCount, Visitor, Producer, EntryVisitor,
} from "./btree";

/** The direct-indexed class: 64 values, value i for key bit i. */
const DENSE: u32 = 5;
const CLASSES: i32 = 6;
const TAG: u32 = 7;
const HEADER: usize = 24;
/** Carve blocks from chunks of about this size (alloc.ts rounds to a power of two). */
const CHUNK_BYTES: usize = 16384;

// ---- block pool: one free list per class ----

const freeHeads = memory.data(CLASSES << 2, 4);
/** Blocks handed out and not freed, and their bytes: lets tests check that nothing leaks. */
export let liveBlocks: i32 = 0;
export let liveBlockBytes: i64 = 0;

@inline function capOf(cls: u32): i32 { return 2 << cls; }
@inline function bytesOf(cls: u32): usize { return HEADER + (<usize>(2 << cls) << 2); }

/** The smallest class that holds n values. */
@inline function classFor(n: i32): u32 {
  return n <= 2 ? 0 : <u32>(31 - clz(n - 1)); // 2 << c >= n
}

/** The class of a new block: room for 4 keys. */
const FIRST: u32 = 1;

/** The class a full block of class cls grows to: 4x its room, at most 64 values (the block map's docblock says why). */
@inline function grownClass(cls: u32): u32 {
  return min(cls + 2, DENSE);
}

/** A block of class cls for block b of the map at rootRef, empty; returns its directory value. */
function allocBlock(cls: u32, rootRef: usize, b: u64): u32 {
  let h = freeHeads + (<usize>cls << 2);
  let p = <usize>load<u32>(h);
  if (p == 0) {
    let size = bytesOf(cls);
    let n = CHUNK_BYTES / size;
    let chunk = alloc(n * size);
    // Link the chunk's blocks, the first on top; none names a map.
    for (let i = n; i > 0; i--) {
      let q = chunk + (i - 1) * size;
      store<u32>(q, <u32>p);
      store<u32>(q, 0, 16);
      p = q;
    }
  }
  store<u32>(h, load<u32>(p));
  store<u64>(p, 0);
  store<u64>(p, b, 8);
  store<u32>(p, <u32>rootRef, 16);
  // A direct-indexed block's absent keys read 0 (valueIn() reads one without its mask).
  if (cls == DENSE) memory.fill(vals(p), 0, <usize>64 << 2);
  liveBlocks++;
  liveBlockBytes += <i64>bytesOf(cls);
  return <u32>p | cls;
}

function freeBlock(p: usize, cls: u32): void {
  let h = freeHeads + (<usize>cls << 2);
  store<u32>(p, load<u32>(h));
  store<u32>(p, 0, 16);
  store<u32>(h, <u32>p);
  liveBlocks--;
  liveBlockBytes -= <i64>bytesOf(cls);
}

// ---- block accessors (d: a directory value, address | class) ----

@inline function addrOf(d: u32): usize { return <usize>(d & ~TAG); }
@inline function clsOf(d: u32): u32 { return d & TAG; }
@inline function maskOf(d: u32): u64 { return load<u64>(addrOf(d)); }
@inline function vals(p: usize): usize { return p + HEADER; }
@inline function bit(k: u64): u64 { return <u64>1 << (k & 63); }
/** Bits below bit b (b in 0..63). */
@inline function below(b: u64): u64 { return (<u64>1 << b) - 1; }
/** Bits s .. e - 1 of a block (0 <= s < e <= 64). */
@inline function bitsIn(s: u64, e: u64): u64 {
  let upto = e >= 64 ? u64.MAX_VALUE : below(e);
  return upto & ~below(s);
}

/**
 * Move n u32 words from src to dst (the ranges may overlap). A word loop, not
 * memory.copy: the runs here are short (at most 64 words, often 1). Measured
 * alternately: the same on packed blocks (random one-page allocations and
 * punches), and a punch freeing 1,000 one-page blocks took 15.6-19.9 us with
 * the loop against 24.0-26.7 us with memory.copy (medians).
 */
@inline function moveWords(dst: usize, src: usize, n: usize): void {
  if (dst < src) {
    for (let j: usize = 0; j < n; j++) store<u32>(dst + (j << 2), load<u32>(src + (j << 2)));
  } else {
    for (let j = n; j > 0; j--) store<u32>(dst + ((j - 1) << 2), load<u32>(src + ((j - 1) << 2)));
  }
}

/** Index of the value of key bit b in a block of class cls whose mask is m. */
@inline function indexOf(cls: u32, m: u64, b: u64): i32 {
  return cls == DENSE ? <i32>b : <i32>popcnt(m & below(b));
}

// ---- the flat directory ----

// A map whose blocks lie within FLAT consecutive block numbers keeps its
// directory as a flat array indexed by block number (the last level of the
// kernel's EPT and xarray: a node indexed by bits of the key), not a B+tree.
// Two cache lines: u32 entries (0: no block) at +0, the block number of entry
// 0 at FLAT_BASE and the count of non-zero entries at FLAT_COUNT. A root
// with FLAT_TAG set names one (B+tree nodes are 64-byte aligned, so the bit is
// free). A point lookup is then a subtraction, a compare and one load from a
// line its map keeps hot: no hash, no shared cache, no header to check. A
// block that falls outside the window moves the entries when they and it
// still fit in FLAT (a map that grows downwards), else the directory becomes a
// B+tree (flattenSmall() turns a small one back).
const FLAT: u64 = 30;
const FLAT_BYTES: usize = 128;
const FLAT_BASE: usize = 120;
const FLAT_COUNT: usize = 124;
const FLAT_TAG: u32 = 1;
/** Block numbers at or past this never get a flat directory (its base is a u32). */
const FLAT_LIMIT: u64 = <u64>u32.MAX_VALUE - FLAT;
/** Where a new flat directory starts its window: the new block's number rounded down to this. */
const FLAT_ALIGN: u64 = 16;
let freeFlats: usize = 0;
/** Flat directories in use: lets tests check that nothing leaks. */
export let liveFlats: i32 = 0;

@inline function isFlat(root: u32): bool { return (root & FLAT_TAG) != 0; }
@inline function flatAddr(root: u32): usize { return <usize>(root & ~FLAT_TAG); }
@inline function flatBase(f: usize): u64 { return <u64>load<u32>(f, FLAT_BASE); }
@inline function flatCount(f: usize): u32 { return load<u32>(f, FLAT_COUNT); }
@inline function setFlatCount(f: usize, n: u32): void { store<u32>(f, n, FLAT_COUNT); }
@inline function flatEntry(f: usize, i: u64): usize { return f + (<usize>i << 2); }

/** The entry of block b in flat directory f, 0 when none. */
@inline function flatGet(f: usize, b: u64): u32 {
  let i = b - flatBase(f);
  return i < FLAT ? load<u32>(flatEntry(f, i)) : 0;
}

/**
 * A map's root word is the low half of an 8-byte pair whose high half copies
 * its flat directory's base (ROOT_BASE): a point lookup reads both in one load,
 * so the entry's address does not wait for a load from the directory itself
 * (one dependent cache miss fewer on the tiers workload's cold page caches:
 * bench --tiers' core alone 1-2 ns/op faster, min of 40 alternating rounds
 * of the recorded stream, 37.7 and 37.1 against 35.7 and 36.4).
 * Written wherever a flat directory's base is set; read only while the root
 * is flat.
 */
const ROOT_BASE: usize = 4;
@inline function setRootBase(rootRef: usize, base: u64): void { store<u32>(rootRef, <u32>base, ROOT_BASE); }

function allocFlat(base: u64): usize {
  if (freeFlats == 0) {
    // 64-byte aligned, as the B+tree's nodes are: a chunk that does not start on a line gives up its last one.
    let chunk = alloc(FLAT_BYTES * 32);
    let first = (chunk + 63) & ~(<usize>63);
    let n: usize = first == chunk ? 32 : 31;
    for (let i: usize = 0; i < n; i++) {
      let f = first + i * FLAT_BYTES;
      store<usize>(f, freeFlats);
      freeFlats = f;
    }
  }
  let f = freeFlats;
  freeFlats = load<usize>(f);
  memory.fill(f, 0, FLAT_BYTES);
  store<u32>(f, <u32>base, FLAT_BASE);
  liveFlats++;
  return f;
}

function freeFlat(f: usize): void {
  store<usize>(f, freeFlats);
  freeFlats = f;
  liveFlats--;
}

/** The directory value of block b in the map whose root is `root` (either form), 0 when none. */
function dirGet(root: u32, b: u64): u32 {
  return isFlat(root) ? flatGet(flatAddr(root), b) : btGet(root, b);
}

/** Enter block b -> d in the flat directory f of the map at rootRef, moving its window or leaving the flat form when b is outside it. */
function flatInsert(rootRef: usize, f: usize, b: u64, d: u32): void {
  let base = flatBase(f);
  let i = b - base;
  if (i >= FLAT) {
    // The lowest and highest populated entries, with b: do they fit a window?
    let lo: u64 = b, hi: u64 = b;
    for (let j: u64 = 0; j < FLAT; j++) {
      if (load<u32>(flatEntry(f, j)) != 0) {
        lo = min(lo, base + j);
        hi = max(hi, base + j);
      }
    }
    if (hi - lo < FLAT && b < FLAT_LIMIT) {
      // Move the window to start at lo: entries go down when lo is past the base, up when below it.
      if (lo > base) {
        let down = lo - base;
        for (let j: u64 = 0; j < FLAT; j++) {
          let from = j + down;
          store<u32>(flatEntry(f, j), from < FLAT ? load<u32>(flatEntry(f, from)) : 0);
        }
      } else {
        let up = base - lo;
        for (let j = FLAT; j > 0; j--) {
          let to = j - 1;
          store<u32>(flatEntry(f, to), to >= up ? load<u32>(flatEntry(f, to - up)) : 0);
        }
      }
      store<u32>(f, <u32>lo, FLAT_BASE);
      setRootBase(rootRef, lo);
      i = b - lo;
    } else {
      // To the B+tree: every entry, then b.
      store<u32>(rootRef, 0);
      for (let j: u64 = 0; j < FLAT; j++) {
        let e = load<u32>(flatEntry(f, j));
        if (e != 0) btSet(rootRef, base + j, e);
      }
      freeFlat(f);
      btSet(rootRef, b, d);
      return;
    }
  }
  store<u32>(flatEntry(f, i), d);
  setFlatCount(f, flatCount(f) + 1);
}

/**
 * After a B+tree directory lost entries: flat again once it is one leaf whose
 * blocks lie within FLAT_ALIGN block numbers (half the window, so that a map
 * at the edge of the window does not switch back and forth with each block).
 */
function flattenSmall(rootRef: usize): void {
  let root = load<u32>(rootRef);
  if (root == 0 || isFlat(root)) return;
  let n = btLeafCount(root);
  if (n <= 0 || <u64>n > FLAT_ALIGN) return;
  let lo = btLeafKey(root, 0);
  if (btLeafKey(root, n - 1) - lo >= FLAT_ALIGN || lo >= FLAT_LIMIT) return;
  let f = allocFlat(lo);
  for (let i = 0; i < n; i++) store<u32>(flatEntry(f, btLeafKey(root, i) - lo), btLeafValue(root, i));
  setFlatCount(f, <u32>n);
  btClearCount(rootRef);
  store<u32>(rootRef, <u32>f | FLAT_TAG);
  setRootBase(rootRef, lo);
}

/** Drop block b's entry from flat directory f of the map at rootRef; the directory goes when it empties. */
function flatDelete(rootRef: usize, f: usize, b: u64): void {
  let i = b - flatBase(f);
  if (i >= FLAT || load<u32>(flatEntry(f, i)) == 0) return;
  store<u32>(flatEntry(f, i), 0);
  let n = flatCount(f) - 1;
  setFlatCount(f, n);
  if (n == 0) {
    freeFlat(f);
    store<u32>(rootRef, 0);
  }
}

// The entries a range removal or clear of a flat directory takes, in block order, for freeBlocks().
const flatTaken = memory.data(<i32>FLAT << 2, 8);

/** Take the entries of blocks b0 .. b1 - 1 out of flat directory f of the map at rootRef into flatTaken; returns how many. */
function flatTake(rootRef: usize, f: usize, b0: u64, b1: u64): i32 {
  let base = flatBase(f);
  let s = b0 > base ? b0 - base : 0;
  let e = b1 > base ? min(b1 - base, FLAT) : 0;
  let n = 0;
  for (let j = s; j < e; j++) {
    let d = load<u32>(flatEntry(f, j));
    if (d != 0) {
      store<u32>(flatTaken + (<usize>n << 2), d);
      store<u32>(flatEntry(f, j), 0);
      n++;
    }
  }
  let left = flatCount(f) - <u32>n;
  setFlatCount(f, left);
  if (left == 0) {
    freeFlat(f);
    store<u32>(rootRef, 0);
  }
  return n;
}

/** Visit the blocks b0 .. b1 - 1 of flat directory f in order. */
function flatForEach(f: usize, b0: u64, b1: u64, visit: EntryVisitor): void {
  let base = flatBase(f);
  let s = b0 > base ? b0 - base : 0;
  let e = b1 > base ? min(b1 - base, FLAT) : 0;
  for (let j = s; j < e; j++) {
    let d = load<u32>(flatEntry(f, j));
    if (d != 0) visit(base + j, d);
  }
}

// ---- the block cache ----

// 4,096 sets: with 2,048, the tiers benchmark's 512 blocks (32 maps of 16) met
// often enough in a set to cost 1.5-2 ns per op in directory searches
// (bench --tiers' core alone, side by side); four ways in 16 KiB did worse.
const CACHE_BITS: u32 = 13;
const cache = memory.data(4 << CACHE_BITS, 8);

/** The pair of entries (two ways, one 8-byte word) where block b of the map at rootRef may be. */
@inline function cacheSet(rootRef: usize, b: u64): usize {
  let h = (<u32>b * 0x9E3779B1) ^ (<u32>(b >>> 32) * 0x85EBCA77) ^ (<u32>rootRef * 0xC2B2AE3D);
  return cache + (<usize>(h >>> (33 - CACHE_BITS)) << 3);
}

/** Whether d (a cache entry) is block b of the map at rootRef: its header says so, and a free block names no map. */
@inline function isBlock(d: u32, rootRef: usize, b: u64): bool {
  if (d == 0) return false;
  let p = addrOf(d);
  return load<u64>(p, 8) == b && load<u32>(p, 16) == <u32>rootRef;
}

// Where the directory would take the last two blocks found absent, one per
// map (a fault looks up its stage-2 table, then creates the page, then the
// SPTE): a new block then goes in without a second descent. Any change to a
// map's directory forgets its entry.
let missRef0: usize = 0, missB0: u64 = 0, missLeaf0: usize = 0, missIdx0: i32 = 0;
let missRef1: usize = 0, missB1: u64 = 0, missLeaf1: usize = 0, missIdx1: i32 = 0;

/** Keep where btLookup() of absent block b of the map at rootRef ended. */
@inline function noteMiss(rootRef: usize, b: u64): void {
  if (missRef0 != rootRef) {
    missRef1 = missRef0; missB1 = missB0; missLeaf1 = missLeaf0; missIdx1 = missIdx0;
    missRef0 = rootRef;
  }
  missB0 = b; missLeaf0 = lookupLeaf; missIdx0 = lookupIdx;
}

/** The directory of the map at rootRef changed: where its search ended no longer holds. */
@inline function dirChanged(rootRef: usize): void {
  if (missRef0 == rootRef) missRef0 = 0;
  if (missRef1 == rootRef) missRef1 = 0;
}

/** Enter new block d as block b of the map at rootRef (absent until now) in its directory. */
function dirInsert(rootRef: usize, b: u64, d: u32): void {
  let root = load<u32>(rootRef);
  if (isFlat(root)) flatInsert(rootRef, flatAddr(root), b, d);
  else if (root == 0 && b < FLAT_LIMIT) {
    let f = allocFlat(b & ~(FLAT_ALIGN - 1));
    store<u32>(rootRef, <u32>f | FLAT_TAG);
    setRootBase(rootRef, b & ~(FLAT_ALIGN - 1));
    flatInsert(rootRef, f, b, d);
  } else if (missRef0 == rootRef && missB0 == b) btInsertAt(rootRef, b, d, missLeaf0, missIdx0);
  else if (missRef1 == rootRef && missB1 == b) btInsertAt(rootRef, b, d, missLeaf1, missIdx1);
  else btSet(rootRef, b, d);
  dirChanged(rootRef);
}

/** Point the directory entry of block b of the map at rootRef at d (a block moved). */
@inline function dirSet(rootRef: usize, b: u64, d: u32): void {
  let root = load<u32>(rootRef);
  if (isFlat(root)) {
    store<u32>(flatEntry(flatAddr(root), b - flatBase(flatAddr(root))), d);
    return;
  }
  btSet(rootRef, b, d);
  dirChanged(rootRef);
}

/** Drop the directory entry of block b of the map at rootRef. */
@inline function dirDelete(rootRef: usize, b: u64): void {
  let root = load<u32>(rootRef);
  if (isFlat(root)) flatDelete(rootRef, flatAddr(root), b);
  else {
    btDelete(rootRef, b);
    flattenSmall(rootRef);
  }
  dirChanged(rootRef);
}

/** The directory value of block b of the map at rootRef (0: none): the cache, else the directory. */
@inline function findBlock(rootRef: usize, b: u64): u32 {
  let pair = load<u64>(rootRef);
  let root = <u32>pair;
  if (isFlat(root)) {
    if (!ASC_NO_ASSERT) assert((pair >>> 32) == flatBase(flatAddr(root)), "root's base copy disagrees with its flat directory");
    let i = b - (pair >>> 32);
    return i < FLAT ? load<u32>(flatEntry(flatAddr(root), i)) : 0;
  }
  let c = cacheSet(rootRef, b);
  let d = load<u32>(c);
  if (isBlock(d, rootRef, b)) {
    if (!ASC_NO_ASSERT) assert(d == dirGet(load<u32>(rootRef), b), "block cache disagrees with the directory");
    return d;
  }
  let e = load<u32>(c, 4);
  if (isBlock(e, rootRef, b)) {
    if (!ASC_NO_ASSERT) assert(e == dirGet(load<u32>(rootRef), b), "block cache disagrees with the directory");
    // The most recently used way first.
    store<u64>(c, <u64>e | (<u64>d << 32));
    return e;
  }
  let f = btLookup(root, b);
  if (f != 0) store<u64>(c, <u64>f | (<u64>d << 32));
  else noteMiss(rootRef, b);
  return f;
}

/** Block b of the map at rootRef is now d (its directory entry is the caller's). */
@inline function cacheBlock(rootRef: usize, b: u64, d: u32): void {
  // A flat directory is its own cache.
  if (isFlat(load<u32>(rootRef))) return;
  let c = cacheSet(rootRef, b);
  let was = load<u32>(c);
  // A moved block's old entry names a freed block (no map): it goes, rather than push the other way out.
  if (was == 0 || was == d || load<u32>(addrOf(was), 16) == 0) store<u32>(c, d);
  else store<u64>(c, <u64>d | (<u64>was << 32));
}

/** Forget the pool (its chunks go with the heap, alloc.ts resetAlloc()) and the cache. */
export function resetBlockmap(): void {
  memory.fill(freeHeads, 0, CLASSES << 2);
  memory.fill(cache, 0, 4 << CACHE_BITS);
  liveBlocks = 0;
  liveBlockBytes = 0;
  freeFlats = 0;
  liveFlats = 0;
  memory.fill(flatTaken, 0, <usize>FLAT << 2);
  curEntry = noEntry;
  curVisit = noVisit;
  curLo = 0;
  curHi = 0;
  curCount = 0;
  lookupBlock = 0;
  missRef0 = 0; missB0 = 0; missLeaf0 = 0; missIdx0 = 0;
  missRef1 = 0; missB1 = 0; missLeaf1 = 0; missIdx1 = 0;
  staged = 0;
  countOnly = false;
  memory.fill(stage, 0, STAGE_CAP << 2);
}

/** A copy of block d (mask m) in class `to`, the old block freed; returns its directory value. */
function moveBlock(d: u32, m: u64, to: u32): u32 {
  let from = clsOf(d);
  let p = addrOf(d);
  let b = load<u64>(p, 8);
  let rootRef = <usize>load<u32>(p, 16);
  let nd = allocBlock(to, rootRef, b);
  let q = addrOf(nd);
  store<u64>(q, m);
  if (from != DENSE && to != DENSE) {
    moveWords(vals(q), vals(p), <usize>popcnt(m));
  } else if (from != DENSE) {
    // Packed -> direct: value j goes to its key's bit.
    let j: usize = 0;
    for (let r = m; r != 0; r &= r - 1) {
      store<u32>(vals(q) + (<usize>ctz(r) << 2), load<u32>(vals(p) + (j << 2)));
      j++;
    }
  } else {
    let j: usize = 0;
    for (let r = m; r != 0; r &= r - 1) {
      store<u32>(vals(q) + (j << 2), load<u32>(vals(p) + (<usize>ctz(r) << 2)));
      j++;
    }
  }
  freeBlock(p, from);
  cacheBlock(rootRef, b, nd);
  return nd;
}

/** After a removal left block d of the map at rootRef with mask m (non-zero): a smaller class at a quarter full. */
@inline function settle(rootRef: usize, b: u64, d: u32, m: u64): void {
  let cls = clsOf(d);
  let n = <i32>popcnt(m);
  if (cls == 0 || n > capOf(cls) >> 2) return;
  dirSet(rootRef, b, moveBlock(d, m, classFor(n << 1)));
}

// ---- lookup ----

/** The value at k in block d (0: no block), or 0 when absent. */
@inline function valueIn(d: u32, k: u64): u32 {
  if (d == 0) return 0;
  let p = addrOf(d);
  let b = k & 63;
  // A direct-indexed block holds 0 for an absent key: its value alone answers, and the header's line is not read.
  if (clsOf(d) == DENSE) {
    let v = load<u32>(vals(p) + (<usize>b << 2));
    if (!ASC_NO_ASSERT) assert((v != 0) == (((load<u64>(p) >>> b) & 1) != 0), "a dense block's value disagrees with its mask");
    return v;
  }
  let m = load<u64>(p);
  if (!((m >>> b) & 1)) return 0;
  return load<u32>(vals(p) + (<usize>indexOf(clsOf(d), m, b) << 2));
}

/** The value at k in the map at rootRef, or 0 when absent. */
export function bmGet(rootRef: usize, k: u64): u32 {
  return valueIn(findBlock(rootRef, k >> 6), k);
}

/**
 * The directory value of k's block as the last bmLookup() found it (0: no
 * block). With bmInsertAt() and bmValueAddr(), a lookup that misses becomes an
 * insertion, and one that hits a rewrite, without a second search.
 */
export let lookupBlock: u32 = 0;

/** bmGet(), leaving k's block in `lookupBlock`. */
export function bmLookup(rootRef: usize, k: u64): u32 {
  return bmLookupInline(rootRef, k);
}

/** bmLookup() inlined into its caller, for the guest access's SPTE hit: no call, so nothing the caller holds is spilled around one. */
@inline export function bmLookupInline(rootRef: usize, k: u64): u32 {
  let d = findBlock(rootRef, k >> 6);
  lookupBlock = d;
  return valueIn(d, k);
}

/** The address of present key k's value in block d (what bmLookup(k) left in `lookupBlock`). */
@inline export function bmValueAddr(d: u32, k: u64): usize {
  let p = addrOf(d);
  return vals(p) + (<usize>indexOf(clsOf(d), load<u64>(p), k & 63) << 2);
}

/** Put absent key k with value v into block d (which has room). */
@inline function putIn(d: u32, k: u64, v: u32): void {
  let p = addrOf(d);
  let m = load<u64>(p);
  let b = k & 63;
  if (clsOf(d) == DENSE) {
    store<u32>(vals(p) + (<usize>b << 2), v);
  } else {
    let i = <usize>popcnt(m & below(b));
    let n = <usize>popcnt(m);
    let at = vals(p) + (i << 2);
    if (i < n) moveWords(at + 4, at, n - i);
    store<u32>(at, v);
  }
  store<u64>(p, m | bit(k));
}

@inline function hasRoom(d: u32): bool {
  return clsOf(d) == DENSE || <i32>popcnt(maskOf(d)) < capOf(clsOf(d));
}

/**
 * Insert absent key k with value v, given the block `d` bmLookup(k) left in
 * lookupBlock (the caller keeps it) when the map has not changed since:
 * straight into that block when it has room, else through the directory.
 */
export function bmInsertAt(rootRef: usize, k: u64, v: u32, d: u32): void {
  if (!ASC_NO_ASSERT) assert(d == dirGet(load<u32>(rootRef), k >> 6), "stale block for an insertion");
  if (d != 0 && hasRoom(d)) return putIn(d, k, v);
  let b = k >> 6;
  if (d == 0) {
    // A new block, entered where the lookup's directory search ended.
    d = allocBlock(FIRST, rootRef, b);
    dirInsert(rootRef, b, d);
    cacheBlock(rootRef, b, d);
  } else {
    // Full: the next class but one.
    let m = maskOf(d);
    d = moveBlock(d, m, grownClass(clsOf(d)));
    dirSet(rootRef, b, d);
  }
  putIn(d, k, v);
}

// ---- counting and iteration ----

function noEntry(_k: u64, _v: u32): void {}
function noVisit(_vals: usize, _n: i32): void {}

// The walks below run inside btForEach()/btClear()/btRemoveRange() callbacks,
// which take no context: the caller's visitor and range wait here. A forEach
// saves and restores them, so its visitor may itself read a map; no visitor
// may change one.
let curEntry: EntryVisitor = noEntry;
let curVisit: Visitor = noVisit;
let curLo: u64 = 0;
let curHi: u64 = 0;
let curCount: i64 = 0;

function countBlock(_b: u64, d: u32): void {
  curCount += <i64>popcnt(maskOf(d));
}

/** Number of entries: a walk over the directory (one popcount a block). */
export function bmCount(root: u32): i64 {
  let saved = curCount;
  curCount = 0;
  if (isFlat(root)) flatForEach(flatAddr(root), 0, u64.MAX_VALUE, countBlock);
  else btForEach(root, 0, u64.MAX_VALUE, countBlock);
  let n = curCount;
  curCount = saved;
  return n;
}

function eachInBlock(b: u64, d: u32): void {
  let p = addrOf(d);
  let cls = clsOf(d);
  let m = load<u64>(p);
  let base = b << 6;
  let sel = m;
  if (curLo > base) sel &= ~below(curLo - base);
  if (curHi - base < 64) sel &= below(curHi - base);
  let visit = curEntry;
  for (let r = sel; r != 0; r &= r - 1) {
    let i = <u64>ctz(r);
    visit(base + i, load<u32>(vals(p) + (<usize>indexOf(cls, m, i) << 2)));
  }
}

/** Visit every entry with lo <= key < hi in ascending order; the map must not change meanwhile. */
export function bmForEach(root: u32, lo: u64, hi: u64, visit: EntryVisitor): void {
  if (root == 0 || lo >= hi) return;
  let sv = curEntry, sl = curLo, sh = curHi;
  curEntry = visit;
  curLo = lo;
  curHi = hi;
  let b0 = lo >> 6, b1 = (hi - 1) >> 6;
  if (b0 == b1) {
    // One block (a change log's page or SPTE): one search, no walk.
    let d = dirGet(root, b0);
    if (d != 0) eachInBlock(b0, d);
  } else if (isFlat(root)) {
    flatForEach(flatAddr(root), b0, b1 + 1, eachInBlock);
  } else {
    btForEach(root, b0, b1 + 1, eachInBlock);
  }
  curEntry = sv;
  curLo = sl;
  curHi = sh;
}

// ---- removal ----

/** Visit the values of block p (class cls, mask m) whose bits are in sel, in key order, one call per contiguous run. */
function visitBits(p: usize, cls: u32, m: u64, sel: u64, visit: Visitor): void {
  if (cls != DENSE) {
    // Packed values of a bit range are contiguous.
    visit(vals(p) + (<usize>popcnt(m & below(<u64>ctz(sel))) << 2), <i32>popcnt(sel));
    return;
  }
  for (let r = sel; r != 0;) {
    let s = <u64>ctz(r);
    let len = <u64>ctz(~(r >>> s)); // 64 when every bit from s up is set
    visit(vals(p) + (<usize>s << 2), <i32>len);
    r &= ~bitsIn(s, s + len);
  }
}

/** Remove the keys of block b with bits s .. e - 1; returns how many. */
function removeInBlock(rootRef: usize, b: u64, s: u64, e: u64, visit: Visitor): i64 {
  let d = findBlock(rootRef, b);
  if (d == 0) return 0;
  let p = addrOf(d);
  let cls = clsOf(d);
  let m = load<u64>(p);
  let rm = m & bitsIn(s, e);
  if (rm == 0) return 0;
  let n = <i32>popcnt(rm);
  visitBits(p, cls, m, rm, visit);
  let left = m & ~rm;
  if (left == 0) {
    freeBlock(p, cls);
    dirDelete(rootRef, b);
    return n;
  }
  if (cls != DENSE) {
    // The removed values are one run: close it.
    let i = <usize>popcnt(m & below(<u64>ctz(rm)));
    let tail = <usize>popcnt(m) - i - <usize>n;
    moveWords(vals(p) + (i << 2), vals(p) + ((i + <usize>n) << 2), tail);
  } else {
    for (let r = rm; r != 0; r &= r - 1) store<u32>(vals(p) + (<usize>ctz(r) << 2), 0);
  }
  store<u64>(p, left);
  settle(rootRef, b, d, left);
  return n;
}

// Whole blocks freed in a row hand their values to the visitor through this
// buffer, a few hundred at a time, rather than one call per block: a sparse
// map has a block per key.
const STAGE_CAP: usize = 512;
const stage = memory.data(<i32>STAGE_CAP << 2, 8);
let staged: usize = 0;
/** Whether the visitor of the walk in progress is noVisit (then values are only counted). */
let countOnly = false;

function flushStage(): void {
  if (staged != 0) curVisit(stage, <i32>staged);
  staged = 0;
}

/** Directory values ds[0 .. n): free each block, its values staged for curVisit in key order. */
function freeBlocks(ds: usize, n: i32): void {
  for (let j = 0; j < n; j++) {
    let d = load<u32>(ds + (<usize>j << 2));
    let p = addrOf(d);
    let m = load<u64>(p);
    let c = <usize>popcnt(m);
    curCount += <i64>c;
    if (!countOnly) {
      if (staged + c > STAGE_CAP) flushStage();
      let to = stage + (staged << 2);
      if (clsOf(d) != DENSE) moveWords(to, vals(p), c);
      else {
        for (let r = m; r != 0; r &= r - 1) {
          store<u32>(to, load<u32>(vals(p) + (<usize>ctz(r) << 2)));
          to += 4;
        }
      }
      staged += c;
    }
    freeBlock(p, clsOf(d));
  }
}

/** Set up curVisit for freeBlocks() (removals and clears do not nest: no visitor changes a map). */
@inline function beginFree(visit: Visitor): void {
  curVisit = visit;
  curCount = 0;
  countOnly = visit == noVisit;
}

/** Flush what freeBlocks() staged; returns the entries freed. */
@inline function endFree(): i64 {
  flushStage();
  return curCount;
}

/**
 * Remove every key in [lo, hi), calling visit on the removed values in
 * ascending key order, before their block changes. Returns how many were removed.
 */
export function bmRemoveRange(rootRef: usize, lo: u64, hi: u64, visit: Visitor): i64 {
  if (load<u32>(rootRef) == 0 || lo >= hi) return 0;
  let b0 = lo >> 6, b1 = (hi - 1) >> 6;
  if (b0 == b1) return removeInBlock(rootRef, b0, lo & 63, ((hi - 1) & 63) + 1, visit);
  let n = removeInBlock(rootRef, b0, lo & 63, 64, visit);
  if (b1 > b0 + 1) {
    // Blocks strictly inside the range go whole, with their directory
    // entries, in one range removal of the directory (which hands over its
    // values leaf by leaf before it changes).
    beginFree(visit);
    let root = load<u32>(rootRef);
    if (isFlat(root)) freeBlocks(flatTaken, flatTake(rootRef, flatAddr(root), b0 + 1, b1));
    else if (root != 0) {
      btRemoveRange(rootRef, b0 + 1, b1, freeBlocks);
      flattenSmall(rootRef);
    }
    dirChanged(rootRef);
    n += endFree();
  }
  return n + removeInBlock(rootRef, b1, 0, ((hi - 1) & 63) + 1, visit);
}

export function bmRemoveRangeCount(rootRef: usize, lo: u64, hi: u64): i64 {
  return bmRemoveRange(rootRef, lo, hi, noVisit);
}

/** Remove one key; returns its value, or 0 if it was absent (the single-page punch and zap). */
export function bmDelete(rootRef: usize, k: u64): u32 {
  let b = k >> 6;
  let d = findBlock(rootRef, b);
  if (d == 0) return 0;
  let p = addrOf(d);
  let m = load<u64>(p);
  let kb = k & 63;
  if (!((m >>> kb) & 1)) return 0;
  let cls = clsOf(d);
  let left = m & ~bit(k);
  let v: u32;
  if (cls == DENSE) {
    let at = vals(p) + (<usize>kb << 2);
    v = load<u32>(at);
    store<u32>(at, 0);
  } else {
    let i = <usize>popcnt(m & below(kb));
    let at = vals(p) + (i << 2);
    v = load<u32>(at);
    let tail = <usize>popcnt(left) - i;
    if (tail != 0) moveWords(at, at + 4, tail);
  }
  if (left == 0) {
    freeBlock(p, cls);
    dirDelete(rootRef, b);
    return v;
  }
  store<u64>(p, left);
  settle(rootRef, b, d, left);
  return v;
}

/** Empty the map block by block, visiting every value in ascending key order; returns the entries it held. */
export function bmClear(rootRef: usize, visit: Visitor): i64 {
  if (load<u32>(rootRef) == 0) return 0;
  beginFree(visit);
  let root = load<u32>(rootRef);
  if (isFlat(root)) freeBlocks(flatTaken, flatTake(rootRef, flatAddr(root), 0, u64.MAX_VALUE));
  else btClear(rootRef, freeBlocks);
  dirChanged(rootRef);
  return endFree();
}

export function bmClearCount(rootRef: usize): i64 {
  return bmClear(rootRef, noVisit);
}

// ---- filling ----

/**
 * Insert every absent key of [lo, hi) in ascending order, their values from
 * produce(); present keys keep theirs. One search per block and one produce()
 * per run of absent keys. Returns how many were inserted.
 */
export function bmFill(rootRef: usize, lo: u64, hi: u64, produce: Producer): i64 {
  if (lo >= hi) return 0;
  let made: i64 = 0;
  let b0 = lo >> 6, b1 = (hi - 1) >> 6;
  for (let b = b0; b <= b1; b++) {
    let s: u64 = b == b0 ? lo & 63 : 0;
    let e: u64 = b == b1 ? ((hi - 1) & 63) + 1 : 64;
    let want = bitsIn(s, e);
    let d = findBlock(rootRef, b);
    let m: u64 = d == 0 ? 0 : maskOf(d);
    let add = want & ~m;
    if (add == 0) continue;
    let total = <i32>popcnt(m | want);
    if (d == 0) {
      d = allocBlock(max(classFor(total), FIRST), rootRef, b);
      dirInsert(rootRef, b, d);
      cacheBlock(rootRef, b, d);
    } else if (clsOf(d) != DENSE && total > capOf(clsOf(d))) {
      // As bmInsertAt() grows a full block: at least two classes up.
      d = moveBlock(d, m, max(classFor(total), grownClass(clsOf(d))));
      dirSet(rootRef, b, d);
    }
    let p = addrOf(d);
    let cls = clsOf(d);
    for (let r = add; r != 0;) {
      let rs = <u64>ctz(r);
      let len = <u64>ctz(~(r >>> rs));
      let run = bitsIn(rs, rs + len);
      let at: usize;
      if (cls == DENSE) {
        at = vals(p) + (<usize>rs << 2);
      } else {
        let i = <usize>popcnt(m & below(rs));
        let n = <usize>popcnt(m);
        at = vals(p) + (i << 2);
        if (i < n) moveWords(at + (<usize>len << 2), at, n - i);
      }
      m |= run;
      store<u64>(p, m);
      produce(at, <i32>len);
      made += <i64>len;
      r &= ~run;
    }
  }
  return made;
}
