/**
 * The host's page frames: the buddy allocator's part in the model, reduced to
 * what the contract numbers. Each pfn has one u16 word, contents byte in the
 * low half (a page is modelled as one fill byte) and page flags (PG_*) in the
 * high half, in a pfn-indexed array that doubles when a new pfn passes its end.
 * Free pfns go on a LIFO stack: the contract makes reuse order observable.
 */
import { INODE_GMEM } from "../src/abi/core-abi";
import { resize } from "./alloc";

let words: usize = 0;
let wordsCap: u32 = 0;
let stack: usize = 0;
let stackCap: u32 = 0;
export let stackLen: u32 = 0;
/** The next never-used pfn (pfn 0 is never handed out). */
export let nextPfn: u32 = 1;
export let gmemPages: i64 = 0;
export let anonPages: i64 = 0;

function growWords(need: u32): void {
  let cap = wordsCap < 1024 ? <u32>1024 : wordsCap;
  while (cap <= need) cap <<= 1;
  words = resize(words, <usize>wordsCap << 1, <usize>cap << 1);
  wordsCap = cap;
}

@inline function countAlloc(kind: i32, d: i64): void {
  if (kind == INODE_GMEM) gmemPages += d; else anonPages += d;
}

/** A new frame for an inode of `kind`: contents 0, no flags. */
export function frameAlloc(kind: i32): u32 {
  let pfn: u32;
  if (stackLen != 0) {
    pfn = load<u32>(stack + (<usize>(--stackLen) << 2));
  } else {
    pfn = nextPfn++;
    if (pfn >= wordsCap) growWords(pfn);
  }
  store<u16>(words + (<usize>pfn << 1), 0);
  countAlloc(kind, 1);
  return pfn;
}

/** Kind of the inode whose frames the next freeFrames call returns. */
let freeKind: i32 = 0;

@inline export function setFreeKind(kind: i32): void {
  freeKind = kind;
}

/** Return frames to the pool in the order given (a btree Visitor). */
export function freeFrames(pfns: usize, n: i32): void {
  if (stackLen + <u32>n > stackCap) {
    let cap = stackCap < 1024 ? <u32>1024 : stackCap;
    while (cap < stackLen + <u32>n) cap <<= 1;
    stack = resize(stack, <usize>stackCap << 2, <usize>cap << 2);
    stackCap = cap;
  }
  memory.copy(stack + (<usize>stackLen << 2), pfns, <usize>n << 2);
  stackLen += <u32>n;
  countAlloc(freeKind, -(<i64>n));
  assert(gmemPages >= 0 && anonPages >= 0, "page counters went negative");
}

@inline export function frameByte(pfn: u32): u32 {
  return load<u8>(words + (<usize>pfn << 1));
}
@inline export function setFrameByte(pfn: u32, b: u32): void {
  store<u8>(words + (<usize>pfn << 1), <u8>b);
}
@inline export function frameFlags(pfn: u32): u32 {
  return load<u8>(words + (<usize>pfn << 1), 1);
}
@inline export function setFrameFlags(pfn: u32, f: u32): void {
  store<u8>(words + (<usize>pfn << 1), <u8>f, 1);
}
