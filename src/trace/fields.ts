/**
 * The one argument reader: checks an op's line (or an API option object)
 * against its declaration in opdefs.ts and converts every value before anything
 * runs, so that a malformed line is a trace error that changed nothing.
 *
 * Only own keys are read (Object.keys, Object.hasOwn): "__proto__", "toString"
 * and the other Object.prototype names are plain unknown names.
 */
import { TraceError } from "../errors.js";
import type { Fd, HostMap, Pin, Vm } from "../kvm/objects.js";
import { isPerm, type Perm } from "../kvm/perm.js";
import { show, type Json } from "./json.js";
import type { Names } from "./names.js";
import { toBits, toCap, toFlags, toProt, toVmType, wrap } from "./numbers.js";
import type { CType, FieldDef, OpDef } from "./opdefs.js";
import { copyAt, shapeSite } from "./shape.js";

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The known name nearest to `name`, if it is near enough to be a typo of it. */
export function nearest(name: string, known: readonly string[]): string | undefined {
  if (name.length > 64) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3))) return best;
  // A longer or shorter spelling of a known name ("length" for "len").
  const lower = name.toLowerCase();
  return known.find((k) => k.length >= 3 && (lower.startsWith(k.toLowerCase()) || k.toLowerCase().startsWith(lower)) && Math.min(lower.length, k.length) >= 3);
}

/** " (did you mean X?)", or nothing. */
export function suggestion(name: string, known: readonly string[]): string {
  const n = nearest(name, known);
  return n ? ` (did you mean ${n}?)` : "";
}

/** A short rendering of a key for a sentence. */
function keyName(k: string): string {
  return k.length > 40 ? JSON.stringify(k.slice(0, 37) + "...") : /^[\w.]+$/.test(k) ? k : JSON.stringify(k);
}

/**
 * Refuses any own key of `obj` that is not in `known`: "K: unknown field of WHAT
 * (did you mean X?)". The same rule for trace lines and API option objects.
 */
export function checkKnownKeys(what: string, obj: object, known: readonly string[], noun = "field"): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new TraceError(`${keyName(k)}: unknown ${noun} of ${what}${suggestion(k, known)}`);
  }
}

/** An own property, or undefined: inherited names never count. */
export function own(obj: object, k: string): unknown {
  return Object.hasOwn(obj, k) ? (obj as Record<string, unknown>)[k] : undefined;
}

/** A JSON object (trace lines: no prototype; API objects: a plain object), not an array or a class instance. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  let p: unknown;
  try {
    if (Array.isArray(v)) return false;
    p = Object.getPrototypeOf(v);
  } catch {
    // A revoked proxy (Array.isArray and getPrototypeOf throw on it), or a proxy whose getPrototypeOf trap throws:
    // no plain object, said as such, where the throw would have escaped apply().
    return false;
  }
  return p === null || p === Object.prototype;
}

/** A userspace_addr as read: a number, or a host region of the trace. */
export type UserspaceAddr = { addr: bigint } | { map: HostMap; offset: bigint } | { anon: string; offset: bigint; existing: HostMap | null };

/** The value of every field, converted: what each kind reads to. */
export type ArgValue = bigint | number | boolean | string | Vm | Fd | HostMap | Pin | Perm[] | bigint[] | UserspaceAddr | null | undefined | Record<string, unknown>;
export type Args = Record<string, ArgValue>;

function readByte(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) throw new TraceError(`${field}: expected a byte value from 0 to 255, got ${show(v)}`);
  return v;
}

function readBool(field: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new TraceError(`${field}: expected true or false, got ${show(v)}`);
  return v;
}

function readEnum(field: string, def: FieldDef, v: unknown): string {
  const values = def.values ?? [];
  if (typeof v !== "string" || !values.includes(v)) {
    const hint = typeof v === "string" ? suggestion(v, values) : "";
    throw new TraceError(`${field}: ${show(v)} is not ${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}${hint}`);
  }
  return v;
}

