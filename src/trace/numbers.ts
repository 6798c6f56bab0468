/**
 * Trace numbers and flags (SPEC §5): JSON integers or strings in strtoull(..., 0)
 * syntax, wrapped to the field's C type as C would; flags as a number, a name,
 * or an array of both OR-ed, with or without the C prefix.
 */
import { TraceError } from "../errors.js";
import { FLAG_NAMES, FLAG_PREFIXES } from "../uapi/constants.js";
import { JsonFraction, type Json } from "./json.js";

export type CType = "u64" | "s64" | "u32" | "int";

const TWO64 = 1n << 64n;

/** strtoull(s, NULL, 0): optional sign, then 0x hex, 0 octal, or decimal; the whole string must be used. */
function strtoull(field: string, s: string): bigint {
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
  throw new TraceError(`${field}: expected a number, got ${JSON.stringify(v)}`);
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
    if (typeof x === "string" && !/^\s*[+-]?\d/.test(x)) {
      const bare = x.startsWith(prefix) ? x.slice(prefix.length) : x;
      if (!(bare in names)) throw new TraceError(`${field}: unknown flag "${x}" (known: ${Object.keys(names).join(", ")})`);
      return BigInt(names[bare]);
    }
    return toBits(field, x);
  };
  if (Array.isArray(v)) return v.reduce<bigint>((acc, x) => acc | one(x), 0n);
  return one(v as Json);
}
