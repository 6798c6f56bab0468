/**
 * Replaying a trace: each counted line (not blank, not a # comment) becomes
 * exactly one result line, even when it cannot run. Lines are executed in
 * chunks; a chunk's results are final once the host has synced its core.
 */
import { TraceError } from "../errors.js";
import type { Host } from "../kvm/host.js";
import { policyReentry } from "../kvm/ask.js";
import { messageOf, OK, withMessage, type Result } from "../kvm/result.js";
import { parseJson, JsonFraction, JsonSyntaxError, show, type Json } from "./json.js";
import { Names } from "./names.js";
import { OPS, type OpContext } from "./ops.js";
import { checkFields, isRecord, prepare, readArgs, suggestion, type Prepared } from "./fields.js";
import { OP_DEFS, type OpDef } from "./opdefs.js";
import { hotOp, runHotLine, runHotOp } from "./hot-lines.js";

/** Each op's declaration and runner, looked up once per line (a Map: no inherited names). */
const TABLE = new Map(Object.keys(OP_DEFS).map((name) => [name, { def: OP_DEFS[name], run: OPS[name], prepared: prepare(OP_DEFS[name]) }]));

export type ResultLine = { i: number; [k: string]: unknown };

export interface LineRecord {
  /** Index among counted lines, from 0. */
  i: number;
  /** 1-based line number in the file. */
  lineNo: number;
  op: string | null;
  result: Result | { error: string };
  expect?: Record<string, unknown>;
}

export class Replayer {
  readonly names = new Names();
  private count = 0;

  private readonly ctx: OpContext;

  constructor(readonly host: Host) {
    this.ctx = { host, names: this.names };
  }

  /** Takes the next counted line's index for a line run elsewhere (the binary trace's fast path). */
  claim(): number {
    return this.count++;
  }

  /** The next counted line's index, without taking it; claimed(k) takes k at once (lines the core ran and answered). */
  get nextIndex(): number {
    return this.count;
  }
  claimed(k: number): void {
    this.count += k;
  }

  /** Runs one op given as an object (the batch tier and fuzzing: no JSON round trip). */
  op(obj: object, lineNo: number): LineRecord {
    const i = this.count++;
    if (!isRecord(obj)) return { i, lineNo, op: null, result: { error: `line ${lineNo}: expected an op object, got ${show(obj)}` } };
    return this.run(i, lineNo, obj);
  }

  /**
   * op() for the batch tier's hot ops (runHotOp()), straight to the result
   * line: a line made here is what the op fills, so it costs one object (no
   * line record, no copy); final once the host has synced. null, having run
   * nothing, for any other op. The caller has checked that no policy of this
   * host is deciding (policyReentry()).
   */
  hotLine(obj: unknown, lineNo: number): ResultLine | null {
    if (!isRecord(obj)) return null;
    const i = this.count;
    let op: unknown;
    let line: ResultLine;
    let result: Result | null;
    try {
      op = obj.op;
      if (op !== "vcpu_access" && op !== "fallocate") return null;
      // A read's line has its value's slot from the start: a property added later costs a second allocation.
      line = obj.access === "read" ? { i, ret: 0, value: 0 } : { i, ret: 0 };
      result = runHotOp(this.host, this.names, obj, line as Result);
    } catch {
      // An API caller's getter that throws: op() reads the op again and says why it cannot.
      return null;
    }
    if (!result) return null;
    this.count++;
    // Anything else is a refusal, final already.
    return result === line || result === OK ? line : resultLine({ i, lineNo, op: op as string, result });
  }

  /** Runs one line of the trace; null for a blank or comment line. Call host.sync() before reading results. */
  line(text: string, lineNo: number): LineRecord | null {
    return this.lineAt(text, 0, text.length, lineNo);
  }

  /**
   * line() for the line at [start, stop) of a text that may hold many: a hot
   * line (hot-lines.ts) is read in place, any other is cut out and read whole.
   */
  lineAt(text: string, start: number, stop: number, lineNo: number): LineRecord | null {
    // A hot line begins with "{" and ends with "}" (the scanner checks both): trim() would change nothing.
    const hot = hotOp(text, start);
    if (hot && policyReentry(this.host) === null) {
      const result = runHotLine(this.host, this.names, hot, text, start, stop);
      if (result) return hotRecord(this.count++, lineNo, hot, result);
    }
    const t = (start === 0 && stop === text.length ? text : text.slice(start, stop)).trim();
    if (t === "" || t.startsWith("#")) return null;
    const i = this.count++;
    let parsed: Json;
    try {
      parsed = parseJson(t);
    } catch (e) {
      return { i, lineNo, op: null, result: { error: `line ${lineNo}: invalid JSON: ${(e as JsonSyntaxError).message}` } };
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || parsed instanceof JsonFraction) {
      return { i, lineNo, op: null, result: { error: `line ${lineNo}: expected a JSON object` } };
    }
    // runHotLine already had its try, and parsed JSON has no getters that could throw: straight to the reader.
    return this.runOp(i, lineNo, parsed as { [k: string]: Json });
  }

