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
 * Replaying a compact record runs the same kernel-layer checks as its line
 * would (through the typed tier's paths, src/api/typed.ts); where a name does
 * not resolve to a live object of the right kind, the record's line is
 * rebuilt and replayed as text, so every answer is the text's.
 */
import { TypedBatch, TYPED_ALLOCATE, TYPED_CMD_WORDS, TYPED_EXEC, TYPED_LOAD, TYPED_PUNCH, TYPED_READ, TYPED_RES_WORDS, TYPED_STORE, TYPED_WRITE, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, SIGBUS } from "../api/typed.js";
import type { Host } from "../kvm/host.js";
import { GmemFile, HostMap, Vm } from "../kvm/objects.js";
import type { Result } from "../kvm/result.js";
import { ERRNO, type ErrnoName } from "../uapi/errno.js";
import { Replayer, type LineRecord } from "./replay.js";
import { resultJson } from "./result-json.js";
import * as A from "../abi/core-abi.js";
import type { TypedEntry } from "../core/core.js";
import { writeHotEntry } from "../kvm/hot.js";

const MAGIC = "GMEMSIMB";
const VERSION = 1;

const R_TEXT = 0;
const R_NAME = 1;
const R_READ = 2;
const R_WRITE = 3;
const R_EXEC = 4;
const R_FALLOCATE = 5;
const R_LOAD = 6;
const R_STORE = 7;

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

class Writer {
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
  /** Room for n more bytes, and the buffer to write them into (from `length` on). */
  reserve(n: number): Uint8Array {
    this.room(n);
    return this.buf;
  }
  /** A non-negative integer below 2^53 in decimal digits. */
  digits(x: number): void {
    this.room(16);
    const buf = this.buf;
    if (x < 0x80000000) {
      // Integer division (V8 keeps int32 arithmetic): most numbers here are line indexes and bytes.
      let y = x | 0;
      const n = y < 10 ? 1 : y < 100 ? 2 : y < 1000 ? 3 : y < 10000 ? 4 : y < 100000 ? 5 : y < 1000000 ? 6 : y < 10000000 ? 7 : y < 100000000 ? 8 : y < 1000000000 ? 9 : 10;
      let at = this.length + n;
      this.length = at;
      do {
        const q = (y / 10) | 0;
        buf[--at] = 48 + y - q * 10;
        y = q;
      } while (y !== 0);
      return;
    }
    let n = 0;
    for (let y = x; y >= 1; y = Math.floor(y / 10)) n++;
    let at = this.length + n;
    this.length = at;
    for (let y = x; y >= 1; y = Math.floor(y / 10)) buf[--at] = 48 + (y % 10);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const encoder = new TextEncoder();
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
interface Rec {
  tag: number;
  text: string;
  name: number;
  a: number;
  b: number;
  form: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

class Reader {
  pos = MAGIC.length + 2;
  readonly names: string[] = [];
  readonly endsWithNewline: boolean;
  constructor(private readonly buf: Uint8Array) {
    if (!isBinaryTrace(buf)) throw new Error("not a gmemsim binary trace (no GMEMSIMB header)");
    if (buf[MAGIC.length] !== VERSION) throw new Error(`binary trace version ${buf[MAGIC.length]} is not ${VERSION}`);
    this.endsWithNewline = (buf[MAGIC.length + 1] & 1) !== 0;
  }
  private fail(why: string): never {
    throw new Error(`binary trace: ${why} at byte ${this.pos}`);
  }
  private byte(): number {
    if (this.pos >= this.buf.length) this.fail("unexpected end");
    return this.buf[this.pos++];
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
    if (this.pos + n > this.buf.length) this.fail("unexpected end");
    const s = decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  /**
   * The next record that stands for a line (NAME records are taken in passing),
   * or null at the end. A compact record with a one-byte name and varints of
   * at most 7 bytes (below 2^49: no check of 2^53 needed) is read here, far
   * from the end; any other goes the checked way.
   */
  next(out: Rec): Rec | null {
    const buf = this.buf;
    let p = this.pos;
    if (p + 24 > buf.length) return this.nextChecked(out);
    const tag = buf[p];
    const name = buf[p + 1];
    if (tag < R_READ || tag > R_STORE || name >= 0x80 || name >= this.names.length) return this.nextChecked(out);
    p += 2;
    let a = 0;
    let scale = 1;
    let x = 0;
    for (let k = 0; k < 7; k++) {
      x = buf[p++];
      a += (x & 0x7f) * scale;
      if (!(x & 0x80)) break;
      scale *= 0x80;
    }
    if (x & 0x80) return this.nextChecked(out);
    let form = 0;
    let b = 0;
    if (tag === R_FALLOCATE) {
      form = buf[p++];
      if (form >= MODE_FORMS.length) return this.nextChecked(out);
      scale = 1;
      for (let k = 0; k < 7; k++) {
        x = buf[p++];
        b += (x & 0x7f) * scale;
        if (!(x & 0x80)) break;
        scale *= 0x80;
      }
      if (x & 0x80) return this.nextChecked(out);
    } else if (tag === R_WRITE || tag === R_STORE) b = buf[p++];
    out.tag = tag;
    out.name = name;
    out.a = a;
    out.b = b;
    out.form = form;
    this.pos = p;
    return out;
  }

  private nextChecked(out: Rec): Rec | null {
    for (;;) {
      if (this.pos >= this.buf.length) return null;
      const tag = this.byte();
      if (tag === R_NAME) {
        this.names.push(this.string());
        continue;
      }
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
  const rd = new Reader(bytes);
  const r = {} as Rec;
  let n = 0;
  while (rd.next(r)) if (r.tag !== R_TEXT) n++;
  return n;
}

/** The binary format back to its JSONL text, exactly. */
export function decodeTrace(bytes: Uint8Array): string {
  const rd = new Reader(bytes);
  const lines: string[] = [];
  const r = {} as Rec;
  while (rd.next(r)) lines.push(rd.line(r));
  return lines.join("\n") + (rd.endsWithNewline ? "\n" : "");
}

// ---- replaying ----

const ERRNO_NAME: Record<number, ErrnoName> = Object.fromEntries(Object.entries(ERRNO).map(([k, v]) => [v, k as ErrnoName]));
const OP_NAME = ["", "", "vcpu_access", "vcpu_access", "vcpu_access", "fallocate", "load", "store"];

/**
 * One replay of a binary trace: compact records whose names resolve go to the
 * typed tier a chunk at a time; everything else goes through the trace reader.
 * chunks() yields each chunk's lines in order once all their results are
 * final: a LineRecord, or the index k of a compact record that succeeded
 * (its words stay in the typed results until the next chunk).
 */
class BinaryReplay {
  private readonly rd: Reader;
  private readonly typed: TypedBatch;
  readonly cmds: Float64Array;
  readonly out: Float64Array;
  /** The counted index of each typed command of the chunk. */
  readonly countOf: Float64Array;
  private readonly lineOf: Float64Array;
  /** Where each typed command's line sits in the chunk. */
  private readonly slot: Int32Array;
  /** Each name index's object and typed handle, while no line of text has run since (text may rebind any name). */
  private readonly objOf: Array<Vm | GmemFile | HostMap | null | undefined> = [];
  private readonly handleOf: number[] = [];
  private readonly handles = new Map<object, number>();

  constructor(
    private readonly host: Host,
    bytes: Uint8Array,
    private readonly chunk: number,
    private readonly rp: Replayer,
  ) {
    this.rd = new Reader(bytes);
    this.typed = new TypedBatch({ host });
    this.cmds = new Float64Array(chunk * TYPED_CMD_WORDS);
    this.out = new Float64Array(chunk * TYPED_RES_WORDS);
    this.countOf = new Float64Array(chunk);
    this.lineOf = new Float64Array(chunk);
    this.slot = new Int32Array(chunk);
  }

  *chunks(): Generator<Array<LineRecord | number>> {
    const { rd, rp, cmds } = this;
    let items: Array<LineRecord | number> = [];
    let n = 0;
    let ran = 0;
    let lineNo = 0;
    const r: Rec = { tag: 0, text: "", name: 0, a: 0, b: 0, form: 0 };
    const runFast = () => {
      if (n > ran) this.runTyped(ran, n, items);
      ran = n;
    };
    while (rd.next(r)) {
      lineNo++;
      const h = r.tag === R_TEXT ? -1 : this.resolve(r);
      if (h < 0) {
        // Text, or a compact record whose name the fast path cannot take: the line itself, through the trace reader.
        runFast();
        this.objOf.length = 0;
        const rec = rp.line(rd.line(r), lineNo);
        if (rec) items.push(rec);
      } else {
        const c = n * TYPED_CMD_WORDS;
        cmds[c] = r.tag === R_READ ? TYPED_READ : r.tag === R_WRITE ? TYPED_WRITE : r.tag === R_EXEC ? TYPED_EXEC : r.tag === R_LOAD ? TYPED_LOAD : r.tag === R_STORE ? TYPED_STORE : r.form < 2 ? TYPED_ALLOCATE : TYPED_PUNCH;
        cmds[c + 1] = h;
        cmds[c + 2] = r.a;
        cmds[c + 3] = r.tag === R_FALLOCATE || r.tag === R_WRITE || r.tag === R_STORE ? r.b : 0;
        this.countOf[n] = rp.claim();
        this.lineOf[n] = lineNo;
        this.slot[n] = items.length;
        items.push(n);
        n++;
      }
      if (items.length >= this.chunk || n === this.chunk) {
        runFast();
        this.host.sync();
        yield items;
        items = [];
        n = ran = 0;
      }
    }
    runFast();
    this.host.sync();
    if (items.length) yield items;
  }

  /** Runs typed commands [from, to); a result other than success becomes its LineRecord at once (its message is the run's). */
  private runTyped(from: number, to: number, items: Array<LineRecord | number>): void {
    const out = this.out;
    this.typed.run(this.cmds.subarray(from * TYPED_CMD_WORDS, to * TYPED_CMD_WORDS), out.subarray(from * TYPED_RES_WORDS));
    for (let k = from; k < to; k++) {
      const o = k * TYPED_RES_WORDS;
      if (out[o] !== 0 || out[o + 1] !== 0 || out[o + 2] !== 0) items[this.slot[k]] = this.record(k, this.typed.message(k - from));
    }
  }

  /** The typed handle a compact record's name gives the fast path, or -1 (the text path then answers). */
  private resolve(r: Rec): number {
    let o = this.objOf[r.name];
    if (o === undefined) {
      o = liveTarget(this.rp.names.peek(this.rd.names[r.name]), r.tag);
      this.objOf[r.name] = o;
      if (o) {
        let h = this.handles.get(o);
        if (h === undefined) {
          h = this.typed.handle({ obj: o });
          this.handles.set(o, h);
        }
        this.handleOf[r.name] = h;
      }
    }
    if (o === null || !fits(o, r.tag, r.a)) return -1;
    return this.handleOf[r.name];
  }

  /** Typed command k's line record. */
  record(k: number, why?: string): LineRecord {
    const op = this.cmds[k * TYPED_CMD_WORDS];
    return { i: this.countOf[k], lineNo: this.lineOf[k], op: op <= TYPED_EXEC ? "vcpu_access" : op <= TYPED_PUNCH ? "fallocate" : op === TYPED_LOAD ? "load" : "store", result: resultOf(this.cmds, this.out, k, why) };
  }

  /** Whether typed command k reads a byte (its success line carries a value). */
  reads(k: number): boolean {
    const op = this.cmds[k * TYPED_CMD_WORDS];
    return op === TYPED_READ || op === TYPED_LOAD;
  }
}

/**
 * Replays a binary trace on a host, yielding its line records in chunks, as
 * replayText() does for text: the same records, results and state.
 */
export function* replayBinary(host: Host, bytes: Uint8Array, chunk = 4096, rp = new Replayer(host)): Generator<LineRecord[]> {
  const br = new BinaryReplay(host, bytes, chunk, rp);
  for (const items of br.chunks()) yield items.map((it) => (typeof it === "number" ? br.record(it) : it));
}

/**
 * The same replay, yielding its result lines as UTF-8 bytes, each ending in a
 * newline: exactly resultJson() of each record replayBinary() yields. A
 * compact record that succeeded is written straight from its typed words,
 * with no record or string made for it.
 */
export function* replayBinaryJson(host: Host, bytes: Uint8Array, chunk = 4096, rp = new Replayer(host)): Generator<Uint8Array> {
  const entry = host.core.typed;
  if (entry) {
    yield* new CoreJsonReplay(host, bytes, rp, entry).lines();
    return;
  }
  const br = new BinaryReplay(host, bytes, chunk, rp);
  const w = new Writer();
  const out = br.out;
  for (const items of br.chunks()) {
    w.length = 0;
    // Room for every line that succeeded ({"i":I,"ret":0,"value":V}\n is at most 48 bytes), so that they are written with no check.
    let buf = w.reserve(items.length * 48);
    for (let k = 0; k < items.length; k++) {
      const it = items[k];
      if (typeof it !== "number") {
        w.raw(encoder.encode(resultJson(it)));
        w.byte(10);
        buf = w.reserve((items.length - k) * 48);
        continue;
      }
      let p = w.length;
      for (let j = 0; j < LINE_I.length; j++) buf[p + j] = LINE_I[j];
      w.length = p + LINE_I.length;
      w.digits(br.countOf[it]);
      p = w.length;
      if (br.reads(it)) {
        for (let j = 0; j < RET_VALUE.length; j++) buf[p + j] = RET_VALUE[j];
        p += RET_VALUE.length;
        const v = out[it * TYPED_RES_WORDS + 3];
        if (v >= 100) buf[p++] = 48 + ((v / 100) | 0);
        if (v >= 10) buf[p++] = 48 + (((v / 10) | 0) % 10);
        buf[p++] = 48 + (v % 10);
        buf[p++] = 125; // }
      } else {
        for (let j = 0; j < RET_END.length; j++) buf[p + j] = RET_END[j];
        p += RET_END.length;
      }
      buf[p++] = 10;
      w.length = p;
    }
    yield w.done();
  }
}

// The pieces of a success line: {"i":I,"ret":0} or {"i":I,"ret":0,"value":V} (V a byte).
const LINE_I = encoder.encode('{"i":');
const RET_END = encoder.encode(',"ret":0}');
const RET_VALUE = encoder.encode(',"ret":0,"value":');

/**
 * replayBinaryJson() on a core with the binary replay entry (core-abi.ts
 * "Binary replay"): the core reads, runs and answers the compact records
 * whose names have a handle in its name table; each line it stops at is taken
 * here, one at a time, as replayBinary() takes it. A name enters the table
 * when it is first resolved here (with its handle's table entry written
 * afresh, src/kvm/hot.ts); any line of text empties the table, since it may
 * rebind a name or change what an object allows.
 */
class CoreJsonReplay {
  private readonly rd: Reader;
  private readonly typed: TypedBatch;
  private readonly handles = new Map<object, number>();
  private readonly objs: Array<Vm | GmemFile | HostMap> = [];
  private readonly w = new Writer();
  private readonly r: Rec = { tag: 0, text: "", name: 0, a: 0, b: 0, form: 0 };
  private readonly cmd = new Float64Array(TYPED_CMD_WORDS);
  private readonly res = new Float64Array(TYPED_RES_WORDS);
  private lineNo = 0;
  /** The trace's offset of the core's input window, and how many bytes it holds. */
  private base = 0;
  private winLen = 0;

  constructor(
    private readonly host: Host,
    private readonly bytes: Uint8Array,
    private readonly rp: Replayer,
    private readonly t: TypedEntry,
  ) {
    this.rd = new Reader(bytes);
    this.typed = new TypedBatch({ host });
  }

  *lines(): Generator<Uint8Array> {
    const { t, rd, bytes, host, rp, w } = this;
    t.binNames(0);
    let abs = rd.pos;
    this.window(abs);
    while (abs < bytes.length) {
      if (abs - this.base + 32 > this.winLen && this.base + this.winLen < bytes.length) this.window(abs);
      const from = rp.nextIndex;
      const why = t.binRun(this.winLen, abs - this.base, from, host.frameHeadroom(1024), this.base + this.winLen === bytes.length);
      host.reserveFrames(t.spent());
      const ran = t.binCount() - from;
      rp.claimed(ran);
      this.lineNo += ran;
      const n = t.binOutLen();
      if (n > 0) w.raw(t.binOut().subarray(0, n));
      abs = this.base + t.binPos();
      if (why === A.BIN_RECORD || why === A.BIN_COMMAND) {
        rd.pos = abs;
        this.oneLine();
        abs = rd.pos;
      } else if (why === A.BIN_RESULT) {
        rd.pos = this.base + t.binRecordStart();
        rd.next(this.r);
        this.lineNo++;
        this.answer(this.commandOf(this.handleOf(this.r.name)), true);
        abs = rd.pos;
      }
      if (w.length >= A.BIN_OUT_CAP) {
        yield w.done();
        w.length = 0;
      }
    }
    if (w.length) yield w.done();
  }

  /** The trace from `abs` into the core's input window. */
  private window(abs: number): void {
    const part = this.bytes.subarray(abs, abs + A.BIN_IN_CAP);
    this.t.binIn().set(part);
    this.base = abs;
    this.winLen = part.length;
  }

  /** The next line (after any NAME records), taken here as replayBinary() takes it. */
  private oneLine(): void {
    const { rd, r } = this;
    if (!rd.next(r)) return;
    this.lineNo++;
    const h = r.tag === R_TEXT ? -1 : this.resolve(r);
    if (h < 0) {
      this.forget();
      const rec = this.rp.line(rd.line(r), this.lineNo);
      this.host.sync();
      if (rec) this.text(rec);
      return;
    }
    this.typed.run(this.commandOf(h), this.res);
    this.answer(this.cmd, false);
  }

  /** The typed command of the record in hand, on handle h. */
  private commandOf(h: number): Float64Array {
    const { r, cmd } = this;
    cmd[0] = r.tag === R_READ ? TYPED_READ : r.tag === R_WRITE ? TYPED_WRITE : r.tag === R_EXEC ? TYPED_EXEC : r.tag === R_LOAD ? TYPED_LOAD : r.tag === R_STORE ? TYPED_STORE : r.form < 2 ? TYPED_ALLOCATE : TYPED_PUNCH;
    cmd[1] = h;
    cmd[2] = r.a;
    cmd[3] = r.tag === R_FALLOCATE || r.tag === R_WRITE || r.tag === R_STORE ? r.b : 0;
    return cmd;
  }

  /** The result line of the command in hand: from this.res (a typed run), or from the core's code and value (`ranInCore`). */
  private answer(cmd: Float64Array, ranInCore: boolean): void {
    if (ranInCore) this.typed.resultOfCore(cmd, this.t.rawCode(), this.t.rawValue(), this.res);
    const op = cmd[0];
    const rec: LineRecord = {
      i: this.rp.claim(),
      lineNo: this.lineNo,
      op: op <= TYPED_EXEC ? "vcpu_access" : op <= TYPED_PUNCH ? "fallocate" : op === TYPED_LOAD ? "load" : "store",
      result: resultOf(cmd, this.res, 0, ranInCore ? undefined : this.typed.message(0)),
    };
    this.text(rec);
  }

  private text(rec: LineRecord): void {
    this.w.raw(encoder.encode(resultJson(rec)));
    this.w.byte(10);
  }

  /** The handle a compact record's name resolves to (entered in the core's name table), or -1. */
  private resolve(r: Rec): number {
    const o = liveTarget(this.rp.names.peek(this.rd.names[r.name]), r.tag);
    if (o === null || !fits(o, r.tag, r.a)) return -1;
    let h = this.handles.get(o);
    if (h === undefined) {
      h = this.typed.handle({ obj: o });
      this.handles.set(o, h);
      this.objs[h] = o;
    }
    const [i32, f64] = this.t.table(this.objs.length);
    writeHotEntry(this.host, o, h, i32, f64);
    // A load or store is entered only by its map (its offset is checked per record, by the core).
    this.t.binNames(this.rd.names.length)[r.name] = h;
    return h;
  }

  private handleOf(name: number): number {
    return this.t.binNames(this.rd.names.length)[name];
  }

  /** A line of text ran: every name is resolved afresh. */
  private forget(): void {
    this.t.binNames(this.rd.names.length).fill(-1);
  }
}

/** A compact record's live target by its kind, or null (the text path then answers). */
function liveTarget(o: unknown, tag: number): Vm | GmemFile | HostMap | null {
  if (tag <= R_EXEC) return o instanceof Vm && o.fdOpen ? o : null;
  if (tag === R_FALLOCATE) return o instanceof GmemFile && o.fdOpen ? o : null;
  return o instanceof HostMap && o.alive ? o : null;
}

/** Whether the record's target takes it on the fast path: a load or store outside its map is a trace error the text path words. */
function fits(o: Vm | GmemFile | HostMap, tag: number, a: number): boolean {
  if (tag <= R_EXEC) return o instanceof Vm;
  if (tag === R_FALLOCATE) return o instanceof GmemFile;
  return o instanceof HostMap && a < o.npages * 4096;
}


/** A typed result as the Result the line's op gives. */
function resultOf(cmds: Float64Array, out: Float64Array, k: number, why: string | undefined): Result {
  const o = k * TYPED_RES_WORDS;
  const op = cmds[k * TYPED_CMD_WORDS];
  const errno = out[o];
  const exit = out[o + 1];
  const signal = out[o + 2];
  if (errno === 0 && exit === 0 && signal === 0) return op === TYPED_READ || op === TYPED_LOAD ? { ret: 0, value: out[o + 3] } : { ret: 0 };
  let r: Result;
  if (exit === KVM_EXIT_MMIO) r = { ret: 0, exit: "mmio", gpa: out[o + 4] };
  else if (exit === KVM_EXIT_INTERNAL_ERROR) r = { ret: 0, exit: "internal_error", suberror: out[o + 5] };
  else if (exit === KVM_EXIT_MEMORY_FAULT) r = { errno: ERRNO_NAME[errno], exit: "memory_fault", gpa: out[o + 4], size: out[o + 6], flags: out[o + 5] ? ["PRIVATE"] : [] };
  else if (signal) r = { signal: signal === SIGBUS ? "SIGBUS" : "SIGSEGV" };
  else r = { errno: ERRNO_NAME[errno] };
  if (why) Object.defineProperty(r, "message", { value: why, enumerable: false });
  return r;
}
