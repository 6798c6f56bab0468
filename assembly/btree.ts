/**
 * An ordered map u64 -> u32 in linear memory: the directory of the block
 * maps (blockmap.ts) that hold the page caches and stage-2 tables, keyed by
 * block number. A B+tree rather than a radix tree, because a sparse 1 TiB
 * file must cost kilobytes: a radix path per scattered block would cost a few
 * hundred bytes each.
 *
 * A tree is a u32 root pointer stored somewhere (a record field); 0 is the empty
 * tree, so an empty page cache or stage-2 table costs nothing. Value 0 means
 * "absent" to btGet: every user stores non-zero values (the block maps store
 * block addresses).
 *
 * Node layout (NODE_BYTES each, from one pool with a free list):
 *   internal: +0 count of keys (children = keys + 1), +4 0,
 *             +8 keys u64[ICAP], +IVOFF children u32[ICAP + 1]
 *   leaf:     +0 count of entries, +4 1, +8 hi (the high 32 bits every key
 *             of the leaf shares), +16 low key halves u32[LCAP],
 *             +LVOFF values u32[LCAP]
 * Internal key i separates child i (keys < key i) from child i + 1.
 *
 * Leaves keep 32-bit keys because entries dominate the memory (a populated
 * page has one in the page cache and one per SPTE): 8 bytes an entry instead
 * of 12. A key whose high half differs from a leaf's gets a leaf of its own
 * (a new sibling at the leaf's edge: its keys all sort on one side of it), and
 * leaves of different halves never merge, so the rule costs nothing where the
 * keys of a tree share their high half (any range below 16 TiB of pages).
 *
 * Range removal frees whole subtrees strictly inside the range and only walks
 * the two boundary paths, so it costs O(log n + removed), never the range size.
 */

import { alloc } from "./alloc";

// 512 bytes: 1 KiB nodes (126-entry leaves) saved 2 bytes per populated page
// in bench --scale but doubled the shift of a single-key removal (zap of one
// page 54 -> 81 ns).
const NODE_BYTES: usize = 512;
const ICAP: i32 = <i32>((NODE_BYTES - 12) / 12);
const IMIN: i32 = (ICAP - 1) >> 1;
const IVOFF: usize = 8 + (<usize>ICAP << 3);
const LCAP: i32 = <i32>((NODE_BYTES - 16) >> 3);
/** Below this a non-root leaf is merged with or refilled from a sibling after a removal. */
const LMIN: i32 = LCAP * 2 / 5;
const LKOFF: usize = 16;
const LVOFF: usize = LKOFF + (<usize>LCAP << 2);
const CHUNK_NODES: usize = 64;
/** Levels a tree can have: 2^64 keys at IMIN + 1 children per internal node need fewer. */
const MAX_DEPTH: i32 = 32;

// ---- node pool ----

let freeNodes: usize = 0;
/** Nodes handed out and not freed: lets tests check that nothing leaks. */
export let liveNodes: i32 = 0;

/** Nodes start on a cache line: a node then spans 8 lines, not 9, and a leaf's count, high half and first keys share one. */
const LINE: usize = 64;

function refill(): void {
  // Chunks are never returned to the allocator; their nodes are reused. The
  // allocator aligns blocks to 16 bytes only: a chunk that does not start on a
  // line gives up its last node to let the others.
  let chunk = alloc(NODE_BYTES * CHUNK_NODES);
  let first = (chunk + LINE - 1) & ~(LINE - 1);
  let count = first == chunk ? CHUNK_NODES : CHUNK_NODES - 1;
  for (let i: usize = 0; i < count; i++) {
    let n = first + i * NODE_BYTES;
    store<usize>(n, freeNodes);
    freeNodes = n;
  }
}

@inline function allocNode(leaf: i32): usize {
  if (freeNodes == 0) refill();
  let n = freeNodes;
  freeNodes = load<usize>(n);
  store<i32>(n, 0);
  store<i32>(n, leaf, 4);
  liveNodes++;
  return n;
}

@inline function freeNode(n: usize): void {
  store<usize>(n, freeNodes);
  freeNodes = n;
  liveNodes--;
}

