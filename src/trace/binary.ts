/**
 * The binary trace format (an extension): a JSONL trace (SPEC §5) in a compact
 * form that converts back to the same text, byte for byte, and replays without
 * parsing JSON for the hot ops.
 *
 * Layout. The 8 bytes "GMEMSIMB", a version byte (1), a flags byte (bit 0:
 * the text ended with a newline), then one record per line of the text, in
 * order. A record is a tag byte and its fields; integers are unsigned LEB128
 * varints (at most 2^53 - 1), names are indexes into the table NAME records
 * build as they come (the first NAME is index 0):
 *
 *   tag  record      fields                      the line it stands for
 *   0    TEXT        len, len bytes of UTF-8     that line, verbatim
 *   1    NAME        len, len bytes of UTF-8     (no line: defines the next name index)
 *   2    READ        vm, gpa                     {"op":"vcpu_access","vm":VM,"gpa":GPA,"access":"read"}
 *   3    WRITE       vm, gpa, value byte         {"op":"vcpu_access","vm":VM,"gpa":GPA,"access":"write","value":V}
 *   4    EXEC        vm, gpa                     {"op":"vcpu_access","vm":VM,"gpa":GPA,"access":"exec"}
 *   5    FALLOCATE   fd, mode form, offset, len  {"op":"fallocate","fd":FD,"mode":M,"offset":O,"len":L}
 *   6    LOAD        map, offset                 {"op":"load","map":MAP,"offset":O}
 *   7    STORE       map, offset, value byte     {"op":"store","map":MAP,"offset":O,"value":V}
 *
 * A fallocate's mode form is a byte: 0 for `1`, 1 for `"KEEP_SIZE"`, 2 for
 * `3`, 3 for `["KEEP_SIZE","PUNCH_HOLE"]`. A line becomes a compact record
 * only when it is exactly the text shown (JSON.stringify of those keys in that
 * order, numbers as plain integers): every other line, comments, blank lines
 * and lines with `expect` included, is a TEXT record. So the conversion back
 * is exact by construction.
 *
 * Replaying (src/trace/binary-replay.ts) runs a compact record with the same
 * kernel-layer checks as its line would get (through the typed tier's paths,
 * src/api/typed.ts); where a name does not resolve to a live object of the
 * right kind, the record's line is rebuilt and replayed as text, so every
 * answer is the text's. This file holds the format: writing, and a reader
 * that takes the bytes as they arrive.
 */

const MAGIC = "GMEMSIMB";
const VERSION = 1;

// The tags are the ABI's too: the core reads compact records (core-abi.ts "Binary replay").
export { BIN_REC_TEXT as R_TEXT, BIN_REC_NAME as R_NAME, BIN_REC_READ as R_READ, BIN_REC_WRITE as R_WRITE, BIN_REC_EXEC as R_EXEC, BIN_REC_FALLOCATE as R_FALLOCATE, BIN_REC_LOAD as R_LOAD, BIN_REC_STORE as R_STORE } from "../abi/core-abi.js";
import { BIN_REC_LONGEST, BIN_REC_TEXT as R_TEXT, BIN_REC_NAME as R_NAME, BIN_REC_READ as R_READ, BIN_REC_WRITE as R_WRITE, BIN_REC_EXEC as R_EXEC, BIN_REC_FALLOCATE as R_FALLOCATE, BIN_REC_LOAD as R_LOAD, BIN_REC_STORE as R_STORE } from "../abi/core-abi.js";

const MODE_FORMS: readonly unknown[] = [1, "KEEP_SIZE", 3, ["KEEP_SIZE", "PUNCH_HOLE"]];
const MODE_TEXT = MODE_FORMS.map((m) => JSON.stringify(m));
const ACCESS_NAME = ["read", "write", "exec"] as const;

/** Whether bytes start with the binary trace magic. */
export function isBinaryTrace(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC.length + 2) return false;
  for (let k = 0; k < MAGIC.length; k++) if (bytes[k] !== MAGIC.charCodeAt(k)) return false;
  return true;
}

// ---- writing ----

