/**
 * Trace numbers and flags (SPEC §5): JSON integers or strings in strtoull(..., 0)
 * syntax, wrapped to the field's C type as C would; flags as a number, a name,
 * or an array of both OR-ed, with or without the C prefix.
 */
import { TraceError } from "../errors.js";
import { CAPS, FLAG_NAMES, FLAG_PREFIXES, PROT_EXEC, PROT_READ, PROT_WRITE, VM_TYPE_DEFAULT, VM_TYPE_SW_PROTECTED } from "../uapi/constants.js";
import { JsonFraction, MAX_NUMBER_CHARS, show, type Json } from "./json.js";
import type { CType } from "./opdefs.js";

export type { CType };

const TWO64 = 1n << 64n;

/** strtoull(s, NULL, 0): optional sign, then 0x hex, 0 octal, or decimal; the whole string must be used. */
function strtoull(field: string, s: string): bigint {
  if (s.length > MAX_NUMBER_CHARS) throw new TraceError(`${field}: a number string longer than ${MAX_NUMBER_CHARS} characters`);
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) throw new TraceError(`${field}: "${s}" is not a number in strtoull syntax`);
  const digits = m[2];
  const mag = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits[0] === "0" ? BigInt("0o" + digits.slice(1)) : BigInt(digits);
  if (mag >= TWO64) throw new TraceError(`${field}: ${s} does not fit in 64 bits`);
  return m[1] === "-" ? (TWO64 - mag) % TWO64 : mag;
}

/** Any integer the trace may give, as the 64-bit pattern strtoull would return. */
export function toBits(field: string, v: Json | undefined): bigint {
  if (typeof v === "number" && !Number.isInteger(v)) throw new TraceError(`${field}: ${v} is not an integer`);
  if (typeof v === "number" || typeof v === "bigint") {
    const b = BigInt(v);
    if (b >= TWO64 || b <= -TWO64) throw new TraceError(`${field}: ${v} does not fit in 64 bits`);
    return BigInt.asUintN(64, b);
  }
  if (typeof v === "string") return strtoull(field, v);
  if (v instanceof JsonFraction) throw new TraceError(`${field}: ${v.text} is not an integer`);
  if (typeof v === "boolean") throw new TraceError(`${field}: a boolean is not a number`);
  throw new TraceError(`${field}: expected a number, got ${show(v)}`);
}

export function wrap(bits: bigint, type: CType): bigint {
  switch (type) {
    case "u64":
      return bits;
    case "s64":
      return BigInt.asIntN(64, bits);
    case "u32":
      return BigInt.asUintN(32, bits);
    case "int":
      return BigInt.asIntN(32, bits);
  }
}

/** Flags of a family ("gmem", "memslot", "falloc", "attributes"): number, name, or an array OR-ed. */
export function toFlags(field: string, family: string, v: Json | undefined): bigint {
  const names = FLAG_NAMES[family];
  const prefix = FLAG_PREFIXES[family];
  const one = (x: Json): bigint => {
    if (isName(x)) {
      const bare = x.startsWith(prefix) ? x.slice(prefix.length) : x;
      if (!Object.hasOwn(names, bare)) throw new TraceError(`${field}: unknown flag "${x}" (known: ${Object.keys(names).join(", ")})`);
      return BigInt(names[bare]);
    }
    return toBits(field, x);
  };
  if (Array.isArray(v)) return v.reduce<bigint>((acc, x) => acc | one(x), 0n);
  return one(v as Json);
}

/** A value given by name rather than as a number (a string that does not start like one). */
const isName = (v: unknown): v is string => typeof v === "string" && !/^\s*[+-]?\d/.test(v);

/** mmap protection: letters of "rwx", "none", or a number. */
export function toProt(field: string, v: Json | undefined): number {
  if (isName(v)) {
    if (v === "none") return 0;
    if (!/^[rwx]+$/.test(v)) throw new TraceError(`${field}: "${v}" is not letters of "rwx" or "none"`);
    return (v.includes("r") ? PROT_READ : 0) | (v.includes("w") ? PROT_WRITE : 0) | (v.includes("x") ? PROT_EXEC : 0);
  }
  return Number(BigInt.asIntN(32, toBits(field, v)));
}

/** A KVM_CREATE_VM type: "default", "sw_protected", or a number. */
export function toVmType(field: string, v: Json | undefined): bigint {
  if (v === "default") return BigInt(VM_TYPE_DEFAULT);
  if (v === "sw_protected") return BigInt(VM_TYPE_SW_PROTECTED);
  return toBits(field, v);
}

/** A capability: a number, or its name with or without KVM_CAP_. */
export function toCap(field: string, v: Json | undefined): bigint {
  if (isName(v)) {
    const name = v.startsWith("KVM_CAP_") ? v : `KVM_CAP_${v}`;
    if (!Object.hasOwn(CAPS, name)) throw new TraceError(`${field}: unknown capability "${v}"`);
    return BigInt(CAPS[name]);
  }
  return toBits(field, v);
}
