/**
 * An ordered map u64 -> u32 in linear memory: the core's stand-in for the
 * kernel's xarray (the page cache's i_pages, and the stage-2 table). A B+tree
 * rather than a radix tree, because a sparse 1 TiB file must cost kilobytes:
 * a radix path per scattered page would cost a few hundred bytes each.
 *
 * A tree is a u32 root pointer stored somewhere (a record field); 0 is the empty
 * tree, so an empty page cache or stage-2 table costs nothing. Value 0 means
 * "absent" to btGet: every user stores non-zero values (pfns start at 1, SPTEs
 * always carry a right).
 *
 * Node layout (NODE_BYTES each, from one pool with a free list):
 *   +0 count (leaf: entries; internal: keys, children = keys + 1)
 *   +4 1 if leaf
 *   +8 keys u64[CAP]
 *   +VOFF leaf values u32[CAP] or internal children u32[CAP + 1]
 * Internal key i separates child i (keys < key i) from child i + 1.
 *
 * Range removal frees whole subtrees strictly inside the range and only walks
 * the two boundary paths, so it costs O(log n + removed), never the range size.
 */

import { alloc } from "./alloc";

const CAP: i32 = 41;
/** Below this a non-root node is merged with or refilled from a sibling. */
const MIN: i32 = 20;
const VOFF: usize = 8 + (<usize>CAP << 3);
const NODE_BYTES: usize = 512;
const CHUNK_NODES: usize = 64;

// ---- node pool ----

let freeNodes: usize = 0;
/** Nodes handed out and not freed: lets tests check that nothing leaks. */
export let liveNodes: i32 = 0;

