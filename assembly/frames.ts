/**
 * The host's page frames: the buddy allocator's part in the model, reduced to
 * what the contract numbers. Each pfn has one u16 word, contents byte in the
 * low half (a page is modelled as one fill byte) and page flags (PG_*) in the
 * high half, and one u32 ctx word (the encryption context a PG_PRIVATE page
 * was prepared under; 0 otherwise).
 *
 * Both live in chunks of CHUNK pfns reached through a directory, so the table
 * grows by a chunk at a time and never copies or strands an outgrown array:
 * 2 bytes per pfn ever handed out, plus 4 for the ctx words of a chunk only
 * once one of its pages has been prepared private (most workloads never do).
 * Free pfns go on a LIFO stack: the contract makes reuse order observable.
 * The stack is a list of fixed blocks (STACK_BLOCK pfns each), not one array
 * grown by doubling: a doubled array strands its old copy in the heap (a 4 M
 * page punch grew the memory by half as much again), where a block list costs
 * 4 bytes per free pfn plus one block, and an emptied block is kept as the
 * spare for the next push rather than freed and carved again.
 */
import { INODE_GMEM } from "../src/abi/core-abi";
import { alloc, allocZeroed, free, resize } from "./alloc";

const CHUNK_SHIFT: u32 = 12;
const CHUNK: u32 = 1 << CHUNK_SHIFT;
const MASK: u32 = CHUNK - 1;

/** Directory: per chunk two u32 pointers, the word chunk and the ctx chunk (0 until needed). */
let dir: usize = 0;
let dirCap: u32 = 0; // chunks
/** Top block of the free stack (0: empty): +0 the block below (u32), +4 pad, then STACK_BLOCK pfns (u32). */
let stack: usize = 0;
/** pfns in the top block. */
let topLen: u32 = 0;
/** An emptied block, kept for the next push. */
let spare: usize = 0;
const STACK_BLOCK: u32 = 4094;
const STACK_BYTES: usize = 8 + (<usize>STACK_BLOCK << 2);
/** Free pfns on the stack (the snapshot's free-stack depth). */
export let stackLen: u32 = 0;
/** The next never-used pfn (pfn 0 is never handed out). */
export let nextPfn: u32 = 1;
export let gmemPages: i64 = 0;
export let anonPages: i64 = 0;

/** A word chunk for chunk c (the first pfn of a chunk is being handed out). */
function addChunk(c: u32): void {
  if (c >= dirCap) {
    let cap = dirCap < 64 ? <u32>64 : dirCap;
    while (cap <= c) cap <<= 1;
    dir = resize(dir, <usize>dirCap << 3, <usize>cap << 3);
    memory.fill(dir + (<usize>dirCap << 3), 0, <usize>(cap - dirCap) << 3);
    dirCap = cap;
  }
  store<u32>(dir + (<usize>c << 3), <u32>alloc(<usize>CHUNK << 1));
}

@inline function wordAt(pfn: u32): usize {
  return <usize>load<u32>(dir + (<usize>(pfn >>> CHUNK_SHIFT) << 3)) + (<usize>(pfn & MASK) << 1);
}

@inline function ctxChunk(pfn: u32): usize {
  return <usize>load<u32>(dir + (<usize>(pfn >>> CHUNK_SHIFT) << 3), 4);
}

@inline function countAlloc(kind: i32, d: i64): void {
  if (kind == INODE_GMEM) gmemPages += d; else anonPages += d;
}

/** A new frame for an inode of `kind`: contents 0, no flags, ctx 0. */
export function frameAlloc(kind: i32): u32 {
  let pfn: u32;
  if (stackLen != 0) {
    pfn = pop();
    let cc = ctxChunk(pfn);
    if (cc != 0) store<u32>(cc + (<usize>(pfn & MASK) << 2), 0);
  } else {
    pfn = nextPfn++;
    // A never-used pfn: its ctx word (if its chunk has them) is still 0.
    if ((pfn & MASK) == 0 || pfn == 1) addChunk(pfn >>> CHUNK_SHIFT);
  }
  store<u16>(wordAt(pfn), 0);
  countAlloc(kind, 1);
  return pfn;
}

