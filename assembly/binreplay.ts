/**
 * The binary trace's compact records (src/trace/binary.ts) read, run and
 * answered in the core (core-abi.ts "Binary replay"): the trace reader's work
 * for the hot lines, with no JavaScript per line. A record the core cannot
 * take (text, a name, a name with no handle, a command the kernel layer must
 * check) or a result other than success stops the loop, and the kernel layer
 * takes that line; the result lines written here are the success lines only,
 * {"i":N,"ret":0} and {"i":N,"ret":0,"value":V}, byte for byte what the
 * trace reader writes for them.
 *
 * The loop is written against the branch predictor: records mix ops, varint
 * lengths and value widths at random, so a varint is decoded from one 8-byte
 * load, the command runs on integers (typedCmd<i64>(), no word conversion),
 * and a line's ending comes from a table of words; what branches remain are
 * the stops and the op's own work.
 */
import {
  BIN_IN_CAP, BIN_OUT_CAP, BIN_INPUT, BIN_OUTPUT, BIN_RECORD, BIN_COMMAND, BIN_RESULT,
  BIN_REC_READ as R_READ, BIN_REC_WRITE as R_WRITE, BIN_REC_FALLOCATE as R_FALLOCATE,
  BIN_REC_LOAD as R_LOAD, BIN_REC_STORE as R_STORE, BIN_MODE_FORMS, BIN_REC_LONGEST,
  TYPED_READ, TYPED_ALLOCATE, TYPED_PUNCH, TYPED_LOAD,
} from "../src/abi/core-abi";
import { typedCmd, typedHandle, typedBegin, okValue, RAN_OK, RAN_FIX } from "./typed";
import { grow } from "./alloc";

export const binIn = memory.data(BIN_IN_CAP, 16);
export const binOut = memory.data(BIN_OUT_CAP, 16);

/** The longest success line: {"i":<16 digits>,"ret":0,"value":255}\n. */
const LINE_MAX = 64;

/** Each name index's typed handle, or -1 (the kernel layer resolves it). */
let names: usize = 0;
let namesCap: i32 = 0;
let namesN: i32 = 0;

let pos: i32 = 0;
let outLen: i32 = 0;
let count: f64 = 0;
let recordStart: i32 = 0;

/** Room for n name indexes (entries kept, new ones -1); returns the table's address, which moves when it grows. */
export function binNames(n: i32): usize {
  if (n > namesCap) {
    let cap = max(n, max(64, namesCap * 2));
    names = grow(names, <usize>namesCap << 2, <usize>cap << 2, 0xff);
    namesCap = cap;
  }
  // Indexes new to this replay start without a handle (a reused core may hold an earlier replay's).
  if (n > namesN) memory.fill(names + (<usize>namesN << 2), 0xff, <usize>(n - namesN) << 2);
  namesN = n;
  return names;
}

export function binPos(): i32 { return pos; }
export function binOutLen(): i32 { return outLen; }
export function binCount(): f64 { return count; }
export function binRecordStart(): i32 { return recordStart; }

export function resetBinReplay(): void {
  names = 0;
  namesCap = 0;
  namesN = 0;
  pos = 0;
  outLen = 0;
  count = 0;
  recordStart = 0;
  counterLen = 0;
  memory.fill(counter, 0, 24);
  // The window and the output are not zeroed: a run reads only bytes written for it and reports how many it wrote.
}

/** The high bits of a varint's first 7 bytes (in a little-endian word): a clear one ends the varint. */
const HIGH7: u64 = 0x0080808080808080;
/** The 7 value bits of each of those bytes. */
const LOW7: u64 = 0x007f7f7f7f7f7f7f;

/**
 * A varint of at most 7 bytes (so below 2^49) at p, or -1; its length in
 * `varLen`. Read from one 8-byte load, without a branch per byte (a varint's
 * length varies from record to record, which a loop's exit mispredicts):
 * the first clear high bit gives the length, and three shift-and-mask steps
 * pack the 7-bit groups together. The load may read past the window's bytes:
 * those are masked off (binRun() reads only where a longest record fits).
 */