  private run(i: number, lineNo: number, line: Record<string, unknown>): LineRecord {
    try {
      const op = line.op;
      if ((op === "vcpu_access" || op === "fallocate") && policyReentry(this.host) === null) {
        const result = runHotOp(this.host, this.names, line);
        if (result) return { i, lineNo, op, result, expect: undefined };
      }
      return this.runOp(i, lineNo, line);
    } catch (e) {
      // A value the reader could not even look at (an API caller's getter that throws, a proxy).
      return { i, lineNo, op: null, result: { error: `line ${lineNo}: unreadable op: ${e instanceof Error ? e.message : show(e)}` } };
    }
  }

  private runOp(i: number, lineNo: number, line: Record<string, unknown>): LineRecord {
    // The common line first, with no intermediate object: a string op of the table and no "expect".
    const op = line.op;
    if (typeof op === "string" && line.expect === undefined && Object.hasOwn(line, "op")) {
      const entry = TABLE.get(op);
      if (entry) {
        try {
          checkFields(op, entry.def, line, entry.prepared);
        } catch (e) {
          return failed(i, lineNo, op, `${op}: ${(e as Error).message}`);
        }
        return this.runEntry(i, lineNo, op, entry, line, undefined);
      }
    }
    const shape = readShape(line);
    if ("error" in shape) return failed(i, lineNo, shape.op, shape.error, shape.expect);
    return this.runEntry(i, lineNo, shape.op, shape.entry, line, shape.expect);
  }

  private runEntry(i: number, lineNo: number, op: string, entry: Entry, line: Record<string, unknown>, expect: Record<string, unknown> | undefined): LineRecord {
    const reentry = policyReentry(this.host);
    if (reentry) return failed(i, lineNo, op, `${op}: ${reentry}`, expect);
    try {
      const args = readArgs(op, entry.def, line, this.names, entry.prepared);
      if (typeof args === "string") return failed(i, lineNo, op, `${op}: ${args}`, expect);
      return { i, lineNo, op, result: entry.run(this.ctx, args), expect };
    } catch (e) {
      if (e instanceof TraceError) return failed(i, lineNo, op, `${op}: ${e.message}`, expect);
      // Not a rule of the trace: a bug of gmemsim. It is reported on its line, and the run goes on.
      return failed(i, lineNo, op, `${op}: internal error: ${e instanceof Error ? e.message : show(e)}`, expect);
    }
  }
}

/**
 * A hot line's record, made from an empty object property by property: an
 * object literal has an allocation site, which V8 soon marks to allocate in
 * the old generation (a chunk's records are all alive at once), where
 * allocating costs several times more. Four properties: an empty object has
 * room for four in itself ("expect" is absent, as a hot line has none).
 */
function hotRecord(i: number, lineNo: number, op: string, result: Result): LineRecord {
  const rec = {} as LineRecord;
  rec.i = i;
  rec.lineNo = lineNo;
  rec.op = op;
  rec.result = result;
  return rec;
}

type Entry = { def: OpDef; run: (typeof OPS)[string]; prepared: Prepared };

type Shape =
  | { op: string; entry: Entry; expect?: Record<string, unknown> }
  | { op: string | null; error: string; expect?: Record<string, unknown> };

/**
 * A line's shape, checked before anything is looked up by name: "expect" is a
 * result object, "op" a known op, and every field one the op takes.
 */
function readShape(line: Record<string, unknown>): Shape {
  const rawOp = line.op !== undefined && Object.hasOwn(line, "op") ? line.op : undefined;
  const op = typeof rawOp === "string" ? rawOp : null;
  let expect: Record<string, unknown> | undefined;
  if (line.expect !== undefined && Object.hasOwn(line, "expect")) {
    if (!isRecord(line.expect)) return { op, error: `expect: expected a result object, got ${show(line.expect)}` };
    expect = toPlain(line.expect as Json) as Record<string, unknown>;
  }
  if (op === null) return { op, error: rawOp === undefined ? 'missing "op"' : `op: expected an op name, got ${show(rawOp)}`, expect };
  const entry = TABLE.get(op);
  if (!entry) return { op, error: `unknown op ${show(op)}${suggestion(op, Object.keys(OP_DEFS))}`, expect };
  try {
    checkFields(op, entry.def, line, entry.prepared);
  } catch (e) {
    return { op, error: `${op}: ${(e as Error).message}`, expect };
  }
  return { op, entry, expect };
}

/**
 * What the trace reader refuses in a line before running anything (JSON, an
 * unknown op or field, a malformed expect), or null: for runners of the same
 * trace elsewhere (the kernel oracle's driver), so that both sides refuse the
 * same lines by the same rule.
 */
