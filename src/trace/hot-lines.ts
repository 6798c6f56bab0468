/**
 * The hot lines of a JSONL trace, read without the JSON reader: a guest access
 * or a fallocate written exactly as gmemsim writes them (JSON.stringify of the
 * op object: these keys, in this order, no spaces, plain names, integers
 * exact as doubles). Such a line holds nothing the declarations could refuse
 * once these patterns match and the names are live objects of the right kind,
 * so it runs straight into its op with the values the full reader would give.
 * Every other line, and any doubt (a dead or unknown name, a value out of
 * range, another key order), returns null and takes the full reader, whose
 * rules and sentences are the only ones.
 */
import type { Host } from "../kvm/host.js";
import { GmemFile, Memfd, Vm } from "../kvm/objects.js";
import type { Result } from "../kvm/result.js";
import * as fal from "../kvm/ops/fallocate.js";
import * as gu from "../kvm/ops/guest.js";
import { flatName, type Names } from "./names.js";

const ACCESS_HEAD = '{"op":"vcpu_access","vm":"';
const FALLOCATE_HEAD = '{"op":"fallocate","fd":"';

/**
 * The op a line starting at `start` of text may be, if one of the hot ones: a
 * look at two characters ("{" and the op name's first letter, where
 * JSON.stringify puts them), before runHotLine() checks the whole line.
 */
export function hotOp(text: string, start = 0): "vcpu_access" | "fallocate" | null {
  if (text.charCodeAt(start) !== 123) return null;
  const c = text.charCodeAt(start + 7);
  return c === 118 ? "vcpu_access" : c === 102 ? "fallocate" : null;
}

/**
 * The whole shape of a hot line, checked at once by the regular expression
 * engine (compiled to native code, it compares several characters a step,
 * where a scanner in JavaScript reads one): the keys in this order, a name
 * with no escape and no control character (which JSON refuses raw), integers
 * of 1 to 15 digits with no leading zero (exact as doubles), nothing else.
 * Sticky: matched at the line's start only; the line matches when the match
 * ends at its end.
 */
const DIGITS = "(?:0|[1-9]\\d{0,14})";
const NAME = '[^"\\\\\\x00-\\x1f]*';
const ACCESS_LINE = new RegExp(`\\{"op":"vcpu_access","vm":"${NAME}","gpa":${DIGITS},"access":"(?:read|write|exec)"(?:,"value":${DIGITS})?\\}`, "y");
const FALLOCATE_LINE = new RegExp(`\\{"op":"fallocate","fd":"${NAME}","mode":${DIGITS},"offset":${DIGITS},"len":${DIGITS}\\}`, "y");

/** Whether [start, stop) of text is wholly one match of the sticky expression rx. */
function matches(rx: RegExp, text: string, start: number, stop: number): boolean {
  rx.lastIndex = start;
  return rx.test(text) && rx.lastIndex === stop;
}

/**
 * The reader of a line whose shape matched: a cursor over the text, kept
 * here, reading the values at the places the shape puts them.
 */
let line = "";
let at = 0;

/** The integer at the cursor (the shape holds its digits), and the cursor moved past it. */
function int(): number {
  let v = 0;
  for (let c = line.charCodeAt(at); c >= 48 && c <= 57; c = line.charCodeAt(++at)) v = v * 10 + (c - 48);
  return v;
}

/**
 * The names met lately, by a hash of their characters: a hot line's name is
 * then the same string as the last time it was met (no string made per line,
 * and the name table finds an identical key at once). A slot holds a copy of
 * the name, never a slice of the trace, which it would keep alive.
 */
const NAME_SLOTS = 256;
const nameSlots: string[] = new Array<string>(NAME_SLOTS).fill("");

