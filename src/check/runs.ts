/**
 * An inode's PRIVATE runs as the checker keeps them: [start, end) runs,
 * ascending, none overlapping or touching the next (as the core lists them,
 * core-abi.ts SNAP_ATTR), in blocks of at most BLOCK runs. A conversion
 * replaces the runs around its range (CHG_ATTRS); in one flat array that
 * shifted every run after them, so a guest that had cut its memory into
 * 64,000 runs paid ~90 us of checking per conversion against ~4 us of running
 * it. Here a replacement costs a search over the blocks, the runs it replaces
 * and two blocks' worth of copying.
 */
import { lowerBound } from "../sorted.js";

export type Run = [number, number];

const BLOCK = 256;

export class RunList {
  /** Non-empty blocks, in order. */
  private blocks: Run[][] = [];
  private count = 0;

  /** `block`: the most runs a block holds (tests make it small, to have many blocks). */
  constructor(private readonly block = BLOCK) {}

  static from(runs: readonly Run[], block = BLOCK): RunList {
    const r = new RunList(block);
    for (let k = 0; k < runs.length; k += block) r.blocks.push(runs.slice(k, k + block));
    r.count = runs.length;
    return r;
  }

  /** How many blocks hold the runs (for tests: they must stay few). */
  get blockCount(): number {
    return this.blocks.length;
  }

  get size(): number {
    return this.count;
  }

  toArray(): Run[] {
    return this.blocks.flat();
  }

  *[Symbol.iterator](): IterableIterator<Run> {
    for (const b of this.blocks) yield* b;
  }

  /** Whether a run holds x. */
  has(x: number): boolean {
    const bi = lowerBound(this.blocks, x + 1, lastEnd);
    if (bi === this.blocks.length) return false;
    const b = this.blocks[bi];
    return b[lowerBound(b, x + 1, runEnd)][0] <= x;
  }

  /**
   * Replaces the runs that overlap or touch [start, end) by `now` (ascending, and placed where those were: the
   * runs of the same set after a change inside [start, end), as CHG_ATTRS gives them); returns the runs replaced.
   */
  replaceAround(start: number, end: number, now: readonly Run[]): Run[] {
    const blocks = this.blocks;
    let bi = lowerBound(blocks, start, lastEnd);
    if (bi === blocks.length) {
      // Every run ends before start: `now` goes after them, into the last block.
      if (now.length === 0) return [];
      bi = Math.max(0, blocks.length - 1);
      if (blocks.length === 0) blocks.push([]);
    }
    const first = blocks[bi];
    const k0 = lowerBound(first, start, runEnd);
    // The replaced runs: from run k0 of block bi on, while they start at or before end (they may reach into later blocks).
    const before: Run[] = [];
    let bj = bi;
    let k1 = k0;
    for (;;) {
      const b = blocks[bj];
      while (k1 < b.length && b[k1][0] <= end) before.push(b[k1++]);
      if (k1 < b.length || bj + 1 === blocks.length || blocks[bj + 1][0][0] > end) break;
      bj++;
      k1 = 0;
    }
    let merged = [...first.slice(0, k0), ...now, ...blocks[bj].slice(k1)];
    // As a B-tree keeps its leaves: what is left under half a block takes in its neighbours, and what is over a
    // block splits evenly, so that every block made holds at least half a block (when there are that many runs)
    // and blocks stay few (each replacement splices the list of blocks).
    const half = this.block >> 1;
    if (merged.length < half && bj + 1 < blocks.length) merged.push(...blocks[++bj]);
    if (merged.length < half && bi > 0) merged = [...blocks[--bi], ...merged];
    const parts: Run[][] = [];
    const n = Math.ceil(merged.length / this.block);
    for (let k = 0; k < n; k++) parts.push(merged.slice(Math.floor((k * merged.length) / n), Math.floor(((k + 1) * merged.length) / n)));
    blocks.splice(bi, bj - bi + 1, ...parts);
    this.count += now.length - before.length;
    return before;
  }
}

/** Ends: runs are searched by where they end (the first to overlap or touch a span is the first that ends at or after its start). */
const runEnd = (r: Run) => r[1];
const lastEnd = (b: Run[]) => b[b.length - 1][1];