@inline function varint7(p: i32): i64 {
  let x = load<u64>(binIn + <usize>p);
  let ends = ~x & HIGH7;
  if (ends == 0) return -1;
  let z = ctz(ends); // 8k + 7 for the last byte, k
  varLen = (<i32>z >> 3) + 1;
  // The bits up to that last byte's high bit, then the value bits among them.
  let v = x & (ends ^ (ends - 1)) & LOW7;
  v = (v & 0x007f007f007f007f) | ((v & 0x7f007f007f007f00) >> 1); // 14-bit groups in 16-bit lanes
  v = (v & 0x00003fff00003fff) | ((v & 0x3fff00003fff0000) >> 2); // 28-bit groups in 32-bit lanes
  v = (v & 0x000000000fffffff) | ((v & 0x0fffffff00000000) >> 4); // one 49-bit value
  return <i64>v;
}
let varLen: i32 = 0;

/** x in decimal at dst; returns how many digits. */
function digitsAt(dst: usize, x: u64): i32 {
  let n = 1;
  for (let y = x / 10; y != 0; y /= 10) n++;
  let at = dst + <usize>n;
  do {
    at--;
    store<u8>(at, <u8>(48 + x % 10));
    x /= 10;
  } while (x != 0);
  return n;
}

// The line index in decimal, kept as it counts up (lines are numbered one after another).
const counter = memory.data(24, 8);
let counterLen: i32 = 0;

function countUp(): void {
  let k = counterLen - 1;
  while (k >= 0) {
    let d = load<u8>(counter + <usize>k);
    if (d != 57) {
      store<u8>(counter + <usize>k, d + 1);
      return;
    }
    store<u8>(counter + <usize>k, 48);
    k--;
  }
  // 99..9 became 00..0: one digit more.
  memory.copy(counter + 1, counter, <usize>counterLen);
  store<u8>(counter, 49);
  counterLen++;
}

// The pieces of a success line as little-endian words: {"i":  ,"ret":0  ,"value":  }\n
const OPEN: u64 = 0x3a2269227b; // {"i":
const RET: u64 = 0x303a22746572222c; // ,"ret":0
const VALUE: u64 = 0x2265756c6176222c; // ,"value" (then :)
const CLOSE: u16 = 0x0a7d; // }\n

/**
 * Each byte value's ending of a line, `V}` and a newline, as the word stored
 * there (little-endian), with its length in the top byte: one load and one
 * store for a line's value, no digit arithmetic. Filled at start-up.
 */
const VALUE_ENDS = memory.data(256 * 8, 8);
function fillValueEnds(): void {
  for (let v: u32 = 0; v < 256; v++) {
    let h = v / 100;
    let t = (v / 10) % 10;
    let u = v % 10;
    let nd: u32 = v >= 100 ? 3 : v >= 10 ? 2 : 1;
    let three: u64 = <u64>(48 + h) | (<u64>(48 + t) << 8) | (<u64>(48 + u) << 16);
    let word = (three >> <u64>(24 - 8 * nd)) | (<u64>CLOSE << <u64>(8 * nd)) | (<u64>(nd + 2) << 56);
    store<u64>(VALUE_ENDS + (<usize>v << 3), word);
  }
}
fillValueEnds();

/**
 * A byte's value in decimal at o, then `}` and a newline, in one store
 * (bytes past the line's end are overwritten by the next line, or lie beyond
 * what binOutLen() reports); returns the line's end.
 */
@inline function byteLineEnd(o: usize, v: u32): usize {
  let word = load<u64>(VALUE_ENDS + (<usize>(v & 255) << 3));
  store<u64>(o, word);
  return o + <usize>(word >> 56);
}

/**
 * Where the compact record at p ends, as binRun() reads it (the bytes past
 * the window's end read as whatever lies there); past the window, so that
 * binRun() stops there, when it is not one binRun() reads.
 */
function recordEnd(p: i32): i32 {
  let tag = <i32>load<u8>(binIn + <usize>p);
  if (tag < R_READ || tag > R_STORE) return i32.MAX_VALUE;
  if (varint7(p + 2) < 0) return i32.MAX_VALUE;
  let q = p + 2 + varLen;
  if (tag != R_FALLOCATE) return q + (<i32>(tag == R_WRITE) | <i32>(tag == R_STORE));
  if (varint7(q + 1) < 0) return i32.MAX_VALUE;
  return q + 1 + varLen;
}