export class Writer {
  private buf = new Uint8Array(1 << 16);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }
  byte(x: number): void {
    this.room(1);
    this.buf[this.length++] = x;
  }
  varint(x: number): void {
    this.room(8);
    while (x >= 0x80) {
      this.buf[this.length++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.length++] = x;
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.raw(b);
  }
  /** Bytes as they are (no length before them). */
  raw(b: Uint8Array): void {
    this.room(b.length);
    if (b.length < 16) for (let k = 0; k < b.length; k++) this.buf[this.length + k] = b[k];
    else this.buf.set(b, this.length);
    this.length += b.length;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export const encoder = new TextEncoder();
const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
const isByte = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 255;

/** JSONL text to the binary format. */
export function encodeTrace(text: string): Uint8Array {
  const w = new Writer();
  for (let k = 0; k < MAGIC.length; k++) w.byte(MAGIC.charCodeAt(k));
  w.byte(VERSION);
  const endsWithNewline = text.endsWith("\n");
  w.byte(endsWithNewline ? 1 : 0);
  const lines = text.split("\n");
  if (endsWithNewline) lines.pop();
  const names = new Map<string, number>();
  const name = (s: string): number => {
    let n = names.get(s);
    if (n === undefined) {
      n = names.size;
      names.set(s, n);
      w.byte(R_NAME);
      w.bytes(encoder.encode(s));
    }
    return n;
  };
  for (const line of lines) {
    const c = compact(line);
    if (!c) {
      w.byte(R_TEXT);
      w.bytes(encoder.encode(line));
      continue;
    }
    const n = name(c.name);
    w.byte(c.tag);
    w.varint(n);
    w.varint(c.a);
    if (c.tag === R_FALLOCATE) {
      w.byte(c.form);
      w.varint(c.b);
    } else if (c.tag === R_WRITE || c.tag === R_STORE) w.byte(c.b);
  }
  return w.done();
}

interface Compact {
  tag: number;
  name: string;
  a: number;
  b: number;
  form: number;
}

/** The compact record a line is exactly, or null. */
function compact(line: string): Compact | null {
  if (!line.startsWith('{"op":"')) return null;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  let c: Compact | null = null;
  if (o.op === "vcpu_access" && typeof o.vm === "string" && isCount(o.gpa)) {
    const tag = o.access === "read" ? R_READ : o.access === "write" ? R_WRITE : o.access === "exec" ? R_EXEC : -1;
    if (tag === R_WRITE && isByte(o.value)) c = { tag, name: o.vm, a: o.gpa, b: o.value, form: 0 };
    else if (tag === R_READ || tag === R_EXEC) c = { tag, name: o.vm, a: o.gpa, b: 0, form: 0 };
  } else if (o.op === "fallocate" && typeof o.fd === "string" && isCount(o.offset) && isCount(o.len)) {
    const form = MODE_TEXT.indexOf(JSON.stringify(o.mode));
    if (form >= 0) c = { tag: R_FALLOCATE, name: o.fd, a: o.offset, b: o.len, form };
  } else if ((o.op === "load" || o.op === "store") && typeof o.map === "string" && isCount(o.offset)) {
    if (o.op === "load") c = { tag: R_LOAD, name: o.map, a: o.offset, b: 0, form: 0 };
    else if (isByte(o.value)) c = { tag: R_STORE, name: o.map, a: o.offset, b: o.value, form: 0 };
  }
  return c && lineOf(c.tag, c.name, c.a, c.b, c.form) === line ? c : null;
}

/** The exact line a compact record stands for. */
function lineOf(tag: number, name: string, a: number, b: number, form: number): string {
  const n = JSON.stringify(name);
  switch (tag) {
    case R_READ:
    case R_EXEC:
      return `{"op":"vcpu_access","vm":${n},"gpa":${a},"access":"${ACCESS_NAME[tag - R_READ]}"}`;
    case R_WRITE:
      return `{"op":"vcpu_access","vm":${n},"gpa":${a},"access":"write","value":${b}}`;
    case R_FALLOCATE:
      return `{"op":"fallocate","fd":${n},"mode":${MODE_TEXT[form]},"offset":${a},"len":${b}}`;
    case R_LOAD:
      return `{"op":"load","map":${n},"offset":${a}}`;
    default:
      return `{"op":"store","map":${n},"offset":${a},"value":${b}}`;
  }
}

// ---- reading ----

/** A decoded record: a line of text, or a compact record with its fields. */
export interface Rec {
  tag: number;
  text: string;
  name: number;
  a: number;
  b: number;
  form: number;
}

/** A binary trace that cannot be read (damaged, cut short, another version): the sentence says what and at which byte. */
export class BinaryTraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BinaryTraceError";
  }
}

