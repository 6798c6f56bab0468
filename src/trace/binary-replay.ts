/**
 * Replaying a binary trace (src/trace/binary.ts), as its bytes arrive and in
 * memory that does not grow with the trace: the same result lines, records
 * and state as replaying its text.
 *
 * Compact records whose names resolve to live objects of the right kind run
 * as typed commands (src/api/typed.ts), with the kernel layer's checks;
 * every other line, and a record whose name does not resolve, goes through
 * the trace reader as text. Two forms:
 *  - replayBinary(): line records in chunks, as replayText() yields them;
 *  - replayBinaryJson(): the result lines as UTF-8 bytes (`replay --json`).
 *    On a core with the binary replay entry (core-abi.ts "Binary replay"),
 *    the core reads, runs and answers the compact records itself, and each
 *    line it stops at is taken here.
 * Each has a stream form (…Stream) that takes the bytes in pieces.
 */
import { TypedBatch, TYPED_ALLOCATE, TYPED_CMD_WORDS, TYPED_EXEC, TYPED_LOAD, TYPED_PUNCH, TYPED_READ, TYPED_RES_WORDS, TYPED_STORE, TYPED_WRITE } from "../api/typed.js";
import * as A from "../abi/core-abi.js";
import type { TypedEntry } from "../core/core.js";
import type { Host } from "../kvm/host.js";
import { writeHotEntry } from "../kvm/hot.js";
import { GmemFile, HostMap, Vm } from "../kvm/objects.js";
import type { Result } from "../kvm/result.js";
import { encoder, MORE, Reader, R_EXEC, R_FALLOCATE, R_LOAD, R_READ, R_STORE, R_TEXT, R_WRITE, type Rec } from "./binary.js";
import { Replayer, type LineRecord } from "./replay.js";
import { resultJson } from "./result-json.js";
import { LineBytes } from "./text-json.js";
import { typedOk, typedResult } from "./typed-result.js";

/** A replay that takes the trace's bytes as they come and gives out what is ready. */
interface Pump<T> {
  feed(piece: Uint8Array): void;
  finish(): void;
  /** What the bytes fed so far give (all of it, once finished). */
  drain(): Generator<T>;
}

function* pumpAll<T>(r: Pump<T>, pieces: Iterable<Uint8Array>): Generator<T> {
  for (const p of pieces) {
    r.feed(p);
    yield* r.drain();
  }
  r.finish();
  yield* r.drain();
}

async function* pumpStream<T>(r: Pump<T>, pieces: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  for await (const p of pieces) {
    r.feed(p);
    yield* r.drain();
  }
  r.finish();
  yield* r.drain();
}

/**
 * Replays a binary trace on a host, yielding its line records in chunks, as
 * replayText() does for text: the same records, results and state.
 */
export function replayBinary(host: Host, bytes: Uint8Array, chunk = 4096, rp = new Replayer(host)): Generator<LineRecord[]> {
  return pumpAll(new RecordReplay(host, chunk, rp), [bytes]);
}

/** replayBinary() over the trace's bytes as they arrive (a file or a pipe, in pieces). */
export function replayBinaryStream(host: Host, pieces: AsyncIterable<Uint8Array>, chunk = 4096, rp = new Replayer(host)): AsyncGenerator<LineRecord[]> {
  return pumpStream(new RecordReplay(host, chunk, rp), pieces);
}

/**
 * The same replay, yielding its result lines as UTF-8 bytes, each ending in a
 * newline: exactly resultJson() of each record replayBinary() yields.
 *
 * Each piece yielded is the caller's to keep, unless `lend` is true: then a
 * piece may be a view of a buffer the replay reuses (the core's output
 * buffer), valid only until the next piece is asked for (written out or read at once, as a file write or
 * a parser would; no copy, and no fresh memory per 64 KiB of output).
 */
export function replayBinaryJson(host: Host, bytes: Uint8Array, chunk = 4096, rp = new Replayer(host), lend = false): Generator<Uint8Array> {
  return pumpAll(jsonReplay(host, chunk, rp, lend), [bytes]);
}