function readPerms(field: string, v: unknown): Perm[] {
  if (!Array.isArray(v) || !v.every(isPerm)) throw new TraceError(`${field}: expected an array of "r", "w", "x", "alloc", "punch", got ${show(v)}`);
  return [...v];
}

function readName(field: string, v: unknown): string {
  if (typeof v !== "string") throw new TraceError(`${field}: expected a name, got ${show(v)}`);
  return v;
}

/** userspace_addr: a number, or {"anon": NAME} / {"map": NAME} with an optional offset. */
function readUserspaceAddr(field: string, v: unknown, names: Names): UserspaceAddr {
  if (!isRecord(v)) return { addr: wrap(toBits(field, v as Json), "u64") };
  const hasMap = Object.hasOwn(v, "map");
  const hasAnon = Object.hasOwn(v, "anon");
  if (hasMap === hasAnon) throw new TraceError(`${field}: expected a number, {"anon": NAME} or {"map": NAME}, got ${show(v)}`);
  checkKnownKeys(field, v, [hasMap ? "map" : "anon", "offset"]);
  const offset = Object.hasOwn(v, "offset") ? wrap(toBits(`${field}.offset`, v.offset as Json), "u64") : 0n;
  if (hasMap) return { map: names.map(`${field}.map`, v.map), offset };
  const name = readName(`${field}.anon`, v.anon);
  return { anon: name, offset, existing: names.has(name) ? names.map(`${field}.anon`, name) : null };
}

/** Reads one present field by its kind. */
function readField(field: string, def: FieldDef, v: unknown, names: Names): ArgValue {
  switch (def.kind) {
    case "int":
      return wrap(toBits(field, v as Json), def.ctype ?? "u64");
    case "flags":
      return wrap(toFlags(field, def.family ?? "", v as Json), def.ctype ?? "u64");
    case "vm":
      return names.vm(field, v);
    case "fd":
      return names.fd(field, v);
    case "map":
      return names.map(field, v);
    case "as": {
      const name = readName(field, v);
      names.checkFree(name);
      return name;
    }
    case "fd_or_number":
      return typeof v === "string" && namesFd(v) ? names.fd(field, v) : Number(wrap(toBits(field, v as Json), "u32"));
    case "userspace_addr":
      return readUserspaceAddr(field, v, names);
    case "bool":
      return readBool(field, v);
    case "byte":
      return readByte(field, v);
    case "enum":
      return readEnum(field, def, v);
    case "prot":
      return toProt(field, v as Json);
    case "vm_type":
      return toVmType(field, v as Json);
    case "cap":
      return toCap(field, v as Json);
    case "perm_list":
      return readPerms(field, v);
    case "result":
      if (!isRecord(v)) throw new TraceError(`${field}: expected a result object, got ${show(v)}`);
      return v;
    case "pin":
      return names.pin(field, v);
    case "u64_list": {
      const max = def.max ?? Infinity;
      if (!Array.isArray(v) || v.length > max) throw new TraceError(`${field}: expected an array of at most ${max} u64`);
      return v.map((x, i) => wrap(toBits(`${field}[${i}]`, x as Json), "u64"));
    }
  }
}

/** The value a left-out field takes: 0 in a struct op, its declared default, or absent. */
function absent(field: string, def: FieldDef, op: OpDef): ArgValue {
  if (def.default !== undefined) return typeof def.default === "number" && (def.kind === "int" || def.kind === "flags") ? BigInt(def.default) : def.default;
  if (def.optional) return undefined;
  if (op.struct && (def.kind === "int" || def.kind === "flags" || def.kind === "userspace_addr" || def.kind === "fd_or_number"))
    return def.kind === "userspace_addr" ? { addr: 0n } : def.kind === "fd_or_number" ? 0 : 0n;
  throw new TraceError(`missing field "${field}"`);
}