/** What Reader.next() answers when the record in hand runs past the bytes fed so far: feed more, then ask again. */
export const MORE: Rec = Object.freeze({ tag: -1, text: "", name: 0, a: 0, b: 0, form: 0 });
/** Thrown inside the reader at the end of the bytes fed (not of the trace): caught by next(). */
const SHORT = new Error("short");

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a binary trace's records as its bytes arrive, in memory that holds
 * only what is not yet read: feed() the pieces as they come, finish() at the
 * end. Positions are offsets in the whole trace.
 */
export class Reader {
  /** The offset of the next record. */
  pos = 0;
  /** The offset of the record next() last gave (past the NAME records taken before it). */
  lineStart = 0;
  readonly names: string[] = [];
  endsWithNewline = false;
  /** The bytes from `start` to `end` (offsets in the trace). */
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  end = 0;
  /** No more bytes will come. */
  eof = false;
  private header = false;
  /** buf is a caller's array (fed whole): never written. */
  private borrowed = false;

  /** A whole trace's reader. */
  static of(bytes: Uint8Array): Reader {
    const rd = new Reader();
    rd.feed(bytes);
    rd.finish();
    return rd;
  }

  feed(piece: Uint8Array): void {
    const keep = this.end - this.pos;
    if (keep === 0 && !this.borrowed && this.buf.length < piece.length) {
      // Nothing left to keep: the piece itself, unless later pieces can go after it in a buffer of ours.
      this.buf = piece;
      this.borrowed = true;
    } else {
      const from = this.pos - this.start;
      let nb = this.buf;
      if (this.borrowed || keep + piece.length > nb.length) nb = new Uint8Array(Math.max(keep + piece.length, 2 * nb.length, 1 << 16));
      if (nb === this.buf) nb.copyWithin(0, from, from + keep);
      else nb.set(this.buf.subarray(from, from + keep), 0);
      nb.set(piece, keep);
      this.buf = nb;
      this.borrowed = false;
    }
    this.start = this.pos;
    this.end = this.pos + keep + piece.length;
  }

  finish(): void {
    this.eof = true;
  }

  /** Bytes held now (what is not yet read, in a buffer that may be larger). */
  get held(): number {
    return this.buf.length;
  }

  /** Bytes [at, at + n) of the trace, as far as they are here (a view, valid until the next feed). */
  view(at: number, n: number): Uint8Array {
    return this.buf.subarray(at - this.start, Math.min(this.end, at + n) - this.start);
  }