// ---- node accessors ----

@inline function cnt(n: usize): i32 { return load<i32>(n); }
@inline function setCnt(n: usize, c: i32): void { store<i32>(n, c); }
@inline function isLeaf(n: usize): bool { return load<i32>(n, 4) != 0; }
// internal nodes
@inline function kp(n: usize, i: i32): usize { return n + 8 + (<usize>i << 3); }
@inline function cp(n: usize, i: i32): usize { return n + IVOFF + (<usize>i << 2); }
@inline function key(n: usize, i: i32): u64 { return load<u64>(kp(n, i)); }
@inline function child(n: usize, i: i32): usize { return <usize>load<u32>(cp(n, i)); }
// leaves
@inline function hiOf(n: usize): u32 { return load<u32>(n, 8); }
@inline function setHi(n: usize, h: u32): void { store<u32>(n, h, 8); }
@inline function lkp(n: usize, i: i32): usize { return n + LKOFF + (<usize>i << 2); }
@inline function lvp(n: usize, i: i32): usize { return n + LVOFF + (<usize>i << 2); }
@inline function lk(n: usize, i: i32): u32 { return load<u32>(lkp(n, i)); }
@inline function lkey(n: usize, i: i32): u64 { return (<u64>hiOf(n) << 32) | <u64>lk(n, i); }
@inline function hi32(k: u64): u32 { return <u32>(k >>> 32); }

// The searches below are branch-free (a select per step, not a branch): keys
// are looked up in no predictable order, so a branching binary search pays a
// misprediction on about half of its steps, most of btLookup's time.
// Counting a node's keys below k with SIMD compares (all its loads at once)
// measured the same as these searches, on the guest-traffic stream and on
// trees of 2 M entries; so did moving leaf entries with inline loops rather
// than memory.copy (slower in bench --tiers).

/** First index whose key is > k: in an internal node, the child that holds k. */
@inline function upperBound(n: usize, k: u64): i32 {
  let c = cnt(n);
  if (c == 0) return 0;
  let base = 0, len = c;
  while (len > 1) {
    let half = len >>> 1;
    base = select<i32>(base + half, base, key(n, base + half - 1) <= k);
    len -= half;
  }
  return base + <i32>(key(n, base) <= k);
}

/** First index of leaf n whose key is >= k. */
@inline function leafLowerBound(n: usize, k: u64): i32 {
  let c = cnt(n);
  let h = hi32(k), nh = hiOf(n);
  if (h != nh || c == 0) return h < nh ? 0 : c;
  let x = <u32>k;
  let base = 0, len = c;
  while (len > 1) {
    let half = len >>> 1;
    base = select<i32>(base + half, base, lk(n, base + half - 1) < x);
    len -= half;
  }
  return base + <i32>(lk(n, base) < x);
}

/** Whether leaf n holds k at index i. */
@inline function leafHas(n: usize, i: i32, k: u64): bool {
  return i < cnt(n) && hiOf(n) == hi32(k) && lk(n, i) == <u32>k;
}

// ---- lookup ----

/** The value at k, or 0 when absent. */
export function btGet(root: u32, k: u64): u32 {
  let n = <usize>root;
  if (n == 0) return 0;
  while (!isLeaf(n)) n = child(n, upperBound(n, k));
  let i = leafLowerBound(n, k);
  return leafHas(n, i, k) ? load<u32>(lvp(n, i)) : 0;
}

/**
 * Where the last btLookup() ended: its leaf (0 for an empty tree) and k's
 * index there. With btInsertAt(), a lookup that misses becomes an insertion
 * without a second descent.
 */
export let lookupLeaf: usize = 0;
export let lookupIdx: i32 = 0;

/** btGet(), leaving its leaf and index in lookupLeaf and lookupIdx. */
export function btLookup(root: u32, k: u64): u32 {
  let n = <usize>root;
  lookupLeaf = n;
  if (n == 0) return 0;
  while (!isLeaf(n)) n = child(n, upperBound(n, k));
  let i = leafLowerBound(n, k);
  lookupLeaf = n;
  lookupIdx = i;
  return leafHas(n, i, k) ? load<u32>(lvp(n, i)) : 0;
}

