/**
 * The donations of each donor file, by window, for property 3 (donation is
 * final): the donations whose window overlaps a range are found by a binary
 * search among the file's windows, not by a look at every donation it made,
 * so that a fallocate, an SPTE or an unblocked range is checked in time that
 * does not grow with the windows the file donated (a trace of 16,000
 * one-page donations, each with a fallocate by the donor, took 3.4 s to check
 * with the scan). Answers come in the order the donations were made, the
 * order of the violations they give.
 */
import { BlockList } from "../sorted.js";

/** A window of `inode` (pages) that file `donor` of `vm` gave away by gmem_link(donate), read from the history (history.ts). */
export interface Donation {
  readonly donor: number;
  readonly vm: number;
  readonly inode: number;
  readonly window: readonly [number, number];
}

interface Entry {
  readonly d: Donation;
  /** Its place in the order donations were made. */
  readonly seq: number;
}

const windowStart = (x: Entry) => x.d.window[0];

/** One donor file's donations, ascending by window start. */
interface Windows {
  readonly byStart: BlockList<Entry>;
  /** The longest window: one that overlaps [s, e) starts after s minus its length, so after s minus this. */
  longest: number;
}

const NONE: readonly Donation[] = Object.freeze([]);

export class DonationIndex {
  private readonly files = new Map<number, Windows>();
  private seq = 0;

  /** How many donor files have donated (0: property 3 has nothing to look at). */
  get donors(): number {
    return this.files.size;
  }

  add(d: Donation): void {
    let w = this.files.get(d.donor);
    if (!w) this.files.set(d.donor, (w = { byStart: new BlockList<Entry>(), longest: 0 }));
    w.byStart.insertSorted({ d, seq: this.seq++ }, windowStart);
    w.longest = Math.max(w.longest, d.window[1] - d.window[0]);
  }

  /** The donations of donor file `file` whose window overlaps [s, e) (s < end and start < e), in the order they were made. */
  over(file: number, s: number, e: number): readonly Donation[] {
    const w = this.files.get(file);
    if (!w) return NONE;
    const list = w.byStart;
    let found: Entry[] | null = null;
    for (let i = list.lowerBound(s - w.longest, windowStart); i < list.length; i++) {
      const x = list.at(i)!;
      if (x.d.window[0] >= e) break;
      if (s < x.d.window[1]) (found ??= []).push(x);
    }
    if (!found) return NONE;
    if (found.length > 1) found.sort((a, b) => a.seq - b.seq);
    return found.map((x) => x.d);
  }
}
