/**
 * A JSON reader and writer that keep integers exact: trace numbers are 64-bit,
 * and JSON.parse would round anything past 2^53. Integers come back as number
 * when safe and bigint otherwise; a number with a fraction or exponent comes back
 * as a JsonFraction, so that field readers can refuse it by name.
 *
 * Hostile input is bounded: objects have no prototype (a "__proto__" key is a
 * plain key), a key given twice, nesting deeper than MAX_DEPTH and number
 * literals longer than MAX_NUMBER_CHARS are syntax errors, found before any
 * work is spent on them.
 */

/** Deepest nesting of objects and arrays a line may have (a trace line needs 3). */
export const MAX_DEPTH = 32;
/** Longest number literal (a 64-bit value needs at most 20 digits and a sign; strings in strtoull syntax have the same bound). */
export const MAX_NUMBER_CHARS = 40;

export class JsonFraction {
  constructor(readonly text: string) {}
}

export type Json = null | boolean | number | bigint | string | JsonFraction | Json[] | { [k: string]: Json };

export class JsonSyntaxError extends Error {}

/** Sticky, so that a number is matched where it stands instead of on a copy of the rest of the line. */
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/**
 * Text the native JSON.parse reads exactly as parseJson does: no number with a
 * fraction or exponent or 16 digits or more (every integer is then a safe
 * number) and no "__proto__" key. Matches in strings only send a line to the
 * exact reader, which is never wrong.
 */
const NOT_NATIVE = /\d[.eE]|\d{16}|__proto__/;
/** A key's closing quote: every key matches, and so may a string holding '":'. */
const KEY_END = /"[ \t\n\r]*:/g;

/** Keys of every object in a native parse, or -1 past MAX_DEPTH. */
function keyCount(v: unknown, depth: number): number {
  if (v === null || typeof v !== "object") return 0;
  if (depth >= MAX_DEPTH) return -1;
  let n = 0;
  if (Array.isArray(v)) {
    for (const x of v) {
      const k = keyCount(x, depth + 1);
      if (k < 0) return -1;
      n += k;
    }
    return n;
  }
  for (const key in v) {
    const k = keyCount((v as Record<string, unknown>)[key], depth + 1);
    if (k < 0) return -1;
    n += k + 1;
  }
  return n;
}

/**
 * The native parse where it gives the same value (most trace lines): its
 * objects hold the same own keys as parseJson's, with Object.prototype
 * (readers read own keys only). null where the exact reader must decide: a
 * number it would read differently, a syntax error (for its sentence), a key
 * given twice (the native parse keeps the last, so fewer keys come back than
 * the text has), nesting past MAX_DEPTH.
 */
function parseNative(text: string): Json | null {
  if (NOT_NATIVE.test(text)) return null;
  let v: Json;
  try {
    v = JSON.parse(text) as Json;
  } catch {
    return null;
  }
  if (v === null || typeof v !== "object") return v;
  const keys = keyCount(v, 0);
  if (keys < 0) return null;
  KEY_END.lastIndex = 0;
  let marks = 0;
  while (KEY_END.test(text)) marks++;
  return marks === keys ? v : null;
}

export function parseJson(text: string): Json {
  const native = parseNative(text);
  if (native !== null) return native;
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at column ${i + 1}`);
  };
  let depth = 0;
  const value = (): Json => {
    ws();
    const c = text[i];
    if ((c === "{" || c === "[") && ++depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
    if (c === "{") {
      i++;
      const obj: { [k: string]: Json } = Object.create(null);
      ws();
      if (text[i] === "}") {
        i++;
        depth--;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a string key");
        const keyAt = i;
        const k = string();
        // A key given twice is ambiguous (readers differ on which one wins): refused, as an unknown field is.
        if (k in obj) {
          i = keyAt;
          fail(`duplicate key ${JSON.stringify(k.length > 40 ? k.slice(0, 37) + "..." : k)}`);
        }
        ws();
        if (text[i++] !== ":") fail("expected ':'");
        obj[k] = value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          depth--;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        depth--;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          depth--;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (text.startsWith("true", i)) return (i += 4), true;
    if (text.startsWith("false", i)) return (i += 5), false;
    if (text.startsWith("null", i)) return (i += 4), null;
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail("unexpected character");
    if (m[0].length > MAX_NUMBER_CHARS) fail(`a number longer than ${MAX_NUMBER_CHARS} characters`);
    i += m[0].length;
    if (m[2] || m[3]) return new JsonFraction(m[0]);
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  };
  const string = (): string => {
    const start = i;
    i++;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i++];
      if (c === '"') return out;
      if (c === "\\") {
        const e = text[i++];
        const map: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e === "u") {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
        } else if (e in map) out += map[e];
        else fail("bad escape");
      } else if (c < " ") {
        i = start;
        fail("control character in string");
      } else out += c;
    }
  };
  const v = value();
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}

/** Fast check for the common case: a value with no bigint inside can go through JSON.stringify. */
function hasBigint(v: unknown, depth = 0): boolean {
  if (typeof v === "bigint") return true;
  if (v === null || typeof v !== "object" || depth > MAX_DEPTH) return false;
  if (Array.isArray(v)) return v.some((x) => hasBigint(x, depth + 1));
  for (const k in v) if (hasBigint((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

function writeValue(v: unknown): string {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof JsonFraction) return v.text;
  if (Array.isArray(v)) return `[${v.map(writeValue).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const parts: string[] = [];
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) parts.push(`${JSON.stringify(k)}:${writeValue(x)}`);
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** JSON text of a value, with every integer as its exact decimal digits, bigints included (SPEC §5). */
export function stringifyJson(v: unknown): string {
  return hasBigint(v) ? writeValue(v) : JSON.stringify(v);
}

/** A short, safe rendering of any value for an error sentence (bigints, deep or long values included). */
export function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === "function" || typeof v === "symbol" ? `a ${typeof v}` : v === undefined ? "nothing" : writeValue(v);
  } catch {
    // A hostile value (a proxy whose traps throw; a revoked proxy, on which even toString throws) still gets a name.
    try {
      s = Object.prototype.toString.call(v);
    } catch {
      s = "an unreadable object";
    }
  }
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}