@inline function pop(): u32 {
  if (topLen == 0) {
    // The top block is empty: it becomes the spare, the block below the top.
    if (spare != 0) free(spare, STACK_BYTES);
    spare = stack;
    stack = <usize>load<u32>(stack);
    topLen = STACK_BLOCK;
  }
  stackLen--;
  return load<u32>(stack + 8 + (<usize>(--topLen) << 2));
}

@inline function push(pfn: u32): void {
  if (stack == 0 || topLen == STACK_BLOCK) {
    let b = spare != 0 ? spare : alloc(STACK_BYTES);
    spare = 0;
    store<u32>(b, <u32>stack);
    stack = b;
    topLen = 0;
  }
  store<u32>(stack + 8 + (<usize>(topLen++) << 2), pfn);
  stackLen++;
}

/**
 * Frames for n keys at once, written as u32s at dst in the order n frameAlloc
 * calls would hand them out: popped off the stack first, then never-used pfns.
 */
export function frameAllocRun(kind: i32, dst: usize, n: i32): void {
  let fromStack = <i32>min(<u32>n, stackLen);
  for (let j = 0; j < fromStack; j++) {
    let pfn = pop();
    store<u32>(dst + (<usize>j << 2), pfn);
    let d = dir + (<usize>(pfn >>> CHUNK_SHIFT) << 3);
    store<u16>(<usize>load<u32>(d) + (<usize>(pfn & MASK) << 1), 0);
    let cc = <usize>load<u32>(d, 4);
    if (cc != 0) store<u32>(cc + (<usize>(pfn & MASK) << 2), 0);
  }
  let pfn = nextPfn;
  for (let j = fromStack; j < n; j++) {
    if ((pfn & MASK) == 0 || pfn == 1) addChunk(pfn >>> CHUNK_SHIFT);
    store<u32>(dst + (<usize>j << 2), pfn);
    // A never-used pfn: its ctx word (if its chunk has them) is still 0.
    store<u16>(wordAt(pfn), 0);
    pfn++;
  }
  nextPfn = pfn;
  countAlloc(kind, n);
}

/** Kind of the inode whose frames the next freeFrames call returns. */
let freeKind: i32 = 0;

@inline export function setFreeKind(kind: i32): void {
  freeKind = kind;
}

// ---- Pins (core-abi.ts PIN): a pin count per pfn, and frames detached from their inode while pinned ----

/** One u32 per pfn up to pinCap: pin count in the low bits, DETACHED and ANON_KIND flags above. */
let pinWords: usize = 0;
let pinCap: u32 = 0;
const PIN_COUNT: u32 = 0x3fffffff;
const PIN_DETACHED: u32 = 0x80000000;
const PIN_ANON: u32 = 0x40000000;
/** Frames with at least one pin: 0 keeps every free on its fast path. */
let pinnedFrames: u32 = 0;
/** Frames removed from their inode while pinned, not yet freed (gmem, anon). */
export let detachedGmem: i64 = 0;
export let detachedAnon: i64 = 0;

@inline function pinWord(pfn: u32): u32 {
  return pfn < pinCap ? load<u32>(pinWords + (<usize>pfn << 2)) : 0;
}

export function pinFrame(pfn: u32): void {
  if (pfn >= pinCap) {
    let cap = pinCap < 1024 ? <u32>1024 : pinCap;
    while (cap <= pfn) cap <<= 1;
    pinWords = resize(pinWords, <usize>pinCap << 2, <usize>cap << 2);
    memory.fill(pinWords + (<usize>pinCap << 2), 0, <usize>(cap - pinCap) << 2);
    pinCap = cap;
  }
  let w = load<u32>(pinWords + (<usize>pfn << 2));
  if ((w & PIN_COUNT) == 0) pinnedFrames++;
  store<u32>(pinWords + (<usize>pfn << 2), w + 1);
}

