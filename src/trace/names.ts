/**
 * The trace's one namespace of objects: VMs, fds, host maps and anon regions.
 * A name stays bound to its object after the object dies (a failed create binds
 * a dead placeholder); a dead VM or fd then acts as fd -1, and a dead name may be
 * bound again.
 */
import { TraceError } from "../errors.js";
import { GmemFile, HostMap, Memfd, Pin, SystemGmem, Vm, type Fd } from "../kvm/objects.js";
import { show } from "./json.js";

type Dead = { dead: "vm" | "fd" | "map" | "pin" };
export type Named = Fd | HostMap | Pin | Dead;

function isLive(o: Named): boolean {
  if ("dead" in o) return false;
  if (o instanceof HostMap || o instanceof Pin) return o.alive;
  return o.fdOpen;
}

/**
 * peek()'s slots of names met lately, each found by a hash of the name's
 * length, its first character and its last two, and checked in JavaScript: the
 * slot's length and end characters (kept as numbers), then the characters
 * between, read from the slot's copy of the name. A batch caller's names are
 * strings made per op (`v${k}`), which the Map compares with its own key
 * through a string equality builtin called out of line (the strings being
 * different objects); a short name's few character reads cost less. Names
 * longer than SLOT_NAME_MAX, and the empty name, skip the slots. A slot
 * holds what bind() last bound its name to: bind() writes the name's slot.
 */
const SLOTS = 512;
const SLOT_NAME_MAX = 32;

/** A name's end characters, packed (with its length, they are the whole of a name of 1 or 2 characters). */
const endsOf = (name: string, n: number): number => (name.charCodeAt(0) << 16) | name.charCodeAt(n - 1);
/**
 * The slot of a name of length n with these ends: the top 9 bits (SLOTS) of a
 * multiplicative hash of them, its length and its last character but one
 * (names often differ only there and at the end: v10, v21).
 */
function slotOf(name: string, n: number, ends: number): number {
  const c = n > 1 ? name.charCodeAt(n - 2) : 0;
  return Math.imul(ends ^ Math.imul(n ^ (c << 8), 0x85ebca6b), 0x9e3779b1) >>> 23;
}

/**
 * The empty slots every namespace starts with, shared (never written): a
 * namespace makes its own once peek() has missed SLOTS_AFTER times, so that
 * one peeked little or never (a fuzzed trace's namespaces, a few hundred ops
 * each) costs no slots.
 */
const SLOTS_AFTER = 64;
const NO_LEN = new Int32Array(SLOTS);
const NO_ENDS = new Int32Array(SLOTS);
const NO_NAME: string[] = new Array<string>(SLOTS).fill("");
const NO_OBJ: Array<Named | undefined> = new Array<Named | undefined>(SLOTS).fill(undefined);

/**
 * A flat copy of a name, for a cache that outlives it: a slice or a
 * concatenation of a longer string would keep that string alive (V8 copies a
 * slice shorter than 13 characters; a longer one is copied through a
 * concatenation, which is flattened when sliced).
 */
export const flatName = (name: string): string => (name.length < 13 ? name : (name + " ").slice(0, name.length));

export class Names {
  private readonly table = new Map<string, Named>();
  /** peek()'s slots: a slot's name length (0 when empty), end characters (endsOf()), name and what it is bound to. */
  private slotLen = NO_LEN;
  private slotEnds = NO_ENDS;
  private slotName = NO_NAME;
  private slotObj = NO_OBJ;
  /** peek()'s misses while the slots are not made. */
  private misses = 0;

  /** Check that `as` may be bound before the op runs, so a refusal changes nothing. */
  checkFree(name: string): void {
    const why = this.taken(name);
    if (why) throw new TraceError(why);
  }

  /** Why `as` cannot bind `name` (checkFree's sentence), or null. */
  taken(name: string): string | null {
    const old = this.table.get(name);
    return old && isLive(old) ? `as: "${name}" already names a live object` : null;
  }

  /** Why a reference to `name` cannot be read because it names nothing (get's sentence), or null. */
  unknown(field: string, name: string): string | null {
    return this.table.has(name) ? null : `${field}: unknown name ${show(name)}`;
  }