/** replayBinaryJson() over the trace's bytes as they arrive. */
export function replayBinaryJsonStream(host: Host, pieces: AsyncIterable<Uint8Array>, chunk = 4096, rp = new Replayer(host), lend = false): AsyncGenerator<Uint8Array> {
  return pumpStream(jsonReplay(host, chunk, rp, lend), pieces);
}

function jsonReplay(host: Host, chunk: number, rp: Replayer, lend: boolean): Pump<Uint8Array> {
  const entry = host.core.typed;
  return entry?.active() ? new CoreJsonReplay(host, rp, entry, lend) : new RecordJsonReplay(host, chunk, rp, lend);
}

/**
 * Line records a chunk at a time: compact records whose names resolve go to
 * the typed tier together; the rest through the trace reader. A chunk's
 * lines are each a LineRecord, or the index k of a compact record that
 * succeeded (its words stay in the typed results until the next chunk).
 */
class Chunks implements Pump<Array<LineRecord | number>> {
  protected readonly rd = new Reader();
  private readonly typed: TypedBatch;
  readonly cmds: Float64Array;
  readonly out: Float64Array;
  /** The counted index of each typed command of the chunk. */
  readonly countOf: Float64Array;
  private readonly lineOf: Float64Array;
  /** Where each typed command's line sits in the chunk. */
  private readonly slot: Int32Array;
  /** Each name index's object and typed handle, while no line of text that may rebind a name has run since (keepsNames()). */
  private readonly objOf: Array<Vm | GmemFile | HostMap | null | undefined> = [];
  private readonly handleOf: number[] = [];
  private readonly r: Rec = { tag: 0, text: "", name: 0, a: 0, b: 0, form: 0 };
  private items: Array<LineRecord | number> = [];
  private n = 0;
  private ran = 0;
  private lineNo = 0;

  constructor(
    private readonly host: Host,
    private readonly chunk: number,
    private readonly rp: Replayer,
  ) {
    this.typed = new TypedBatch({ host });
    this.cmds = new Float64Array(chunk * TYPED_CMD_WORDS);
    this.out = new Float64Array(chunk * TYPED_RES_WORDS);
    this.countOf = new Float64Array(chunk);
    this.lineOf = new Float64Array(chunk);
    this.slot = new Int32Array(chunk);
  }

  feed(piece: Uint8Array): void {
    this.rd.feed(piece);
  }

  finish(): void {
    this.rd.finish();
  }

  *drain(): Generator<Array<LineRecord | number>> {
    const { rd, rp, cmds, r } = this;
    for (;;) {
      const got = rd.next(r);
      if (got === MORE || got === null) break;
      this.lineNo++;
      const h = r.tag === R_TEXT ? -1 : this.resolve(r);
      if (h < 0) {
        // Text, or a compact record whose name the fast path cannot take: the line itself, through the trace reader.
        this.runFast();
        const rec = rp.line(rd.line(r), this.lineNo);
        if (rec) {
          if (!keepsNames(rec)) this.objOf.length = 0;
          this.items.push(rec);
        }
      } else {
        const n = this.n++;
        writeCommand(cmds, n * TYPED_CMD_WORDS, r, h);
        this.countOf[n] = rp.claim();
        this.lineOf[n] = this.lineNo;
        this.slot[n] = this.items.length;
        this.items.push(n);
      }
      if (this.items.length >= this.chunk || this.n === this.chunk) yield this.take();
    }
    // What is ready goes out now: the next piece may be long in coming.
    if (this.items.length) yield this.take();
    else this.host.sync();
  }

  /** The chunk so far, every result final. */
  private take(): Array<LineRecord | number> {
    this.runFast();
    this.host.sync();
    const items = this.items;
    this.items = [];
    this.n = this.ran = 0;
    return items;
  }

  private runFast(): void {
    if (this.n > this.ran) this.runTyped(this.ran, this.n);
    this.ran = this.n;
  }

  /** Runs typed commands [from, to); a result other than success becomes its LineRecord at once (its message is the run's). */
  private runTyped(from: number, to: number): void {
    const out = this.out;
    this.typed.run(this.cmds.subarray(from * TYPED_CMD_WORDS, to * TYPED_CMD_WORDS), out.subarray(from * TYPED_RES_WORDS));
    for (let k = from; k < to; k++) if (!typedOk(out, k)) this.items[this.slot[k]] = this.record(k, this.typed.message(k - from));
  }