/** The name at the cursor, up to its closing quote (consumed). */
function name(): string {
  const start = at;
  let h = 0;
  for (let c = line.charCodeAt(at); c !== 34; c = line.charCodeAt(++at)) h = (Math.imul(h, 31) + c) | 0;
  const n = at++ - start;
  const slot = h & (NAME_SLOTS - 1);
  const known = nameSlots[slot];
  if (known.length === n) {
    let k = 0;
    while (k < n && known.charCodeAt(k) === line.charCodeAt(start + k)) k++;
    if (k === n) return known;
  }
  // A flat copy: a slice of a long text would keep the whole text alive in the slot.
  const fresh = flatName(line.slice(start, at - 1));
  nameSlots[slot] = fresh;
  return fresh;
}

/**
 * The Result a hot access fills: {ret: 0}, a read's with its value's slot
 * from the start (a property added later costs a second allocation). Made
 * from an empty object, property by property: an object literal has an
 * allocation site, which V8 soon marks to allocate in the old generation
 * (a chunk's Results are all alive at once), where allocating costs several
 * times more.
 */
function accessResult(read: boolean): Result {
  const r = {} as Result;
  r.ret = 0;
  if (read) r.value = 0;
  return r;
}

/**
 * Runs a hot line of the op hotOp() named, [start, stop) of text (already
 * trimmed: no white space at either end), and returns its Result, or null
 * when the line must take the full reader (nothing has run then).
 */
export function runHotLine(host: Host, names: Names, op: "vcpu_access" | "fallocate", text: string, start = 0, stop = text.length): Result | null {
  line = text;
  if (op === "vcpu_access") {
    if (!matches(ACCESS_LINE, text, start, stop)) return null;
    at = start + ACCESS_HEAD.length;
    const vmName = name();
    at += 7; // ,"gpa":
    const gpa = int();
    at += 11; // ,"access":"
    const c = text.charCodeAt(at);
    const access: gu.Access = c === 114 ? "read" : c === 119 ? "write" : "exec";
    at += access.length + 1;
    const value = at < stop - 1 ? ((at += 9), int()) : undefined; // ,"value":
    // A write needs its byte, and a byte is at most 255: the full reader says why otherwise.
    if ((value !== undefined && value > 255) || (access === "write" && value === undefined)) return null;
    const vm = names.peek(vmName);
    if (!(vm instanceof Vm)) return null;
    return gu.vcpuAccess(host, vm.fdOpen ? vm : null, gpa, access, undefined, access === "write" ? value! : 0, accessResult(access === "read"));
  }
  if (!matches(FALLOCATE_LINE, text, start, stop)) return null;
  at = start + FALLOCATE_HEAD.length;
  const fdName = name();
  at += 8; // ,"mode":
  // mode is an int: past 2^31 - 1 it wraps, which the full reader does.
  const mode = int();
  if (mode > 0x7fffffff) return null;
  at += 10; // ,"offset":
  const offset = int();
  at += 7; // ,"len":
  const len = int();
  const fd = names.peek(fdName);
  if (!(fd instanceof GmemFile || fd instanceof Memfd || fd instanceof Vm)) return null;
  return fal.fallocate(host, fd.fdOpen ? fd : null, mode, offset, len);
}

const isSafeCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Whether every key for-in visits is one of these: no field the op does not
 * take. Only the names are compared (each an internalized string: a pointer
 * compare), with no hasOwn per key: inheritedHotField() rules out an
 * inherited field instead, and an inherited key that is none of these (an
 * enumerable one on Object.prototype) sends the op to the full reader, which
 * reads only own keys.
 */
function keysWithin(obj: Record<string, unknown>, a: string, b: string, c: string, d: string, e: string): boolean {
  for (const k in obj) if (k !== a && k !== b && k !== c && k !== d && k !== e) return false;
  return true;
}

/**
 * Whether a hot op's field name can be read off Object.prototype (the one
 * prototype besides null that isRecord() lets through): then obj.gpa need not
 * be an own field, and the op takes the full reader. Asked after the fields
 * were read (an API caller's getter could have changed it), with constant keys
 * (a few ns).
 */