  private fail(why: string): never {
    throw new BinaryTraceError(`binary trace: ${why} at byte ${this.pos}`);
  }
  private byte(): number {
    if (this.pos >= this.end) {
      if (!this.eof) throw SHORT;
      this.fail("unexpected end");
    }
    return this.buf[this.pos++ - this.start];
  }
  private varint(): number {
    let x = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      x += (b & 0x7f) * scale;
      if (!(b & 0x80)) break;
      scale *= 0x80;
      if (scale > 2 ** 53) this.fail("a varint past 2^53");
    }
    if (!Number.isSafeInteger(x)) this.fail("a varint past 2^53");
    return x;
  }
  private string(): string {
    const n = this.varint();
    if (this.pos + n > this.end) {
      if (!this.eof) throw SHORT;
      this.fail("unexpected end");
    }
    const s = decoder.decode(this.buf.subarray(this.pos - this.start, this.pos - this.start + n));
    this.pos += n;
    return s;
  }
  /** The magic, version and flags: false until they are all here. */
  private readHeader(): boolean {
    const n = MAGIC.length + 2;
    if (this.end - this.start < n && !this.eof) return false;
    const head = this.buf.subarray(0, n);
    if (!isBinaryTrace(head)) throw new BinaryTraceError("not a gmemsim binary trace (no GMEMSIMB header)");
    if (head[MAGIC.length] !== VERSION) throw new BinaryTraceError(`binary trace version ${head[MAGIC.length]} is not ${VERSION}`);
    this.endsWithNewline = (head[MAGIC.length + 1] & 1) !== 0;
    this.pos = n;
    this.header = true;
    return true;
  }
  /**
   * The next record that stands for a line (NAME records are taken in passing),
   * null at the end of the trace, or MORE when it runs past the bytes fed so
   * far (nothing is then taken). A compact record with a one-byte name and
   * varints of at most 7 bytes (below 2^49: no check of 2^53 needed) is read
   * here, away from the end of the bytes; any other goes the checked way.
   */
  next(out: Rec): Rec | null {
    if (!this.header && !this.readHeader()) return MORE;
    const buf = this.buf;
    const o = this.start;
    let p = this.pos;
    if (p + BIN_REC_LONGEST > this.end) return this.nextChecked(out);
    const tag = buf[p - o];
    const name = buf[p - o + 1];
    if (tag < R_READ || tag > R_STORE || name >= 0x80 || name >= this.names.length) return this.nextChecked(out);
    const at = p;
    p += 2;
    let a = 0;
    let scale = 1;
    let x = 0;
    for (let k = 0; k < 7; k++) {
      x = buf[p++ - o];
      a += (x & 0x7f) * scale;
      if (!(x & 0x80)) break;
      scale *= 0x80;
    }
    if (x & 0x80) return this.nextChecked(out);
    let form = 0;
    let b = 0;
    if (tag === R_FALLOCATE) {
      form = buf[p++ - o];
      if (form >= MODE_FORMS.length) return this.nextChecked(out);
      scale = 1;
      for (let k = 0; k < 7; k++) {
        x = buf[p++ - o];
        b += (x & 0x7f) * scale;
        if (!(x & 0x80)) break;
        scale *= 0x80;
      }
      if (x & 0x80) return this.nextChecked(out);
    } else if (tag === R_WRITE || tag === R_STORE) b = buf[p++ - o];
    out.tag = tag;
    out.name = name;
    out.a = a;
    out.b = b;
    out.form = form;
    this.lineStart = at;
    this.pos = p;
    return out;
  }

  private nextChecked(out: Rec): Rec | null {
    const at = this.pos;
    const names = this.names.length;
    try {
      return this.record(out);
    } catch (e) {
      if (e !== SHORT) throw e;
      // Taken again, NAME records and all, once the rest is here.
      this.pos = at;
      this.names.length = names;
      return MORE;
    }
  }

  private record(out: Rec): Rec | null {
    for (;;) {
      if (this.pos >= this.end) {
        if (!this.eof) throw SHORT;
        return null;
      }
      const at = this.pos;
      const tag = this.byte();
      if (tag === R_NAME) {
        this.names.push(this.string());
        continue;
      }
      this.lineStart = at;
      out.tag = tag;
      if (tag === R_TEXT) {
        out.text = this.string();
        return out;
      }
      if (tag > R_STORE) this.fail(`unknown record tag ${tag}`);
      out.name = this.varint();
      if (out.name >= this.names.length) this.fail(`name index ${out.name} not yet defined`);
      out.a = this.varint();
      out.form = 0;
      out.b = 0;
      if (tag === R_FALLOCATE) {
        out.form = this.byte();
        if (out.form >= MODE_FORMS.length) this.fail(`unknown mode form ${out.form}`);
        out.b = this.varint();
      } else if (tag === R_WRITE || tag === R_STORE) out.b = this.byte();
      return out;
    }
  }

  line(r: Rec): string {
    return r.tag === R_TEXT ? r.text : lineOf(r.tag, this.names[r.name], r.a, r.b, r.form);
  }
}

/** How many of a binary trace's lines are compact records (the rest are TEXT). */
export function compactLines(bytes: Uint8Array): number {
  const rd = Reader.of(bytes);
  const r = {} as Rec;
  let n = 0;
  while (rd.next(r)) if (r.tag !== R_TEXT) n++;
  return n;
}

/** The binary format back to its JSONL text, exactly. */
export function decodeTrace(bytes: Uint8Array): string {
  const rd = Reader.of(bytes);
  const lines: string[] = [];
  const r = {} as Rec;
  while (rd.next(r)) lines.push(rd.line(r));
  return lines.join("\n") + (rd.endsWithNewline ? "\n" : "");
}