function refill(): void {
  // Chunks are never returned to the allocator; their nodes are reused.
  let chunk = alloc(NODE_BYTES * CHUNK_NODES);
  for (let i: usize = 0; i < CHUNK_NODES; i++) {
    let n = chunk + i * NODE_BYTES;
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
@inline function kp(n: usize, i: i32): usize { return n + 8 + (<usize>i << 3); }
@inline function vp(n: usize, i: i32): usize { return n + VOFF + (<usize>i << 2); }
@inline function key(n: usize, i: i32): u64 { return load<u64>(kp(n, i)); }
@inline function child(n: usize, i: i32): usize { return <usize>load<u32>(vp(n, i)); }

/** First index whose key is >= k. */
@inline function lowerBound(n: usize, k: u64): i32 {
  let lo = 0, hi = cnt(n);
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (key(n, mid) < k) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** First index whose key is > k: in an internal node, the child that holds k. */
@inline function upperBound(n: usize, k: u64): i32 {
  let lo = 0, hi = cnt(n);
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (key(n, mid) <= k) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// ---- lookup ----

/** The value at k, or 0 when absent. */
export function btGet(root: u32, k: u64): u32 {
  let n = <usize>root;
  if (n == 0) return 0;
  while (!isLeaf(n)) n = child(n, upperBound(n, k));
  let i = lowerBound(n, k);
  return i < cnt(n) && key(n, i) == k ? load<u32>(vp(n, i)) : 0;
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

/**
 * Split full child i of parent p. A leaf that is full because keys arrive in
 * ascending order (k beyond its last key) is not halved: the new key starts an
 * empty right sibling, so sequential fills (ALLOCATE) pack leaves completely.
 */
function splitChild(p: usize, i: i32, k: u64): void {
  let c = child(p, i);
  assert(cnt(c) == CAP && cnt(p) < CAP);
  let r: usize, sep: u64;
  if (isLeaf(c)) {
    r = allocNode(1);
    if (k > key(c, CAP - 1)) {
      sep = k;
    } else {
      let m = CAP >> 1;
      let moved = CAP - m;
      memory.copy(kp(r, 0), kp(c, m), <usize>moved << 3);
      memory.copy(vp(r, 0), vp(c, m), <usize>moved << 2);
      setCnt(r, moved);
      setCnt(c, m);
      sep = key(r, 0);
    }
  } else {
    r = allocNode(0);
    let m = CAP >> 1;
    sep = key(c, m);
    let moved = CAP - m - 1;
    memory.copy(kp(r, 0), kp(c, m + 1), <usize>moved << 3);
    memory.copy(vp(r, 0), vp(c, m + 1), <usize>(moved + 1) << 2);
    setCnt(r, moved);
    setCnt(c, m);
  }
  let pc = cnt(p);
  memory.copy(kp(p, i + 1), kp(p, i), <usize>(pc - i) << 3);
  memory.copy(vp(p, i + 2), vp(p, i + 1), <usize>(pc - i) << 2);
  store<u64>(kp(p, i), sep);
  store<u32>(vp(p, i + 1), <u32>r);
  setCnt(p, pc + 1);
}

/** Upper bound (exclusive) of the keys the leaf found by findLeaf() may hold. */
let leafEnd: u64 = 0;

/**
 * Descend to the leaf for k, splitting full nodes on the way down so that the
 * leaf has room for k, unless k is already there. Sets leafEnd.
 */
function findLeaf(rootRef: usize, k: u64): usize {
  let root = <usize>load<u32>(rootRef);
  leafEnd = u64.MAX_VALUE;
  if (root == 0) {
    root = allocNode(1);
    store<u32>(rootRef, <u32>root);
    return root;
  }
  if (cnt(root) == CAP) {
    if (isLeaf(root)) {
      let i = lowerBound(root, k);
      if (i < CAP && key(root, i) == k) return root;
    }
    let nr = allocNode(0);
    store<u32>(vp(nr, 0), <u32>root);
    splitChild(nr, 0, k);
    root = nr;
    store<u32>(rootRef, <u32>root);
  }
  let n = root;
  while (!isLeaf(n)) {
    let i = upperBound(n, k);
    let c = child(n, i);
    if (cnt(c) == CAP) {
      let split = true;
      if (isLeaf(c)) {
        let j = lowerBound(c, k);
        split = !(j < CAP && key(c, j) == k);
      }
      if (split) {
        splitChild(n, i, k);
        if (k >= key(n, i)) i++;
        c = child(n, i);
      }
    }
    if (i < cnt(n)) leafEnd = key(n, i);
    n = c;
  }
  return n;
}

/** Insert k at index i of leaf n (which has room), value 0; returns the value's address. */
@inline function leafInsert(n: usize, i: i32, k: u64): usize {
  let c = cnt(n);
  if (i < c) {
    memory.copy(kp(n, i + 1), kp(n, i), <usize>(c - i) << 3);
    memory.copy(vp(n, i + 1), vp(n, i), <usize>(c - i) << 2);
  }
  store<u64>(kp(n, i), k);
  store<u32>(vp(n, i), 0);
  setCnt(n, c + 1);
  return vp(n, i);
}

/**
 * Find or insert k; returns the address of its value (0 if just inserted),
 * valid until the tree next changes.
 */
export function btSlot(rootRef: usize, k: u64): usize {
  let n = findLeaf(rootRef, k);
  let i = lowerBound(n, k);
  if (i < cnt(n) && key(n, i) == k) return vp(n, i);
  return leafInsert(n, i, k);
}

/** Makes the value of each key btFill inserts. */
export type Producer = () => u32;

/**
 * Insert every absent key of [lo, hi) in ascending order, its value from
 * produce(); present keys keep theirs. One descent per leaf, not per key.
 * Returns how many were inserted.
 */
export function btFill(rootRef: usize, lo: u64, hi: u64, produce: Producer): i64 {
  let made: i64 = 0;
  let k = lo;
  while (k < hi) {
    let n = findLeaf(rootRef, k);
    let stop = min(hi, leafEnd);
    let i = lowerBound(n, k);
    while (k < stop) {
      if (i < cnt(n) && key(n, i) == k) {
        i++;
        k++;
        continue;
      }
      if (cnt(n) == CAP) break;
      store<u32>(leafInsert(n, i, k), produce());
      made++;
      i++;
      k++;
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

const tmpKeys = memory.data(((CAP << 1) + 2) << 3, 8);
const tmpVals = memory.data(((CAP << 1) + 3) << 2, 8);

@inline function underfull(n: usize): bool { return cnt(n) < MIN; }

/**
 * Merge children i and i + 1 of p when they fit in one node, else share their
 * entries evenly. Returns true if they merged.
 */
function rebalance(p: usize, i: i32): bool {
  let l = child(p, i), r = child(p, i + 1);
  assert(isLeaf(l) == isLeaf(r));
  let cl = cnt(l), cr = cnt(r);
  let pc = cnt(p);
  if (isLeaf(l)) {
    if (cl + cr <= CAP) {
      memory.copy(kp(l, cl), kp(r, 0), <usize>cr << 3);
      memory.copy(vp(l, cl), vp(r, 0), <usize>cr << 2);
      setCnt(l, cl + cr);
      freeNode(r);
      memory.copy(kp(p, i), kp(p, i + 1), <usize>(pc - i - 1) << 3);
      memory.copy(vp(p, i + 1), vp(p, i + 2), <usize>(pc - i - 1) << 2);
      setCnt(p, pc - 1);
      return true;
    }
    let t = cl + cr, nl = t >> 1;
    if (cl < nl) {
      let m = nl - cl;
      memory.copy(kp(l, cl), kp(r, 0), <usize>m << 3);
      memory.copy(vp(l, cl), vp(r, 0), <usize>m << 2);
      memory.copy(kp(r, 0), kp(r, m), <usize>(cr - m) << 3);
      memory.copy(vp(r, 0), vp(r, m), <usize>(cr - m) << 2);
    } else {
      let m = cl - nl;
      memory.copy(kp(r, m), kp(r, 0), <usize>cr << 3);
      memory.copy(vp(r, m), vp(r, 0), <usize>cr << 2);
      memory.copy(kp(r, 0), kp(l, nl), <usize>m << 3);
      memory.copy(vp(r, 0), vp(l, nl), <usize>m << 2);
    }
    setCnt(l, nl);
    setCnt(r, t - nl);
    store<u64>(kp(p, i), key(r, 0));
    return false;
  }
  // Internal: the parent's separator moves down between the two key runs.
  let sep = key(p, i);
  let t = cl + 1 + cr;
  if (t <= CAP) {
    store<u64>(kp(l, cl), sep);
    memory.copy(kp(l, cl + 1), kp(r, 0), <usize>cr << 3);
    memory.copy(vp(l, cl + 1), vp(r, 0), <usize>(cr + 1) << 2);
    setCnt(l, t);
    freeNode(r);
    memory.copy(kp(p, i), kp(p, i + 1), <usize>(pc - i - 1) << 3);
    memory.copy(vp(p, i + 1), vp(p, i + 2), <usize>(pc - i - 1) << 2);
    setCnt(p, pc - 1);
    return true;
  }
  memory.copy(tmpKeys, kp(l, 0), <usize>cl << 3);
  store<u64>(tmpKeys + (<usize>cl << 3), sep);
  memory.copy(tmpKeys + (<usize>(cl + 1) << 3), kp(r, 0), <usize>cr << 3);
  memory.copy(tmpVals, vp(l, 0), <usize>(cl + 1) << 2);
  memory.copy(tmpVals + (<usize>(cl + 1) << 2), vp(r, 0), <usize>(cr + 1) << 2);
  let nl = t >> 1;
  memory.copy(kp(l, 0), tmpKeys, <usize>nl << 3);
  memory.copy(vp(l, 0), tmpVals, <usize>(nl + 1) << 2);
  store<u64>(kp(p, i), load<u64>(tmpKeys + (<usize>nl << 3)));
  let nr = t - nl - 1;
  memory.copy(kp(r, 0), tmpKeys + (<usize>(nl + 1) << 3), <usize>nr << 3);
  memory.copy(vp(r, 0), tmpVals + (<usize>(nl + 1) << 2), <usize>(nr + 1) << 2);
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
    if (s > 0) visit(vp(n, 0), <i32>s);
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
    let a = lowerBound(n, lo);
    if (a >= c || key(n, a) >= hi) return 0;
    let b = a + 1;
    while (b < c && key(n, b) < hi) b++;
    visit(vp(n, a), b - a);
    memory.copy(kp(n, a), kp(n, b), <usize>(c - b) << 3);
    memory.copy(vp(n, a), vp(n, b), <usize>(c - b) << 2);
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
    memory.copy(vp(n, a + 1), vp(n, b), <usize>(c - b + 1) << 2);
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

/** Remove one key; returns its value, or 0 if it was absent. */
export function btDelete(rootRef: usize, k: u64): u32 {
  let v = btGet(load<u32>(rootRef), k);
  if (v != 0) btRemoveRange(rootRef, k, k + 1, noVisit);
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
    for (let i = lowerBound(n, lo), c = cnt(n); i < c; i++) {
      let k = key(n, i);
      if (k >= hi) return;
      visit(k, load<u32>(vp(n, i)));
    }
    return;
  }
  let a = upperBound(n, lo);
  let b = hi == 0 ? 0 : upperBound(n, hi - 1);
  for (let i = a; i <= b; i++) btForEach(<u32>child(n, i), lo, hi, visit);
}