/**
 * Insert absent key k with value v, given what btLookup(k) left in
 * lookupLeaf / lookupIdx (the caller keeps them) when this tree has not
 * changed since: straight into that leaf when it has room and k's high half,
 * else by the splitting descent of btSlot().
 */
export function btInsertAt(rootRef: usize, k: u64, v: u32, leaf: usize, i: i32): void {
  if (leaf != 0) {
    let c = cnt(leaf);
    if (c < LCAP && (c == 0 || hiOf(leaf) == hi32(k))) {
      if (c == 0) setHi(leaf, hi32(k));
      if (i < c) {
        memory.copy(lkp(leaf, i + 1), lkp(leaf, i), <usize>(c - i) << 2);
        memory.copy(lvp(leaf, i + 1), lvp(leaf, i), <usize>(c - i) << 2);
      }
      store<u32>(lkp(leaf, i), <u32>k);
      store<u32>(lvp(leaf, i), v);
      setCnt(leaf, c + 1);
      return;
    }
  }
  store<u32>(btSlot(rootRef, k), v);
}

/** The address of the value at index i of a leaf btLookup() found. */
@inline export function btValueAt(leaf: usize, i: i32): usize {
  return lvp(leaf, i);
}

/** The entry count of a tree that is a single leaf, else -1: lets the block map turn a small directory flat again. */
export function btLeafCount(root: u32): i32 {
  let n = <usize>root;
  return n != 0 && isLeaf(n) ? cnt(n) : -1;
}

/** Key i of a tree that is a single leaf (ascending). */
export function btLeafKey(root: u32, i: i32): u64 {
  return lkey(<usize>root, i);
}

/** Value i of a tree that is a single leaf. */
export function btLeafValue(root: u32, i: i32): u32 {
  return load<u32>(lvp(<usize>root, i));
}

/** Number of entries (walks the leaves: for tests and snapshots, not hot paths). */
export function btCount(root: u32): i64 {
  let n = <usize>root;
  if (n == 0) return 0;
  if (isLeaf(n)) return cnt(n);
  let s: i64 = 0;
  for (let i = 0, c = cnt(n); i <= c; i++) s += btCount(<u32>child(n, i));
  return s;
}

// ---- insertion ----

/** Make r child i + 1 of p (which has room), separated from child i by sep. */
function insertChild(p: usize, i: i32, sep: u64, r: usize): void {
  let pc = cnt(p);
  assert(pc < ICAP);
  memory.copy(kp(p, i + 1), kp(p, i), <usize>(pc - i) << 3);
  memory.copy(cp(p, i + 2), cp(p, i + 1), <usize>(pc - i) << 2);
  store<u64>(kp(p, i), sep);
  store<u32>(cp(p, i + 1), <u32>r);
  setCnt(p, pc + 1);
}

/** Split full internal child i of p in halves. */
function splitInternal(p: usize, i: i32): void {
  let c = child(p, i);
  assert(cnt(c) == ICAP);
  let r = allocNode(0);
  let m = ICAP >> 1;
  let sep = key(c, m);
  let moved = ICAP - m - 1;
  memory.copy(kp(r, 0), kp(c, m + 1), <usize>moved << 3);
  memory.copy(cp(r, 0), cp(c, m + 1), <usize>(moved + 1) << 2);
  setCnt(r, moved);
  setCnt(c, m);
  insertChild(p, i, sep, r);
}

/** Upper bound (exclusive) of the keys the leaf found by findLeaf() may hold. */
let leafEnd: u64 = 0;

/**
 * Make room for absent key k in leaf child i of p (p has room for a child):
 * returns the leaf that takes k, now child i - 1, i or i + 1 of p.
 *
 * Keys arrive in runs (a fallocate, a guest touching consecutive pages), so a
 * full leaf is cut where k goes rather than halved: the run then fills the
 * room after k instead of shifting the keys above it once per key, and at a
 * leaf's edge it fills a fresh leaf completely (halving left sequential fills
 * half full). Before a new leaf, a neighbour with room takes k's side of the
 * cut, B*-tree fashion: that keeps scattered single keys at about the fill
 * halving gave (measured: 11.7 bytes an entry for random keys, 8.7 dense).
 */
