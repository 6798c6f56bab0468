/**
 * A progress line on standard error that fits the terminal: on a terminal, one
 * line redrawn in place (a bar when there is room, shortened text when there
 * is not, never wider than the terminal, so it never wraps into a new line per
 * update); elsewhere (a file, a pipe, CI), a plain line every few seconds.
 */
import { err } from "./style.js";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** The line to draw at `columns` wide: a bar and the text, cut to columns - 1 so that the cursor never wraps. */
export function progressLine(frac: number, text: string, columns: number): string {
  const room = Math.max(1, columns - 1);
  const pct = `${(Math.min(1, Math.max(0, frac)) * 100).toFixed(0).padStart(3)}%`;
  // A bar only when it leaves at least 20 columns of text.
  const bar = Math.min(30, room - pct.length - 24);
  let line: string;
  if (bar >= 8) {
    const done = Math.round(Math.min(1, Math.max(0, frac)) * bar);
    line = `[${"#".repeat(done)}${".".repeat(bar - done)}] ${pct} ${text}`;
  } else line = `${pct} ${text}`;
  return line.length > room ? line.slice(0, room - 1) + "…" : line;
}

/** A line redrawn in place on a terminal: the line cleared, then the text cut to the terminal's width. */
export function redraw(text: string, stream: NodeJS.WriteStream = process.stderr): string {
  const room = Math.max(1, (stream.columns || 80) - 1);
  return `\r\x1b[2K${text.length > room ? text.slice(0, room - 1) + "…" : text}`;
}

export class Progress {
  private last = 0;
  private readonly tty: boolean;
  private readonly t0 = performance.now();
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly seconds: number | undefined,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }
  update(ops: number, traces: number, final = false): void {
    const now = performance.now();
    if (!final && now - this.last < (this.tty ? 150 : 5000)) return;
    this.last = now;
    const s = (now - this.t0) / 1000;
    const frac = this.seconds !== undefined ? Math.min(1, s / this.seconds) : Math.min(1, ops / this.total);
    const text = `${this.label}: ${fmt(ops)} ops, ${fmt(traces)} traces, ${fmt(ops / Math.max(s, 1e-9))} ops/s, ${s.toFixed(1)} s`;
    if (this.tty) {
      // Read the width at every update: the terminal may be resized during a run.
      const line = progressLine(frac, text, this.stream.columns || 80);
      this.stream.write(`\r\x1b[2K${final ? line : err.cyan(line)}${final ? "\n" : ""}`);
    } else this.stream.write(`${text}\n`);
  }
  get elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }
}