  bind(name: string, obj: Named | null, kind: Dead["dead"]): void {
    const o = obj ?? { dead: kind };
    this.table.set(name, o);
    // The name's slot follows the table (a name bound again must not be found bound to its old object).
    const n = name.length;
    if (n > 0 && n <= SLOT_NAME_MAX && this.slotLen !== NO_LEN) {
      const ends = endsOf(name, n);
      this.fill(name, n, ends, slotOf(name, n, ends), o);
    }
  }

  /** Makes slot s hold `name` (of length n, with these ends), bound to o; the slots are made at the first fill. */
  private fill(name: string, n: number, ends: number, s: number, o: Named): void {
    if (this.slotLen === NO_LEN) {
      this.slotLen = new Int32Array(SLOTS);
      this.slotEnds = new Int32Array(SLOTS);
      this.slotName = new Array<string>(SLOTS).fill("");
      this.slotObj = new Array<Named | undefined>(SLOTS).fill(undefined);
    }
    this.slotLen[s] = n;
    this.slotEnds[s] = ends;
    this.slotName[s] = flatName(name);
    this.slotObj[s] = o;
  }

  private get(field: string, name: unknown): Named {
    if (typeof name !== "string") throw new TraceError(`${field}: expected a name, got ${show(name)}`);
    const o = this.table.get(name);
    if (!o) throw new TraceError(this.unknown(field, name)!);
    return o;
  }

  /** A VM by name; null when its fd is closed or its create failed. */
  vm(field: string, name: unknown): Vm | null {
    const o = this.get(field, name);
    if (o instanceof Vm) return o.fdOpen ? o : null;
    if ("dead" in o && o.dead === "vm") return null;
    throw new TraceError(`${field}: "${name}" is not a VM`);
  }

  /** Any fd by name (VM, gmem, memfd); null when dead. */
  fd(field: string, name: unknown): Fd | null {
    const o = this.get(field, name);
    if (o instanceof Vm || o instanceof GmemFile || o instanceof Memfd || o instanceof SystemGmem) return o.fdOpen ? o : null;
    if ("dead" in o && o.dead !== "map" && o.dead !== "pin") return null;
    throw new TraceError(`${field}: "${name}" is a map, not an fd`);
  }

  /** A live map by name: a dead one is a trace error. */
  map(field: string, name: unknown): HostMap {
    const o = this.get(field, name);
    if (o instanceof HostMap && o.alive) return o;
    throw new TraceError(this.notMap(field, name as string, o)!);
  }

  /** Why `name` cannot be read as a live map (map()'s sentence), or null when it can. */
  mapRefusal(field: string, name: string): string | null {
    const o = this.table.get(name);
    return o === undefined ? this.unknown(field, name) : this.notMap(field, name, o);
  }

  private notMap(field: string, name: string, o: Named): string | null {
    if (o instanceof HostMap) return o.alive ? null : `${field}: map "${name}" has been unmapped`;
    if ("dead" in o && o.dead === "map") return `${field}: map "${name}" was never created`;
    return `${field}: "${name}" is not a map`;
  }

  /** A pin by name (profile next's `unpin`); whether it is still live is the op's to check. */
  pin(field: string, name: unknown): Pin {
    const o = this.get(field, name);
    if (o instanceof Pin) return o;
    if ("dead" in o && o.dead === "pin") throw new TraceError(`${field}: the pin is not live (already unpinned, or its pin failed)`);
    throw new TraceError(`${field}: "${name}" is not a pin`);
  }

  /** What a name is bound to now, if anything (no checks: for fast paths that fall back to the checked readers above). */
  peek(name: string): Named | undefined {
    const n = name.length;
    if (n === 0 || n > SLOT_NAME_MAX) return this.table.get(name);
    const ends = endsOf(name, n);
    const s = slotOf(name, n, ends);
    if (this.slotLen[s] === n && this.slotEnds[s] === ends) {
      const known = this.slotName[s];
      let k = 1;
      while (k < n - 1 && known.charCodeAt(k) === name.charCodeAt(k)) k++;
      if (k >= n - 1) return this.slotObj[s];
    }
    const o = this.table.get(name);
    if (o !== undefined && (this.slotLen !== NO_LEN || ++this.misses >= SLOTS_AFTER)) this.fill(name, n, ends, s, o);
    return o;
  }

  has(name: string): boolean {
    return this.table.has(name);
  }

  /** Every name with what it is bound to now (for naming objects in reports: namer.ts). */
  entries(): IterableIterator<[string, Named]> {
    return this.table.entries();
  }
}