function makeRoom(p: usize, i: i32, k: u64): usize {
  let c = child(p, i);
  let cc = cnt(c);
  let h = hi32(k), ch = hiOf(c);
  let pc = cnt(p);
  if (h != ch) {
    // Every key of c sorts on one side of k: a new leaf on that side of c,
    // split from c at the edge of k's high half.
    assert(cc > 0);
    let r = allocNode(1);
    setHi(r, h);
    insertChild(p, i, <u64>max(h, ch) << 32, r);
    if (h < ch) {
      store<u32>(cp(p, i), <u32>r);
      store<u32>(cp(p, i + 1), <u32>c);
    }
    return r;
  }
  assert(cc == LCAP);
  let pos = leafLowerBound(c, k);
  let tail = LCAP - pos;
  // The right neighbour takes the keys above k (k itself, if there are none).
  if (i < pc) {
    let s = child(p, i + 1);
    let sc = cnt(s);
    if (sc + max(tail, 1) <= LCAP && (sc == 0 || hiOf(s) == ch)) {
      setHi(s, ch);
      if (tail == 0) {
        store<u64>(kp(p, i), k);
        return s;
      }
      memory.copy(lkp(s, tail), lkp(s, 0), <usize>sc << 2);
      memory.copy(lvp(s, tail), lvp(s, 0), <usize>sc << 2);
      memory.copy(lkp(s, 0), lkp(c, pos), <usize>tail << 2);
      memory.copy(lvp(s, 0), lvp(c, pos), <usize>tail << 2);
      setCnt(s, sc + tail);
      setCnt(c, pos);
      store<u64>(kp(p, i), lkey(s, 0));
      return c;
    }
  }
  // The left neighbour takes the keys below k (k itself, if there are none).
  if (i > 0) {
    let s = child(p, i - 1);
    let sc = cnt(s);
    if (sc + max(pos, 1) <= LCAP && (sc == 0 || hiOf(s) == ch)) {
      setHi(s, ch);
      if (pos == 0) {
        store<u64>(kp(p, i - 1), lkey(c, 0));
        return s;
      }
      memory.copy(lkp(s, sc), lkp(c, 0), <usize>pos << 2);
      memory.copy(lvp(s, sc), lvp(c, 0), <usize>pos << 2);
      memory.copy(lkp(c, 0), lkp(c, pos), <usize>tail << 2);
      memory.copy(lvp(c, 0), lvp(c, pos), <usize>tail << 2);
      setCnt(s, sc + pos);
      setCnt(c, tail);
      // k now sorts at c's front: the separator drops to k.
      store<u64>(kp(p, i - 1), k);
      return c;
    }
  }
  let r = allocNode(1);
  setHi(r, ch);
  if (pos == 0) {
    // A new leaf left of c, for the keys below c's first.
    insertChild(p, i, lkey(c, 0), r);
    store<u32>(cp(p, i), <u32>r);
    store<u32>(cp(p, i + 1), <u32>c);
    return r;
  }
  if (tail == 0) {
    insertChild(p, i, k, r);
    return r;
  }
  memory.copy(lkp(r, 0), lkp(c, pos), <usize>tail << 2);
  memory.copy(lvp(r, 0), lvp(c, pos), <usize>tail << 2);
  setCnt(r, tail);
  setCnt(c, pos);
  insertChild(p, i, lkey(r, 0), r);
  return c;
}

/** Whether leaf c must change before it can take k (absent keys only need room). */
@inline function leafNeedsRoom(c: usize, k: u64): bool {
  let cc = cnt(c);
  if (cc == 0) return false;
  if (hiOf(c) != hi32(k)) return true;
  if (cc < LCAP) return false;
  let j = leafLowerBound(c, k);
  return !(j < LCAP && lk(c, j) == <u32>k);
}