  /** The typed handle a compact record's name gives the fast path, or -1 (the text path then answers). */
  private resolve(r: Rec): number {
    let o = this.objOf[r.name];
    if (o === undefined) {
      o = liveTarget(this.rp.names.peek(this.rd.names[r.name]), r.tag);
      this.objOf[r.name] = o;
      // TypedBatch.handle() gives an object the same handle each time.
      if (o) this.handleOf[r.name] = this.typed.handle({ obj: o });
    }
    if (o === null || !fits(o, r.tag, r.a)) return -1;
    return this.handleOf[r.name];
  }

  /** Typed command k's line record. */
  record(k: number, why?: string): LineRecord {
    return { i: this.countOf[k], lineNo: this.lineOf[k], op: opName(this.cmds[k * TYPED_CMD_WORDS]), result: resultOf(this.cmds, this.out, k, why) };
  }
}

/** A form made from the chunks: it takes the bytes for them. */
abstract class OverChunks<T> implements Pump<T> {
  protected readonly c: Chunks;
  constructor(host: Host, chunk: number, rp: Replayer) {
    this.c = new Chunks(host, chunk, rp);
  }
  feed(piece: Uint8Array): void {
    this.c.feed(piece);
  }
  finish(): void {
    this.c.finish();
  }
  abstract drain(): Generator<T>;
}

/** A chunk's line records: a compact record that succeeded becomes its record from its typed result words. */
function recordsOf(c: Chunks, items: Array<LineRecord | number>): LineRecord[] {
  return items.map((it) => (typeof it === "number" ? c.record(it) : it));
}

class RecordReplay extends OverChunks<LineRecord[]> {
  *drain(): Generator<LineRecord[]> {
    for (const items of this.c.drain()) yield recordsOf(this.c, items);
  }
}

/** replayBinaryJson() on a core without the binary replay entry (the reference model): the records' lines, as a JSONL trace's (text-json.ts). */
class RecordJsonReplay extends OverChunks<Uint8Array> {
  private readonly lines: LineBytes;
  constructor(host: Host, chunk: number, rp: Replayer, lend: boolean) {
    super(host, chunk, rp);
    this.lines = new LineBytes(lend);
  }
  *drain(): Generator<Uint8Array> {
    for (const items of this.c.drain()) yield this.lines.of(recordsOf(this.c, items));
  }
}

/**
 * replayBinaryJson() on a core with the binary replay entry: the core reads,
 * runs and answers the compact records whose names have a handle in its name
 * table; each line it stops at is taken here, one at a time, as the other
 * forms take it. A name enters the table when the core first stops at a
 * record of it (with its handle's table entry written afresh,
 * src/kvm/hot.ts), and the core then runs that record too; a line of text
 * that may rebind a name or change what an object allows (keepsNames())
 * empties the table.
 */
class CoreJsonReplay implements Pump<Uint8Array> {
  private readonly rd = new Reader();
  private readonly typed: TypedBatch;
  /** Handles given so far (TypedBatch numbers them from 0): the core's table holds as many. */
  private handleCount = 0;
  /**
   * The core's output buffer gathers the result lines, the core's and those
   * taken here, in order, across input windows; it is copied out once, when
   * full (into `ready`) or when the bytes fed so far are done.
   */
  private outLen = 0;
  private readonly ready: Uint8Array[] = [];
  private readonly r: Rec = { tag: 0, text: "", name: 0, a: 0, b: 0, form: 0 };
  private readonly cmd = new Float64Array(TYPED_CMD_WORDS);
  private readonly res = new Float64Array(TYPED_RES_WORDS);
  private lineNo = 0;
  /** The trace offset of the core's input window, and how many bytes it holds. */
  private base = 0;
  private winLen = 0;
  private started = false;

  constructor(
    private readonly host: Host,
    private readonly rp: Replayer,
    private readonly t: TypedEntry,
    /** Whether the output may go out as views of the core's buffer (replayBinaryJson()). */
    private readonly lend: boolean,
  ) {
    this.typed = new TypedBatch({ host });
  }

