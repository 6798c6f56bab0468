/**
 * Runs of pages as the checker keeps them, an inode's PRIVATE runs and a
 * file's blocked ranges: [start, end) runs, ascending, none overlapping or
 * touching the next (as the core lists them, core-abi.ts SNAP_ATTR and the
 * file record's blocked ranges), in a BlockList (src/sorted.ts). A conversion
 * replaces the runs around its range (CHG_ATTRS); in one flat array that
 * shifted every run after them, so a guest that had cut its memory into
 * 64,000 runs paid ~90 us of checking per conversion against ~4 us of running
 * it. Here a replacement costs a search, and for each run it takes out or puts
 * in, a shift within one block.
 */
import { BlockList } from "../sorted.js";

export type Run = [number, number];

const BLOCK = 256;

export class RunList implements Iterable<Run> {
  private readonly runs: BlockList<Run>;

  /** `block`: the most runs a block holds (tests make it small, to have many blocks). */
  constructor(block = BLOCK, runs: readonly Run[] = []) {
    this.runs = new BlockList(runs, block);
  }

  static from(runs: readonly Run[], block = BLOCK): RunList {
    return new RunList(block, runs);
  }

  /** How many blocks hold the runs (for tests: they must stay few). */
  get blockCount(): number {
    return this.runs.blockCount;
  }

  get size(): number {
    return this.runs.length;
  }

  toArray(): Run[] {
    return this.runs.toArray();
  }

  [Symbol.iterator](): IterableIterator<Run> {
    return this.runs[Symbol.iterator]();
  }

  /** The run that holds x, if any. */
  runAt(x: number): Run | undefined {
    const r = this.runs.at(this.runs.lowerBound(x + 1, runEnd));
    return r !== undefined && r[0] <= x ? r : undefined;
  }

  /** Whether a run holds x. */
  has(x: number): boolean {
    return this.runAt(x) !== undefined;
  }

  /**
   * Replaces the runs that overlap or touch [start, end) by `now` (ascending, and placed where those were: the
   * runs of the same set after a change inside [start, end), as CHG_ATTRS and CHG_BLOCKED give them); returns the
   * runs replaced.
   */
  replaceAround(start: number, end: number, now: readonly Run[]): Run[] {
    const runs = this.runs;
    // The first to overlap or touch [start, end) is the first that ends at or after start.
    const i = runs.lowerBound(start, runEnd);
    const before: Run[] = [];
    while (i < runs.length && runs.at(i)![0] <= end) before.push(runs.removeAt(i));
    for (let k = 0; k < now.length; k++) runs.insertAt(i + k, now[k]);
    return before;
  }
}

const runEnd = (r: Run) => r[1];