/**
 * Descend to the leaf for k, splitting full nodes on the way down so that the
 * leaf can take k (room, and k's high half), unless k is already there. Sets
 * leafEnd.
 */
function findLeaf(rootRef: usize, k: u64): usize {
  let root = <usize>load<u32>(rootRef);
  leafEnd = u64.MAX_VALUE;
  if (root == 0) {
    root = allocNode(1);
    setHi(root, hi32(k));
    store<u32>(rootRef, <u32>root);
    return root;
  }
  if (isLeaf(root)) {
    if (!leafNeedsRoom(root, k)) return root;
    let nr = allocNode(0);
    store<u32>(cp(nr, 0), <u32>root);
    store<u32>(rootRef, <u32>nr);
    root = nr;
  } else if (cnt(root) == ICAP) {
    let nr = allocNode(0);
    store<u32>(cp(nr, 0), <u32>root);
    splitInternal(nr, 0);
    store<u32>(rootRef, <u32>nr);
    root = nr;
  }
  let n = root;
  let c: usize;
  for (;;) {
    let i = upperBound(n, k);
    c = child(n, i);
    if (isLeaf(c)) {
      if (leafNeedsRoom(c, k)) {
        c = makeRoom(n, i, k);
        i = upperBound(n, k);
        assert(child(n, i) == c);
      }
      if (i < cnt(n)) leafEnd = key(n, i);
      break;
    }
    if (cnt(c) == ICAP) {
      splitInternal(n, i);
      if (k >= key(n, i)) i++;
      c = child(n, i);
    }
    if (i < cnt(n)) leafEnd = key(n, i);
    n = c;
  }
  return c;
}

/**
 * Find or insert k; returns the address of its value (0 if just inserted),
 * valid until the tree next changes.
 */
export function btSlot(rootRef: usize, k: u64): usize {
  let n = findLeaf(rootRef, k);
  let c = cnt(n);
  if (c == 0) setHi(n, hi32(k));
  let i = leafLowerBound(n, k);
  if (leafHas(n, i, k)) return lvp(n, i);
  assert(c < LCAP && hiOf(n) == hi32(k));
  if (i < c) {
    memory.copy(lkp(n, i + 1), lkp(n, i), <usize>(c - i) << 2);
    memory.copy(lvp(n, i + 1), lvp(n, i), <usize>(c - i) << 2);
  }
  store<u32>(lkp(n, i), <u32>k);
  store<u32>(lvp(n, i), 0);
  setCnt(n, c + 1);
  return lvp(n, i);
}

/** Writes the values of `n` keys btFill inserts, in ascending key order, at `dst`. */
export type Producer = (dst: usize, n: i32) => void;

/**
 * Insert every absent key of [lo, hi) in ascending order, their values from
 * produce(); present keys keep theirs. One descent per leaf and one shift per
 * gap filled, not per key. Returns how many were inserted.
 */
export function btFill(rootRef: usize, lo: u64, hi: u64, produce: Producer): i64 {
  let made: i64 = 0;
  let k = lo;
  while (k < hi) {
    let n = findLeaf(rootRef, k);
    let c = cnt(n);
    if (c == 0) setHi(n, hi32(k));
    let h = hiOf(n);
    // The leaf ends at its separator or where the high half changes.
    let groupEnd = h == u32.MAX_VALUE ? u64.MAX_VALUE : (<u64>h + 1) << 32;
    let stop = min(min(hi, leafEnd), groupEnd);
    let i = leafLowerBound(n, k);
    while (k < stop) {
      while (i < c && lk(n, i) == <u32>k) {
        i++;
        k++;
        if (k >= stop) break;
      }
      if (k >= stop || c == LCAP) break;
      // Keys k .. next-1 are absent: open one gap for as many as fit.
      let next = i < c ? (<u64>h << 32) | <u64>lk(n, i) : stop;
      let m = <i32>min(<u64>(LCAP - c), min(next, stop) - k);
      if (i < c) {
        memory.copy(lkp(n, i + m), lkp(n, i), <usize>(c - i) << 2);
        memory.copy(lvp(n, i + m), lvp(n, i), <usize>(c - i) << 2);
      }
      let x = <u32>k;
      let p = lkp(n, i);
      for (let j = 0; j < m; j++) store<u32>(p + (<usize>j << 2), x + <u32>j);
      c += m;
      setCnt(n, c);
      produce(lvp(n, i), m);
      made += m;
      i += m;
      k += <u64>m;
    }
  }
  return made;
}