/** Every field name an op's line may carry. */
export function knownFields(op: OpDef): string[] {
  return ["op", ...Object.keys(op.fields), ...(op.ignored ?? []), "expect"];
}

type FieldReader = (field: string, v: unknown, names: Names) => ArgValue;

/**
 * An int field's reader for an op that takes numbers (OpDef.numbers): a JSON
 * integer that is exact as a double and already inside its C type's range is
 * the same value either way, so it stays a number; anything else (a string, a
 * value the type wraps, past 2^53) is read and wrapped as a bigint as before.
 */
function numberIntReader(ctype: CType): FieldReader {
  const [lo, hi] = ctype === "u64" ? [0, Number.MAX_SAFE_INTEGER] : ctype === "s64" ? [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] : ctype === "u32" ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
  return (field, v) => (typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi ? v : wrap(toBits(field, v as Json), ctype));
}

/** A field's reader, chosen once per declaration (no switch on the kind per line). */
function fieldReader(def: FieldDef, numbers: boolean): FieldReader {
  switch (def.kind) {
    case "int":
      return numbers ? numberIntReader(def.ctype ?? "u64") : (field, v) => wrap(toBits(field, v as Json), def.ctype ?? "u64");
    case "flags":
      if (numbers) {
        const int = numberIntReader(def.ctype ?? "u64");
        return (field, v, names) => (typeof v === "number" ? int(field, v, names) : wrap(toFlags(field, def.family ?? "", v as Json), def.ctype ?? "u64"));
      }
      return (field, v) => wrap(toFlags(field, def.family ?? "", v as Json), def.ctype ?? "u64");
    case "byte":
      return (field, v) => readByte(field, v);
    case "enum":
      return (field, v) => readEnum(field, def, v);
    case "vm":
      return (field, v, names) => names.vm(field, v);
    case "fd":
      return (field, v, names) => names.fd(field, v);
    case "map":
      return (field, v, names) => names.map(field, v);
    default:
      return (field, v, names) => readField(field, def, v, names);
  }
}

/** Per declaration, computed once: the known names (a Set, for the per-line check) and the fields in order. */
export interface Prepared {
  known: readonly string[];
  knownSet: ReadonlySet<string>;
  names: readonly string[];
  defs: readonly FieldDef[];
  readers: readonly FieldReader[];
  /** Per field: 1 if it names an object (vm, fd, pin), 2 if it binds a name ("as"), 3 for an fd or a number, 4 for a map, 0 otherwise. */
  refs: readonly number[];
  /** Every field present, undefined: copied per line, so that each line's args share one shape. */
  template: Args;
  /** Where the template is copied (shape.ts): a copy site of its own, not one shared by every op. */
  site: number;
}
const prepared = new WeakMap<OpDef, Prepared>();
export function prepare(op: OpDef): Prepared {
  let p = prepared.get(op);
  if (!p) {
    const known = knownFields(op);
    const names = Object.keys(op.fields);
    const defs = names.map((n) => op.fields[n]);
    p = { known, knownSet: new Set(known), names, defs, readers: defs.map((d) => fieldReader(d, op.numbers === true)), refs: defs.map(refKind), template: Object.fromEntries(names.map((n) => [n, undefined])), site: shapeSite() };
    prepared.set(op, p);
  }
  return p;
}

/** What a field's name refers to, for nameRefusal(): nothing, an object, the name "as" binds, an fd or a number, a map. */
const REF_NONE = 0;
const REF_OBJECT = 1;
const REF_AS = 2;
const REF_FD_OR_NUMBER = 3;
const REF_MAP = 4;

function refKind(def: FieldDef): number {
  return def.kind === "vm" || def.kind === "fd" || def.kind === "pin" ? REF_OBJECT : def.kind === "as" ? REF_AS : def.kind === "fd_or_number" ? REF_FD_OR_NUMBER : def.kind === "map" ? REF_MAP : REF_NONE;
}