/** One pin of the frame goes; a detached frame left with none is freed. */
export function unpinFrame(pfn: u32): void {
  let w = pinWord(pfn) - 1;
  if ((w & PIN_COUNT) != 0) {
    store<u32>(pinWords + (<usize>pfn << 2), w);
    return;
  }
  pinnedFrames--;
  store<u32>(pinWords + (<usize>pfn << 2), 0);
  if (w & PIN_DETACHED) {
    let anon = (w & PIN_ANON) != 0;
    if (anon) detachedAnon--; else detachedGmem--;
    freeFrame(anon ? 1 : INODE_GMEM, pfn);
  }
}

@inline export function anyPinned(): bool {
  return pinnedFrames != 0;
}

@inline export function framePinned(pfn: u32): bool {
  return (pinWord(pfn) & PIN_COUNT) != 0;
}

/** A pinned frame leaves its inode: it stays allocated until its last unpin. */
function detach(kind: i32, pfn: u32): void {
  let p = pinWords + (<usize>pfn << 2);
  store<u32>(p, load<u32>(p) | PIN_DETACHED | (kind == INODE_GMEM ? 0 : PIN_ANON));
  if (kind == INODE_GMEM) detachedGmem++; else detachedAnon++;
}

/** Return frames to the pool in the order given (a block-map Visitor). */
export function freeFrames(pfns: usize, n: i32): void {
  if (pinnedFrames != 0) {
    for (let j = 0; j < n; j++) freeFrame(freeKind, load<u32>(pfns + (<usize>j << 2)));
    return;
  }
  for (let j = 0; j < n; j++) push(load<u32>(pfns + (<usize>j << 2)));
  countAlloc(freeKind, -(<i64>n));
  assert(gmemPages >= 0 && anonPages >= 0, "page counters went negative");
}

/** freeFrames() of one frame of an inode of `kind`. */
export function freeFrame(kind: i32, pfn: u32): void {
  if (pinnedFrames != 0 && framePinned(pfn) && !(pinWord(pfn) & PIN_DETACHED)) return detach(kind, pfn);
  push(pfn);
  countAlloc(kind, -1);
  assert(gmemPages >= 0 && anonPages >= 0, "page counters went negative");
}

/** Where pfn's byte is. */
@inline export function frameByteAddr(pfn: u32): usize {
  return wordAt(pfn);
}
@inline export function frameByte(pfn: u32): u32 {
  return load<u8>(wordAt(pfn));
}
@inline export function setFrameByte(pfn: u32, b: u32): void {
  store<u8>(wordAt(pfn), <u8>b);
}
@inline export function frameFlags(pfn: u32): u32 {
  return load<u8>(wordAt(pfn), 1);
}
@inline export function setFrameFlags(pfn: u32, f: u32): void {
  store<u8>(wordAt(pfn), <u8>f, 1);
}

/** The frame's encryption context (0 unless prepared private). */
export function frameCtx(pfn: u32): u32 {
  let cc = ctxChunk(pfn);
  return cc == 0 ? 0 : load<u32>(cc + (<usize>(pfn & MASK) << 2));
}

export function setFrameCtx(pfn: u32, ctx: u32): void {
  let cc = ctxChunk(pfn);
  if (cc == 0) {
    if (ctx == 0) return;
    cc = allocZeroed(<usize>CHUNK << 2);
    store<u32>(dir + (<usize>(pfn >>> CHUNK_SHIFT) << 3), <u32>cc, 4);
  }
  store<u32>(cc + (<usize>(pfn & MASK) << 2), ctx);
}

export function resetFrames(): void {
  dir = 0;
  dirCap = 0;
  stack = 0;
  topLen = 0;
  spare = 0;
  stackLen = 0;
  nextPfn = 1;
  gmemPages = 0;
  anonPages = 0;
  freeKind = 0;
  pinWords = 0;
  pinCap = 0;
  pinnedFrames = 0;
  detachedGmem = 0;
  detachedAnon = 0;
}