@inline export function btSet(rootRef: usize, k: u64, v: u32): void {
  store<u32>(btSlot(rootRef, k), v);
}

// ---- removal ----

/**
 * Called with each run of removed values, in ascending key order, before the
 * node holding them changes. `vals` points at `n` consecutive u32 values.
 */
export type Visitor = (vals: usize, n: i32) => void;

function noVisit(vals: usize, n: i32): void {}

const tmpKeys = memory.data(<i32>NODE_BYTES << 1, 8);
const tmpVals = memory.data(<i32>NODE_BYTES, 8);
/** btDelete()'s descent: each internal node passed (u32) and the child taken (i32). */
const delPath = memory.data(MAX_DEPTH << 3, 8);

/** Forget the pool (its chunks go with the heap, alloc.ts resetAlloc()). */
export function resetBtree(): void {
  freeNodes = 0;
  liveNodes = 0;
  leafEnd = 0;
  lookupLeaf = 0;
  lookupIdx = 0;
  memory.fill(tmpKeys, 0, NODE_BYTES << 1);
  memory.fill(tmpVals, 0, NODE_BYTES);
  memory.fill(delPath, 0, <usize>MAX_DEPTH << 3);
}

@inline function underfull(n: usize): bool { return cnt(n) < (isLeaf(n) ? LMIN : IMIN); }

/**
 * Merge children i and i + 1 of p when they fit in one node, else share their
 * entries evenly. Returns true if they merged. Leaves of different high
 * halves are left as they are (false).
 */
function rebalance(p: usize, i: i32): bool {
  let l = child(p, i), r = child(p, i + 1);
  assert(isLeaf(l) == isLeaf(r));
  let cl = cnt(l), cr = cnt(r);
  let pc = cnt(p);
  if (isLeaf(l)) {
    if (cl == 0) setHi(l, hiOf(r));
    else if (cr != 0 && hiOf(l) != hiOf(r)) return false;
    if (cl + cr <= LCAP) {
      memory.copy(lkp(l, cl), lkp(r, 0), <usize>cr << 2);
      memory.copy(lvp(l, cl), lvp(r, 0), <usize>cr << 2);
      setCnt(l, cl + cr);
      freeNode(r);
      memory.copy(kp(p, i), kp(p, i + 1), <usize>(pc - i - 1) << 3);
      memory.copy(cp(p, i + 1), cp(p, i + 2), <usize>(pc - i - 1) << 2);
      setCnt(p, pc - 1);
      return true;
    }
    let t = cl + cr, nl = t >> 1;
    if (cl < nl) {
      let m = nl - cl;
      memory.copy(lkp(l, cl), lkp(r, 0), <usize>m << 2);
      memory.copy(lvp(l, cl), lvp(r, 0), <usize>m << 2);
      memory.copy(lkp(r, 0), lkp(r, m), <usize>(cr - m) << 2);
      memory.copy(lvp(r, 0), lvp(r, m), <usize>(cr - m) << 2);
    } else {
      let m = cl - nl;
      memory.copy(lkp(r, m), lkp(r, 0), <usize>cr << 2);
      memory.copy(lvp(r, m), lvp(r, 0), <usize>cr << 2);
      memory.copy(lkp(r, 0), lkp(l, nl), <usize>m << 2);
      memory.copy(lvp(r, 0), lvp(l, nl), <usize>m << 2);
      setHi(r, hiOf(l));
    }
    setCnt(l, nl);
    setCnt(r, t - nl);
    store<u64>(kp(p, i), lkey(r, 0));
    return false;
  }
  // Internal: the parent's separator moves down between the two key runs.
  let sep = key(p, i);
  let t = cl + 1 + cr;
  if (t <= ICAP) {
    store<u64>(kp(l, cl), sep);
    memory.copy(kp(l, cl + 1), kp(r, 0), <usize>cr << 3);
    memory.copy(cp(l, cl + 1), cp(r, 0), <usize>(cr + 1) << 2);
    setCnt(l, t);
    freeNode(r);
    memory.copy(kp(p, i), kp(p, i + 1), <usize>(pc - i - 1) << 3);
    memory.copy(cp(p, i + 1), cp(p, i + 2), <usize>(pc - i - 1) << 2);
    setCnt(p, pc - 1);
    // The two children now side by side at the seam may both be underfull
    // (a removal emptied both edges): without this an emptied tree could keep
    // a chain of empty nodes.
    let j = fixChild(l, cl);
    if (j + 1 <= cnt(l)) fixChild(l, j + 1);
    return true;
  }
  memory.copy(tmpKeys, kp(l, 0), <usize>cl << 3);
  store<u64>(tmpKeys + (<usize>cl << 3), sep);
  memory.copy(tmpKeys + (<usize>(cl + 1) << 3), kp(r, 0), <usize>cr << 3);
  memory.copy(tmpVals, cp(l, 0), <usize>(cl + 1) << 2);
  memory.copy(tmpVals + (<usize>(cl + 1) << 2), cp(r, 0), <usize>(cr + 1) << 2);
  let nl = t >> 1;
  memory.copy(kp(l, 0), tmpKeys, <usize>nl << 3);
  memory.copy(cp(l, 0), tmpVals, <usize>(nl + 1) << 2);
  store<u64>(kp(p, i), load<u64>(tmpKeys + (<usize>nl << 3)));
  let nr = t - nl - 1;
  memory.copy(kp(r, 0), tmpKeys + (<usize>(nl + 1) << 3), <usize>nr << 3);
  memory.copy(cp(r, 0), tmpVals + (<usize>(nl + 1) << 2), <usize>(nr + 1) << 2);
  setCnt(l, nl);
  setCnt(r, nr);
  return false;
}