  feed(piece: Uint8Array): void {
    this.rd.feed(piece);
    // The window holds copies: the new bytes are read into it when it is next filled.
  }

  finish(): void {
    this.rd.finish();
  }

  *drain(): Generator<Uint8Array> {
    const { t, rd, host, rp, ready } = this;
    if (!this.started) {
      // The header first (the reader takes it with the first record).
      const got = rd.next(this.r);
      if (got === MORE) return;
      this.started = true;
      t.binNames(0);
      if (got !== null && this.lineRecord()) rd.pos = rd.lineStart;
    }
    let abs = rd.pos;
    for (;;) {
      if (abs >= rd.end) break;
      const winEnd = this.base + this.winLen;
      if (abs < this.base || abs - this.base + A.BIN_REC_LONGEST > this.winLen) {
        if (winEnd < rd.end || abs < this.base || abs >= winEnd) this.window(abs);
        else if (!rd.eof) break; // the last bytes here may be a record cut short: wait for the rest
      }
      const from = rp.nextIndex;
      const final = rd.eof && this.base + this.winLen === rd.end;
      const why = t.binRun(this.winLen, abs - this.base, from, host.frameHeadroom(1024), final, this.outLen);
      host.reserveFrames(t.spent());
      const ran = t.binCount() - from;
      rp.claimed(ran);
      this.lineNo += ran;
      this.outLen = t.binOutLen();
      abs = this.base + t.binPos();
      rd.pos = abs;
      if (why === A.BIN_OUTPUT) {
        this.takeOut(this.lend);
        yield* this.giveReady();
        continue;
      }
      if (why === A.BIN_RECORD || why === A.BIN_COMMAND) {
        const got = rd.next(this.r);
        if (got === MORE) break;
        // A record whose name has just entered the table is the core's to run: it starts there again.
        if (got !== null && this.lineRecord()) rd.pos = rd.lineStart;
      } else if (why === A.BIN_RESULT) {
        rd.pos = this.base + t.binRecordStart();
        rd.next(this.r);
        this.lineNo++;
        this.answer(this.commandOf(this.t.binNames(this.rd.names.length)[this.r.name]), true);
      } else if (why === A.BIN_INPUT && final) break;
      abs = rd.pos;
      if (ready.length) yield* this.giveReady();
    }
    rd.pos = abs;
    // What is ready goes out now: the next piece may be long in coming.
    this.takeOut(this.lend);
    yield* this.giveReady();
  }

  /**
   * The output so far, out of the core's buffer (which is then empty): a
   * view when it is yielded before the core writes there again (`view`),
   * else a copy.
   */
  private takeOut(view = false): void {
    if (this.outLen > 0) this.ready.push(view ? this.t.binOut().subarray(0, this.outLen) : this.t.binOut().slice(0, this.outLen));
    this.outLen = 0;
  }

  private *giveReady(): Generator<Uint8Array> {
    const ready = this.ready;
    for (let k = 0; k < ready.length; k++) yield ready[k];
    ready.length = 0;
  }

  /** A result line taken here, after the output so far: encoded into the core's output buffer, with its newline. */
  private put(rec: LineRecord): void {
    const line = resultJson(rec);
    let out = this.t.binOut();
    let done = encoder.encodeInto(line, out.subarray(this.outLen, A.BIN_OUT_CAP - 1));
    if (done.read < line.length) {
      // It does not fit after the output so far (the bytes written past that are dropped): the output goes out first.
      this.takeOut();
      out = this.t.binOut();
      done = encoder.encodeInto(line, out.subarray(0, A.BIN_OUT_CAP - 1));
      // Longer than the buffer: a chunk of its own.
      if (done.read < line.length) return void this.ready.push(encoder.encode(line + "\n"));
    }
    this.outLen += done.written;
    out[this.outLen++] = 10;
  }

  /** The trace from `abs` into the core's input window. */
  private window(abs: number): void {
    const part = this.rd.view(abs, A.BIN_IN_CAP);
    this.t.binIn().set(part);
    this.base = abs;
    this.winLen = part.length;
  }