/** An fd_or_number given as a string names an fd unless it reads as a number. */
function namesFd(v: string): boolean {
  return !/^\s*[+-]?\d/.test(v);
}

/**
 * The sentence the field's reader would throw because of what its name is bound to (a reference to a name that
 * names nothing, a map that is not a live map, an "as" that names a live object), or null: random traces hit these
 * on a third of their ops, and a thrown and caught error costs more than the op.
 */
function nameRefusal(ref: number, field: string, v: unknown, names: Names): string | null {
  if (typeof v !== "string") return null;
  if (ref === REF_AS) return names.taken(v);
  // A map must also be live: a dead or unmapped one is refused here too.
  if (ref === REF_MAP) return names.mapRefusal(field, v);
  return ref === REF_OBJECT || namesFd(v) ? names.unknown(field, v) : null;
}

/** Refuses a field the op does not take, naming it, with the nearest known field. */
export function checkFields(name: string, op: OpDef, line: Record<string, unknown>, p: Prepared = prepare(op)): void {
  // for-in allocates no key array; checkKnownKeys then names the first unknown own key.
  for (const k in line) if (!p.knownSet.has(k)) return checkKnownKeys(name, line, p.known);
}

/**
 * Reads a trace line for its op (whose fields checkFields has checked):
 * missing fields and malformed values are trace errors, raised before anything
 * runs. Names are resolved here, and "as" is checked free. A name refused for
 * what it is bound to (unknown, or an "as" already live) comes back as the
 * trace error's sentence instead of thrown (the same sentence, at the same
 * field: fields are read in order either way).
 */
export function readArgs(name: string, op: OpDef, line: Record<string, unknown>, names: Names, p: Prepared = prepare(op)): Args | string {
  const args = copyAt(p.site, p.template) as Args;
  for (let k = 0; k < p.names.length; k++) {
    const field = p.names[k];
    const v = line[field];
    if (v !== undefined && Object.hasOwn(line, field)) {
      const refused = p.refs[k] === REF_NONE ? null : nameRefusal(p.refs[k], field, v, names);
      if (refused !== null) return refused;
      args[field] = p.readers[k](field, v, names);
    } else args[field] = absent(field, p.defs[k], op);
  }
  // Declared padding ("reserved", "pad1", "pad2") is accepted whatever it holds, as the kernel ignores it.
  return args;
}

/**
 * The object tier's reader for one argument by its declaration (a kind that
 * names no trace object): the same rules and sentences as a trace field.
 */
export function readValue(field: string, def: FieldDef, v: unknown): ArgValue {
  return valueReader(def)(field, v);
}

export type ValueReader = (field: string, v: unknown) => ArgValue;
const readers = new WeakMap<FieldDef, ValueReader>();

/**
 * A field's reader, made once per declaration: the object API reads its
 * arguments on hot paths (a fallocate per call), where the kind's switch and
 * the lookups would cost as much as the operation.
 */
export function valueReader(def: FieldDef): ValueReader {
  let r = readers.get(def);
  if (r) return r;
  const ctype = def.ctype ?? "u64";
  switch (def.kind) {
    case "int":
      r = (field, v) => wrap(toBits(field, v as Json), ctype);
      break;
    case "flags": {
      const family = def.family ?? "";
      r = (field, v) => wrap(toFlags(field, family, v as Json), ctype);
      break;
    }
    case "vm":
    case "fd":
    case "map":
    case "as":
    case "userspace_addr":
    case "fd_or_number":
    case "pin":
      r = (field) => {
        throw new TraceError(`${field}: a ${def.kind} is passed as a handle in the object API`);
      };
      break;
    default:
      r = (field, v) => readField(field, def, v, null as never);
  }
  readers.set(def, r);
  return r;
}

/** snake_case field names as the object API spells them (guest_phys_addr -> guestPhysAddr). */
export function camel(field: string): string {
  return field.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