/** Restore child i of p after removals; returns the index it now has. */
function fixChild(p: usize, i: i32): i32 {
  while (cnt(p) > 0 && underfull(child(p, i))) {
    if (i < cnt(p)) {
      if (!rebalance(p, i)) break;
    } else {
      i--;
      if (!rebalance(p, i)) break;
    }
  }
  return i;
}

function freeSubtree(n: usize, visit: Visitor): i64 {
  let s: i64;
  if (isLeaf(n)) {
    s = cnt(n);
    if (s > 0) visit(lvp(n, 0), <i32>s);
  } else {
    s = 0;
    for (let i = 0, c = cnt(n); i <= c; i++) s += freeSubtree(child(n, i), visit);
  }
  freeNode(n);
  return s;
}

function removeRec(n: usize, lo: u64, hi: u64, visit: Visitor): i64 {
  if (isLeaf(n)) {
    let c = cnt(n);
    let a = leafLowerBound(n, lo);
    let b = leafLowerBound(n, hi);
    if (a >= b) return 0;
    visit(lvp(n, a), b - a);
    memory.copy(lkp(n, a), lkp(n, b), <usize>(c - b) << 2);
    memory.copy(lvp(n, a), lvp(n, b), <usize>(c - b) << 2);
    setCnt(n, c - (b - a));
    return b - a;
  }
  let a = upperBound(n, lo);
  let b = upperBound(n, hi - 1);
  if (a == b) {
    let r = removeRec(child(n, a), lo, hi, visit);
    if (r > 0) fixChild(n, a);
    return r;
  }
  let r = removeRec(child(n, a), lo, hi, visit);
  for (let i = a + 1; i < b; i++) r += freeSubtree(child(n, i), visit);
  r += removeRec(child(n, b), lo, hi, visit);
  let gone = b - a - 1;
  if (gone > 0) {
    // Keep separator b - 1: it still divides what is left of children a and b.
    let c = cnt(n);
    memory.copy(kp(n, a), kp(n, b - 1), <usize>(c - b + 1) << 3);
    memory.copy(cp(n, a + 1), cp(n, b), <usize>(c - b + 1) << 2);
    setCnt(n, c - gone);
  }
  let j = fixChild(n, a);
  if (j + 1 <= cnt(n)) fixChild(n, j + 1);
  return r;
}

