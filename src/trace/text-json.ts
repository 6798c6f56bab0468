/**
 * A JSONL trace's replay as its result lines in UTF-8, each ending in a
 * newline (`replay --json`): the bytes replayBinaryJson() gives for the
 * trace's binary form, chunk by chunk, so that both forms end where a
 * replay's output does, in bytes.
 *
 * Each piece yielded is the caller's to keep, unless `lend` is true: then it
 * is a view of one buffer this replay reuses, valid only until the next
 * piece is asked for (as replayBinaryJson() lends the core's buffer).
 */
import { replayPieces, replayText, Replayer, type LineRecord } from "./replay.js";
import { resultJson } from "./result-json.js";
import type { Host } from "../kvm/host.js";

const encoder = new TextEncoder();

export function* replayTextJson(host: Host, text: string, chunk = 4096, rp = new Replayer(host), lend = false): Generator<Uint8Array> {
  const out = new LineBytes(lend);
  for (const batch of replayText(host, text, chunk, rp)) yield out.of(batch);
}

/** replayTextJson() over the trace's lines as they arrive (replayPieces()). */
export async function* replayTextJsonStream(host: Host, pieces: AsyncIterable<string[]>, chunk = 4096, rp = new Replayer(host), lend = false): AsyncGenerator<Uint8Array> {
  const out = new LineBytes(lend);
  for await (const batch of replayPieces(host, pieces, chunk, rp)) yield out.of(batch);
}

/** A chunk's result lines as bytes: a fresh array each, or views of one buffer grown to the longest chunk (lent). */
export class LineBytes {
  private buf = new Uint8Array(0);
  constructor(private readonly lend: boolean) {}

  of(batch: LineRecord[]): Uint8Array {
    let s = "";
    for (let k = 0; k < batch.length; k++) s += resultJson(batch[k]) + "\n";
    if (!this.lend) return encoder.encode(s);
    // A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4).
    if (this.buf.length < 3 * s.length) this.buf = new Uint8Array(Math.max(3 * s.length, 2 * this.buf.length));
    return this.buf.subarray(0, encoder.encodeInto(s, this.buf).written);
  }
}