/**
 * Reads and runs records from binIn[start, len), writing success lines to
 * binOut from byte `outAt` (what lies before is the kernel layer's, not yet
 * taken); `at` is the counted index of the first line, `room`
 * the frame headroom (typedSpent() after). `final`: the window ends where
 * the trace does, so its last records are read up to `len` (a record cut
 * short there is the kernel layer's to refuse); otherwise reading stops
 * where a longest record might not fit, to go on in the next window.
 * Returns why it stopped (BIN_*); binPos(), binOutLen() and binCount() say
 * where.
 */
export function binRun(len: i32, start: i32, at: f64, room: f64, final: bool, outAt: i32): i32 {
  pos = start;
  outLen = min(max(outAt, 0), BIN_OUT_CAP);
  count = at;
  counterLen = digitsAt(counter, <u64>at);
  if (!typedBegin(room)) return BIN_COMMAND;
  if (len > BIN_IN_CAP) len = BIN_IN_CAP;
  // How far records can be read without a check of their end: past it, one may be cut short at the window's end.
  let safe = len - BIN_REC_LONGEST;
  for (;;) {
    let p = pos;
    if (p >= len) return BIN_INPUT;
    // Near the end of the trace, a record that ends by `len` is read as anywhere (one cut short goes the kernel
    // layer's way, to be refused); short of it, the rest is read from the next window.
    if (p > safe && (!final || recordEnd(p) > len)) return final ? BIN_RECORD : BIN_INPUT;
    if (outLen + LINE_MAX > BIN_OUT_CAP) return BIN_OUTPUT;
    recordStart = p;
    let tag = <i32>load<u8>(binIn + <usize>p);
    if (tag < R_READ || tag > R_STORE) return BIN_RECORD;
    let name = <i32>load<u8>(binIn + <usize>(p + 1));
    if (name >= 0x80 || name >= namesN) return BIN_RECORD;
    let h = load<i32>(names + (<usize>name << 2));
    if (h < 0) return BIN_RECORD;
    let a = varint7(p + 2);
    if (a < 0) return BIN_RECORD;
    let q = p + 2 + varLen;
    let op: i32;
    let b: i64 = 0;
    if (tag == R_FALLOCATE) {
      let form = <i32>load<u8>(binIn + <usize>q);
      if (form >= BIN_MODE_FORMS) return BIN_RECORD;
      b = varint7(q + 1);
      if (b < 0) return BIN_RECORD;
      pos = q + 1 + varLen;
      op = form < 2 ? TYPED_ALLOCATE : TYPED_PUNCH; // forms 0 and 1 keep the size, 2 and 3 punch
    } else {
      // The tags READ..EXEC and LOAD..STORE run in the typed opcodes' order (core-abi.ts): an offset each, by a select.
      op = tag >= R_LOAD ? tag + (TYPED_LOAD - R_LOAD) : tag + (TYPED_READ - R_READ);
      let valued = <i32>(tag == R_WRITE) | <i32>(tag == R_STORE);
      b = valued ? <i64>load<u8>(binIn + <usize>q) : 0;
      pos = q + valued;
    }
    let st = typedCmd<i64>(op, typedHandle(h), a, b);
    if (st == RAN_FIX) return BIN_RESULT;
    if (st != RAN_OK) {
      pos = p;
      return BIN_COMMAND;
    }
    // {"i":N,"ret":0} or {"i":N,"ret":0,"value":V}
    let o = binOut + <usize>outLen;
    store<u64>(o, OPEN); // 5 bytes count: the other 3 are overwritten next
    o += 5;
    // Two words rather than memory.copy (a call): what passes the digits is overwritten next, or lies past the line.
    store<u64>(o, load<u64>(counter));
    store<u64>(o, load<u64>(counter, 8), 8);
    o += <usize>counterLen;
    store<u64>(o, RET);
    o += 8;
    // No branch on the op (mixed ops mispredict it): ,"value":V}\n is written, and for an op that reads no byte
    // }\n over its start.
    store<u64>(o, VALUE);
    store<u8>(o, 58, 8);
    let valueEnd = byteLineEnd(o + 9, <u32>okValue);
    let reads = (tag == R_READ) | (tag == R_LOAD);
    let end = reads ? valueEnd : o + 2;
    store<u16>(end - 2, CLOSE);
    outLen = <i32>(end - binOut);
    count++;
    countUp();
  }
  return BIN_INPUT; // not reached: the loop ends only by a stop
}