  /**
   * The line record the reader just read (after any NAME records), taken here
   * as the other forms take it; none at the end. True, having run nothing,
   * for a compact record whose name had no handle in the core's table and now
   * has one: the core runs it, as it runs the records after it (a typed run
   * here would run the same command on the same handle entry).
   */
  private lineRecord(): boolean {
    const r = this.r;
    if (r.tag !== R_TEXT) {
      const entered = this.t.binNames(this.rd.names.length)[r.name] >= 0;
      const h = this.resolve(r);
      if (h >= 0 && !entered) return true;
      if (h >= 0) {
        this.lineNo++;
        this.typed.run(this.commandOf(h), this.res);
        this.answer(this.cmd, false);
        return false;
      }
    }
    this.lineNo++;
    const rec = this.rp.line(this.rd.line(r), this.lineNo);
    this.host.sync();
    if (rec === null) return false; // a blank line or a comment
    if (!keepsNames(rec)) this.t.binNames(this.rd.names.length).fill(-1);
    this.put(rec);
    return false;
  }

  /** The typed command of the record in hand, on handle h. */
  private commandOf(h: number): Float64Array {
    writeCommand(this.cmd, 0, this.r, h);
    return this.cmd;
  }

  /** The result line of the command in hand: from this.res (a typed run), or from the core's code and value (`ranInCore`). */
  private answer(cmd: Float64Array, ranInCore: boolean): void {
    if (ranInCore) this.typed.resultOfCore(cmd, this.t.rawCode(), this.t.rawValue(), this.res);
    const rec: LineRecord = { i: this.rp.claim(), lineNo: this.lineNo, op: opName(cmd[0]), result: resultOf(cmd, this.res, 0, ranInCore ? undefined : this.typed.message(0)) };
    this.put(rec);
  }

  /** The handle a compact record's name resolves to (then entered in the core's name table), or -1. */
  private resolve(r: Rec): number {
    const o = liveTarget(this.rp.names.peek(this.rd.names[r.name]), r.tag);
    if (o === null || !fits(o, r.tag, r.a)) return -1;
    const h = this.typed.handle({ obj: o });
    this.handleCount = Math.max(this.handleCount, h + 1);
    const [i32, f64] = this.t.table(this.handleCount);
    writeHotEntry(this.host, o, h, i32, f64);
    this.t.binNames(this.rd.names.length)[r.name] = h;
    return h;
  }
}

/**
 * Whether a line of text that ran leaves every name resolving as before, to
 * an object whose hot entry (src/kvm/hot.ts) reads the same: a `stats` line,
 * which only reads the core's counters (src/trace/ops.ts stats:
 * gu.stats(), gu.inodeStats()), whatever its result. Any other op may
 * rebind a name, close an fd or change what an object allows (and one that
 * failed may have failed part way), so the names are resolved again after
 * it. A blank line or a comment gives no record: it ran nothing.
 */
function keepsNames(rec: LineRecord): boolean {
  return rec.op === "stats";
}

/** A compact record as its typed command (4 words at `at`), on handle h. */
function writeCommand(to: Float64Array, at: number, r: Rec, h: number): void {
  to[at] = r.tag === R_READ ? TYPED_READ : r.tag === R_WRITE ? TYPED_WRITE : r.tag === R_EXEC ? TYPED_EXEC : r.tag === R_LOAD ? TYPED_LOAD : r.tag === R_STORE ? TYPED_STORE : r.form < 2 ? TYPED_ALLOCATE : TYPED_PUNCH;
  to[at + 1] = h;
  to[at + 2] = r.a;
  to[at + 3] = r.tag === R_FALLOCATE || r.tag === R_WRITE || r.tag === R_STORE ? r.b : 0;
}

function opName(op: number): string {
  return op <= TYPED_EXEC ? "vcpu_access" : op <= TYPED_PUNCH ? "fallocate" : op === TYPED_LOAD ? "load" : "store";
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
  const op = cmds[k * TYPED_CMD_WORDS];
  return typedResult(out, k, op === TYPED_READ || op === TYPED_LOAD, why);
}