/** Shrink the root while it is an internal node with one child, or an empty leaf. */
function settleRoot(rootRef: usize): void {
  let n = <usize>load<u32>(rootRef);
  while (n != 0 && !isLeaf(n) && cnt(n) == 0) {
    let c = child(n, 0);
    freeNode(n);
    n = c;
  }
  if (n != 0 && isLeaf(n) && cnt(n) == 0) {
    freeNode(n);
    n = 0;
  }
  store<u32>(rootRef, <u32>n);
}

/**
 * Remove every key in [lo, hi), calling visit on the removed values in
 * ascending key order. Returns how many were removed.
 */
export function btRemoveRange(rootRef: usize, lo: u64, hi: u64, visit: Visitor): i64 {
  let n = <usize>load<u32>(rootRef);
  if (n == 0 || lo >= hi) return 0;
  let r = removeRec(n, lo, hi, visit);
  if (r > 0) settleRoot(rootRef);
  return r;
}

/** Remove every key in [lo, hi); returns how many were removed. */
export function btRemoveRangeCount(rootRef: usize, lo: u64, hi: u64): i64 {
  return btRemoveRange(rootRef, lo, hi, noVisit);
}

/**
 * Remove one key; returns its value, or 0 if it was absent. The single-page
 * punch and zap: removeRec() for [k, k + 1) without its recursion, its
 * second search per leaf or its visit through a call. The rebalancing is
 * removeRec()'s, bottom up along the path.
 */
export function btDelete(rootRef: usize, k: u64): u32 {
  let n = <usize>load<u32>(rootRef);
  if (n == 0) return 0;
  let path = delPath;
  while (!isLeaf(n)) {
    let a = upperBound(n, k);
    assert(path < delPath + (<usize>MAX_DEPTH << 3));
    store<u32>(path, <u32>n);
    store<i32>(path, a, 4);
    path += 8;
    n = child(n, a);
  }
  let i = leafLowerBound(n, k);
  if (!leafHas(n, i, k)) return 0;
  let v = load<u32>(lvp(n, i));
  let c = cnt(n);
  let tail = <usize>(c - i - 1) << 2;
  memory.copy(lkp(n, i), lkp(n, i + 1), tail);
  memory.copy(lvp(n, i), lvp(n, i + 1), tail);
  setCnt(n, c - 1);
  while (path > delPath) {
    path -= 8;
    let p = <usize>load<u32>(path);
    let a = load<i32>(path, 4);
    if (underfull(child(p, a))) fixChild(p, a);
  }
  settleRoot(rootRef);
  return v;
}

/** Empty the tree node by node (no per-key work); returns the entries it held. */
export function btClear(rootRef: usize, visit: Visitor): i64 {
  let n = <usize>load<u32>(rootRef);
  if (n == 0) return 0;
  store<u32>(rootRef, 0);
  return freeSubtree(n, visit);
}

export function btClearCount(rootRef: usize): i64 {
  return btClear(rootRef, noVisit);
}

// ---- iteration ----

export type EntryVisitor = (k: u64, v: u32) => void;

/** Visit every entry with lo <= key < hi in ascending order; the tree must not change meanwhile. */
export function btForEach(root: u32, lo: u64, hi: u64, visit: EntryVisitor): void {
  let n = <usize>root;
  if (n == 0) return;
  if (isLeaf(n)) {
    for (let i = leafLowerBound(n, lo), c = cnt(n); i < c; i++) {
      let k = lkey(n, i);
      if (k >= hi) return;
      visit(k, load<u32>(lvp(n, i)));
    }
    return;
  }
  let a = upperBound(n, lo);
  let b = hi == 0 ? 0 : upperBound(n, hi - 1);
  for (let i = a; i <= b; i++) btForEach(<u32>child(n, i), lo, hi, visit);
}
