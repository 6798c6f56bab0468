/**
 * Result bytes to standard output in constant memory, however slowly it is
 * read. A write to a pipe is asynchronous (Node's "A note on process I/O"):
 * the bytes must stay as they are until it is done, and a piece the replay
 * lends (a view of a buffer it reuses) would be overwritten first. So each
 * piece is copied into a buffer of a small pool, taken back when its write is
 * done (no fresh memory per piece), and a full pipe is waited for ('drain')
 * before the replay makes more.
 */
import { once } from "node:events";

export class StdoutBytes {
  private readonly free: Uint8Array[] = [];

  async write(piece: Uint8Array): Promise<void> {
    if (piece.length === 0) return;
    let buf = this.free.pop();
    if (buf === undefined || buf.length < piece.length) buf = new Uint8Array(Math.max(piece.length, 1 << 16));
    buf.set(piece);
    const held = buf;
    if (!process.stdout.write(held.subarray(0, piece.length), () => this.free.push(held))) await once(process.stdout, "drain");
  }

  /** Strings (the text output and checked replays), with the same wait for a full pipe. */
  async text(s: string): Promise<void> {
    if (s.length > 0 && !process.stdout.write(s)) await once(process.stdout, "drain");
  }
}