export function screenLine(text: string): string | null {
  let parsed: Json;
  try {
    parsed = parseJson(text.trim());
  } catch (e) {
    return `invalid JSON: ${(e as Error).message}`;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || parsed instanceof JsonFraction) return "expected a JSON object";
  const shape = readShape(parsed as Record<string, unknown>);
  return "error" in shape ? shape.error : null;
}

/** The record of a line that cannot run. */
function failed(i: number, lineNo: number, op: string | null, what: string, expect?: Record<string, unknown>): LineRecord {
  return { i, lineNo, op, result: { error: `line ${lineNo}: ${what}` }, expect };
}

/**
 * Expectations are compared as plain JSON values, integers exactly: a number
 * when safe, a bigint past 2^53, the same form results take (kvm/result.ts exact()).
 */
function toPlain(v: Json): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof JsonFraction) return Number(v.text);
  if (typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v)) return BigInt(v);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x as Json)]));
  return v;
}

export function resultLine(r: LineRecord): ResultLine {
  const line: ResultLine = { i: r.i, ...r.result };
  // The explanation travels along, not enumerable, so that result lines stay exactly the kernel's.
  const why = messageOf(r.result as Result);
  if (why) withMessage(line, why);
  return line;
}

/** The explanation behind a result, for people: the failure's sentence, if any. */
export function explain(r: LineRecord): string | undefined {
  return "error" in r.result ? (r.result.error as string) : messageOf(r.result as Result);
}

/** Structural equality of plain JSON values (result lines and expectations). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // One integer, two forms (an API caller's number past 2^53 against an exact bigint).
  if ((typeof a === "bigint" && typeof b === "number") || (typeof a === "number" && typeof b === "bigint")) return Number.isInteger(a) && Number.isInteger(b) && BigInt(a) === BigInt(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual((a as never)[k], (b as never)[k]));
  }
  return false;
}

/** Keys of `expect` that the result does not match; empty when it matches. */
export function expectMismatch(r: LineRecord): string[] {
  if (!r.expect) return [];
  const got = r.result as Record<string, unknown>;
  return Object.keys(r.expect).filter((k) => !deepEqual(r.expect![k], Object.hasOwn(got, k) ? got[k] : undefined));
}

/**
 * Lines in, chunks of final records out: each counted line runs at once; every
 * `chunk` records the host syncs and the chunk is handed over (its Results are
 * final then). One loop for every way lines arrive (replayText, replayPieces).
 */
class Chunker {
  private batch: LineRecord[] = [];
  private lineNo = 0;
  constructor(
    private readonly host: Host,
    private readonly rp: Replayer,
    private readonly chunk: number,
  ) {}

  /** Runs the next line, [start, stop) of text; returns a full chunk when one is ready. */
  line(text: string, start = 0, stop = text.length): LineRecord[] | null {
    const rec = this.rp.lineAt(text, start, stop, ++this.lineNo);
    if (rec) this.batch.push(rec);
    if (this.batch.length < this.chunk) return null;
    return this.take();
  }

  /** The last chunk (possibly empty), synced. */
  take(): LineRecord[] {
    this.host.sync();
    const out = this.batch;
    this.batch = [];
    return out;
  }
}

/**
 * Runs a whole trace text, yielding its records a chunk at a time, each chunk
 * final (the host synced) when it is yielded.
 */
export function* replayText(host: Host, text: string, chunk = 4096, rp = new Replayer(host)): Generator<LineRecord[]> {
  const c = new Chunker(host, rp, chunk);
  // The lines of text.split("\n"), read in place: no string per line.
  for (let start = 0; ; ) {
    const nl = text.indexOf("\n", start);
    const full = c.line(text, start, nl < 0 ? text.length : nl);
    if (full) yield full;
    if (nl < 0) break;
    start = nl + 1;
  }
  const last = c.take();
  if (last.length) yield last;
}

/**
 * Runs a trace whose lines arrive in pieces (a streaming reader's, each an
 * array of whole lines), syncing once per chunk and yielding each chunk's
 * records as soon as they are final: memory stays constant whatever the
 * trace's length. Line numbers count across pieces.
 */
export async function* replayPieces(host: Host, pieces: AsyncIterable<string[]>, chunk = 4096, rp = new Replayer(host)): AsyncGenerator<LineRecord[]> {
  const c = new Chunker(host, rp, chunk);
  for await (const lines of pieces)
    for (const line of lines) {
      const full = c.line(line);
      if (full) yield full;
    }
  const last = c.take();
  if (last.length) yield last;
}

/**
 * Splits a byte stream into lines at "\n" (as text.split("\n") would, the
 * last line included), decoding UTF-8 across chunk boundaries: one array of
 * whole lines per chunk read.
 */
export async function* linesOf(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const bytes of chunks) {
    const lines = (rest + decoder.decode(bytes, { stream: true })).split("\n");
    rest = lines.pop()!;
    if (lines.length) yield lines;
  }
  yield [rest + decoder.decode()];
}
