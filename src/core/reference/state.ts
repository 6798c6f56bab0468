/**
 * The reference model's state: plain maps, one per kernel object, so that each
 * rule of core-abi.ts reads as a few obvious lines. Nothing here is tuned for
 * speed; it is the oracle the WebAssembly engine is checked against.
 */
import { BigMap } from "./bigmap.js";

export interface RefFrame {
  byte: number;
  flags: number;
  /** The encryption context the page was prepared private under (0: not prepared). */
  ctx: number;
}

export interface RefInode {
  npages: number;
  kind: number;
  gmemFlags: number;
  /** pgoff -> pfn */
  pages: BigMap<number>;
  /** file ids in creation order */
  files: number[];
  /** host map ids */
  maps: number[];
  /** pgoff runs whose attribute is PRIVATE, sorted and merged (the inode's attribute map). */
  priv: Array<[number, number]>;
}

export interface RefBinding {
  pgoff: number;
  npages: number;
  slot: number;
}

export interface RefFile {
  inode: number;
  vm: number;
  rights: number;
  /** What a fault does on a page prepared under another context (FOREIGN_*). */
  foreign: number;
  bindings: RefBinding[];
  /** Donated windows: pgoff ranges unreachable through this file, sorted and merged. */
  blocked: Array<[number, number]>;
}

export interface RefSlot {
  slot: number;
  base: number;
  npages: number;
  flags: number;
  file: number;
  pgoff: number;
  uaddr: number;
}

export interface RefSpte {
  pfn: number;
  rights: number;
}

export interface RefVm {
  slots: Map<number, RefSlot>;
  sptes: BigMap<RefSpte>;
  faults: number;
  zaps: number;
  exits: number;
  ctx: number;
}

export interface RefMap {
  hva: number;
  npages: number;
  inode: number;
  pgoff: number;
  rights: number;
  /** The gmem file the map goes through, or -1. */
  file: number;
  /** A private map's anon inode of copied pages, by page of the map (HOSTMAP_COW), or -1. */
  cow: number;
}

export class RefState {
  frames = new BigMap<RefFrame>();
  freeStack: number[] = [];
  nextPfn = 1;
  gmemPages = 0;
  anonPages = 0;
  inodes = new Map<number, RefInode>();
  files = new Map<number, RefFile>();
  vms = new Map<number, RefVm>();
  maps = new Map<number, RefMap>();
  /** Pin count per pfn (PIN), and the frames removed from their inode while pinned: pfn -> inode kind. */
  pinCount = new Map<number, number>();
  detached = new Map<number, number>();
  /** pin id -> its frames, in the order pinned. */
  pins = new Map<number, number[]>();
}

/** Removes [start, end) from sorted, merged ranges. */
export function removeRange(ranges: Array<[number, number]>, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [s, e] of ranges) {
    if (e <= start || s >= end) out.push([s, e]);
    else {
      if (s < start) out.push([s, start]);
      if (e > end) out.push([end, e]);
    }
  }
  return out;
}

/** Overlap of [a, b) and [c, d), or null. */
export function overlap(a: number, b: number, c: number, d: number): [number, number] | null {
  const s = Math.max(a, c);
  const e = Math.min(b, d);
  return s < e ? [s, e] : null;
}

export function ascending(keys: Iterable<number>): number[] {
  const a = [...keys];
  // Keys mostly come in order already (ids are made ascending, pages often allocated so): a pass, then a sort only if not.
  for (let i = 1; i < a.length; i++) if (a[i - 1] > a[i]) return sortNumbers(a);
  return a;
}

/**
 * Sorts integers ascending in place, through a Float64Array's sort: a numeric sort in the engine, where
 * Array.prototype.sort calls a comparator per comparison (keys here are integers: no NaN, no -0).
 */
function sortNumbers(a: number[]): number[] {
  const n = a.length;
  // One scratch buffer for every sort (a new typed array would cost a backing store per call).
  if (n > SORT_SCRATCH.length) SORT_SCRATCH = new Float64Array(Math.max(n, 2 * SORT_SCRATCH.length));
  const t = SORT_SCRATCH.subarray(0, n);
  for (let i = 0; i < n; i++) t[i] = a[i];
  t.sort();
  for (let i = 0; i < n; i++) a[i] = t[i];
  if (SORT_SCRATCH.length > 1 << 16) SORT_SCRATCH = new Float64Array(1024);
  return a;
}
let SORT_SCRATCH = new Float64Array(1024);

export function inRanges(ranges: Array<[number, number]>, x: number): boolean {
  return ranges.some(([s, e]) => x >= s && x < e);
}

/** Adds [start, end) to sorted, merged ranges. */
export function addRange(ranges: Array<[number, number]>, start: number, end: number): Array<[number, number]> {
  const all = [...ranges, [start, end] as [number, number]].sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of all) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}
