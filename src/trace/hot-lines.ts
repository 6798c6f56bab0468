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
import type { Names } from "./names.js";

/** A JSON integer of at most 15 digits (exact as a double), no leading zero. */
const INT = "(0|[1-9]\\d{0,14})";
/** A name with no escape, no quote and no control character (which JSON refuses raw). */
const NAME = '([^"\\\\\\x00-\\x1f]*)';
const ACCESS = new RegExp(`^\\{"op":"vcpu_access","vm":"${NAME}","gpa":${INT},"access":"(read|write|exec)"(?:,"value":${INT})?\\}$`);
const FALLOCATE = new RegExp(`^\\{"op":"fallocate","fd":"${NAME}","mode":${INT},"offset":${INT},"len":${INT}\\}$`);

/** The op the line names, if it is one of the hot ones (a cheap look before any pattern runs). */
export function hotOp(text: string): "vcpu_access" | "fallocate" | null {
  if (text.startsWith('{"op":"vcpu_access",')) return "vcpu_access";
  if (text.startsWith('{"op":"fallocate",')) return "fallocate";
  return null;
}

/**
 * Runs a hot line (already trimmed) of the op hotOp() named and returns its
 * Result, or null when the line must take the full reader (nothing has run then).
 */
export function runHotLine(host: Host, names: Names, op: "vcpu_access" | "fallocate", text: string): Result | null {
  if (op === "vcpu_access") {
    const m = ACCESS.exec(text);
    if (!m) return null;
    const vm = names.peek(m[1]);
    const value = m[4] === undefined ? undefined : Number(m[4]);
    // A write needs its byte, and a byte is at most 255: the full reader says why otherwise.
    if (!(vm instanceof Vm) || (m[3] === "write" && value === undefined) || (value !== undefined && value > 255)) return null;
    const access = m[3] as gu.Access;
    return gu.vcpuAccess(host, vm.fdOpen ? vm : null, Number(m[2]), access, false, access === "write" ? value! : 0);
  }
  {
    const m = FALLOCATE.exec(text);
    if (!m) return null;
    const fd = names.peek(m[1]);
    // mode is an int: past 2^31 - 1 it wraps, which the full reader does.
    const mode = Number(m[2]);
    if (!(fd instanceof GmemFile || fd instanceof Memfd || fd instanceof Vm) || mode > 0x7fffffff) return null;
    return fal.fallocate(host, fd.fdOpen ? fd : null, mode, Number(m[3]), Number(m[4]));
  }
}

const isSafeCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Only these own keys (inherited ones never count, and an unknown one sends the op to the full reader). */
function onlyKeys(obj: Record<string, unknown>, a: string, b: string, c: string, d: string, e: string): boolean {
  for (const k in obj) if ((k !== a && k !== b && k !== c && k !== d && k !== e) || !Object.hasOwn(obj, k)) return false;
  return true;
}

/**
 * The same for an op given as an object (the batch tier): a guest access or a
 * fallocate whose fields are plain names and safe integers, with no other key.
 * null sends it to the full reader.
 */
export function runHotOp(host: Host, names: Names, obj: Record<string, unknown>): Result | null {
  const op = obj.op;
  if (op === "vcpu_access") {
    const name = obj.vm;
    const gpa = obj.gpa;
    const access = obj.access;
    const value = obj.value;
    if (typeof name !== "string" || !isSafeCount(gpa) || (access !== "read" && access !== "write" && access !== "exec")) return null;
    if (value === undefined ? access === "write" : !(isSafeCount(value) && value <= 255)) return null;
    if (!onlyKeys(obj, "op", "vm", "gpa", "access", "value")) return null;
    const vm = names.peek(name);
    if (!(vm instanceof Vm)) return null;
    return gu.vcpuAccess(host, vm.fdOpen ? vm : null, gpa, access, false, access === "write" ? (value as number) : 0);
  }
  if (op === "fallocate") {
    const name = obj.fd;
    const mode = obj.mode;
    const offset = obj.offset;
    const len = obj.len;
    if (typeof name !== "string" || !isSafeCount(mode) || mode > 0x7fffffff || !isSafeCount(offset) || !isSafeCount(len)) return null;
    if (!onlyKeys(obj, "op", "fd", "mode", "offset", "len")) return null;
    const fd = names.peek(name);
    if (!(fd instanceof GmemFile || fd instanceof Memfd || fd instanceof Vm)) return null;
    return fal.fallocate(host, fd.fdOpen ? fd : null, mode, offset, len);
  }
  return null;
}
