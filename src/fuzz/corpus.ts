/**
 * The corpus of a coverage-guided run: the traces that reached a coverage key
 * no earlier trace had reached, newest last. Bounded: past its size the oldest
 * entries give way, so mutation works on what was found recently.
 */
import type { Trace } from "./mutate.js";

export class Corpus {
  private readonly entries: Trace[] = [];
  constructor(private readonly max = 512) {}

  add(trace: Trace): void {
    this.entries.push(trace);
    if (this.entries.length > this.max) this.entries.shift();
  }

  get size(): number {
    return this.entries.length;
  }

  /** An entry by a random number in [0, 1); later (newer) entries a little more often. */
  pick(u: number): Trace {
    const k = Math.floor(Math.sqrt(u) * this.entries.length);
    return this.entries[Math.min(k, this.entries.length - 1)];
  }
}