function inheritedHotField(): boolean {
  const p = Object.prototype;
  return "op" in p || "vm" in p || "gpa" in p || "access" in p || "value" in p || "fd" in p || "mode" in p || "offset" in p || "len" in p;
}

/**
 * A hot op object as read by readHotOp(): which op (HOT_READ ... HOT_FALLOCATE),
 * the object its name is bound to now (of the kind the op takes), and its
 * numbers. One object, rewritten per op (nothing is made per op).
 */
export const HOT_READ = 1;
export const HOT_WRITE = 2;
export const HOT_EXEC = 3;
export const HOT_FALLOCATE = 4;
export const hotArgs = { op: 0, target: null as unknown as Vm | GmemFile | Memfd, gpa: 0, value: 0, mode: 0, offset: 0, len: 0 };

/**
 * Reads a guest access or a fallocate given as an object (the batch tier)
 * whose fields are plain names and safe integers, with no other key, into
 * hotArgs; 0 (having read nothing into it) for anything the full reader must
 * look at: another op, a key the op does not take, a value of another type or
 * out of range, a name not bound to an object of the kind the op takes.
 * Those the full reader would accept with the same values and names.
 */
export function readHotOp(names: Names, obj: Record<string, unknown>): number {
  const op = obj.op;
  if (op === "vcpu_access") {
    const name = obj.vm;
    const gpa = obj.gpa;
    const access = obj.access;
    const value = obj.value;
    if (typeof name !== "string" || !isSafeCount(gpa) || (access !== "read" && access !== "write" && access !== "exec")) return 0;
    if (value === undefined ? access === "write" : !(isSafeCount(value) && value <= 255)) return 0;
    if (!keysWithin(obj, "op", "vm", "gpa", "access", "value") || inheritedHotField()) return 0;
    const vm = names.peek(name);
    if (!(vm instanceof Vm)) return 0;
    hotArgs.target = vm;
    hotArgs.gpa = gpa;
    hotArgs.value = access === "write" ? (value as number) : 0;
    return (hotArgs.op = access === "read" ? HOT_READ : access === "write" ? HOT_WRITE : HOT_EXEC);
  }
  if (op === "fallocate") {
    const name = obj.fd;
    const mode = obj.mode;
    const offset = obj.offset;
    const len = obj.len;
    if (typeof name !== "string" || !isSafeCount(mode) || mode > 0x7fffffff || !isSafeCount(offset) || !isSafeCount(len)) return 0;
    if (!keysWithin(obj, "op", "fd", "mode", "offset", "len") || inheritedHotField()) return 0;
    const fd = names.peek(name);
    if (!(fd instanceof GmemFile || fd instanceof Memfd || fd instanceof Vm)) return 0;
    hotArgs.target = fd;
    hotArgs.mode = mode;
    hotArgs.offset = offset;
    hotArgs.len = len;
    return (hotArgs.op = HOT_FALLOCATE);
  }
  return 0;
}

const ACCESS_NAME = ["", "read", "write", "exec"] as const;

/** The object readHotOp() found, let go of here (so that a simulator dropped since is not kept alive by it). */
export function takeTarget(): Vm | GmemFile | Memfd {
  const t = hotArgs.target;
  hotArgs.target = null as never;
  return t;
}

/**
 * Runs an op given as an object through the kernel layer, if readHotOp()
 * takes it; null (having run nothing) sends it to the full reader. `into`,
 * {ret: 0} on entry, is the object an access fills (fresh when omitted).
 */
export function runHotOp(host: Host, names: Names, obj: Record<string, unknown>, into?: Result): Result | null {
  const op = readHotOp(names, obj);
  if (op === 0) return null;
  const t = takeTarget();
  if (op === HOT_FALLOCATE) return fal.fallocate(host, t.fdOpen ? t : null, hotArgs.mode, hotArgs.offset, hotArgs.len);
  return gu.vcpuAccess(host, t.fdOpen ? (t as Vm) : null, hotArgs.gpa, ACCESS_NAME[op] as gu.Access, undefined, hotArgs.value, into);
}
