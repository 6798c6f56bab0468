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
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
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
  /** The next record that stands for a line (NAME records are taken in passing), or null at the end. */
  next(out: Rec): Rec | null {
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
 * Replays a binary trace on a host, yielding its line records in chunks, as
 * replayText() does for text: the same records, results and state.
 */
export function* replayBinary(host: Host, bytes: Uint8Array, chunk = 4096, rp = new Replayer(host)): Generator<LineRecord[]> {
  const rd = new Reader(bytes);
  const typed = new TypedBatch({ host });
  const handles = new Map<object, number>();
  const cmds = new Float64Array(chunk * TYPED_CMD_WORDS);
  const out = new Float64Array(chunk * TYPED_RES_WORDS);
  // The chunk's records, and for each compact one run through the typed tier, its command index.
  let batch: LineRecord[] = [];
  const fast: number[] = [];
  let n = 0;
  let lineNo = 0;
  const r = {} as Rec;
  const handle = (obj: Vm | GmemFile | HostMap): number => {
    let h = handles.get(obj);
    if (h === undefined) {
      h = typed.handle({ obj });
      handles.set(obj, h);
    }
    return h;
  };
  const runFast = () => {
    if (n === 0) return;
    typed.run(cmds.subarray(0, n * TYPED_CMD_WORDS), out);
    for (let k = 0; k < n; k++) {
      const rec = batch[fast[k]];
      rec.result = resultOf(cmds, out, k, typed);
    }
    n = 0;
    fast.length = 0;
  };
  while (rd.next(r)) {
    lineNo++;
    const target = r.tag === R_TEXT ? null : resolve(rp, rd.names[r.name], r.tag, r.a);
    if (target === null) {
      // Text, or a compact record whose name the fast path cannot take: the line itself, through the trace reader.
      if (n > 0) runFast();
      const rec = rp.line(rd.line(r), lineNo);
      if (rec) batch.push(rec);
    } else {
      const c = n * TYPED_CMD_WORDS;
      cmds[c] = r.tag === R_READ ? TYPED_READ : r.tag === R_WRITE ? TYPED_WRITE : r.tag === R_EXEC ? TYPED_EXEC : r.tag === R_LOAD ? TYPED_LOAD : r.tag === R_STORE ? TYPED_STORE : r.form < 2 ? TYPED_ALLOCATE : TYPED_PUNCH;
      cmds[c + 1] = handle(target);
      cmds[c + 2] = r.a;
      cmds[c + 3] = r.tag === R_FALLOCATE || r.tag === R_WRITE || r.tag === R_STORE ? r.b : 0;
      fast.push(batch.length);
      batch.push({ i: rp.claim(), lineNo, op: OP_NAME[r.tag], result: PENDING });
      n++;
      if (n === chunk) runFast();
    }
    if (batch.length >= chunk) {
      runFast();
      host.sync();
      yield batch;
      batch = [];
    }
  }
  runFast();
  host.sync();
  if (batch.length) yield batch;
}

const PENDING: Result = { ret: 0 };

/** The live object a compact record's name gives the fast path, or null (the text path then answers). */
function resolve(rp: Replayer, name: string, tag: number, a: number): Vm | GmemFile | HostMap | null {
  const o = rp.names.peek(name);
  if (tag <= R_EXEC) return o instanceof Vm && o.fdOpen ? o : null;
  if (tag === R_FALLOCATE) return o instanceof GmemFile && o.fdOpen ? o : null;
  // A load or store outside its map is a trace error: the text path says so.
  return o instanceof HostMap && o.alive && a < o.npages * 4096 ? o : null;
}

/** A typed result as the Result the line's op gives. */
function resultOf(cmds: Float64Array, out: Float64Array, k: number, typed: TypedBatch): Result {
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
  const why = typed.message(k);
  if (why) Object.defineProperty(r, "message", { value: why, enumerable: false });
  return r;
}
