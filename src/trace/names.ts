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
 * Slots of names met lately, by a hash of their characters computed here. A
 * batch caller's names are often strings made per op (`v${k}`), whose hash
 * V8 computes on the first Map lookup through a call out of the lookup
 * (measured ~10 ns a lookup more than a name met before); a few character
 * reads and a compare cost less. Names longer than SLOT_NAME_MAX skip it.
 */
const SLOTS = 512;
const SLOT_NAME_MAX = 32;

function slotOf(name: string): number {
  const n = name.length;
  let h = n;
  for (let k = 0; k < n; k++) h = Math.imul(h ^ name.charCodeAt(k), 0x9e3779b1);
  return h >>> 23; // the top 9 bits: SLOTS
}

export class Names {
  private readonly table = new Map<string, Named>();
  /**
   * The slot cache of peek(): a slot's name ("" when empty) and what it is bound to, kept in step by bind(). Made at
   * peek()'s first call: a namespace peek() never reads (a fuzzed trace's Simulator keeps one it never uses) does not
   * pay for its 8 KB.
   */
  private slotName: string[] | null = null;
  private slotObj: Array<Named | undefined> = [];

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
    if (this.slotName !== null && name.length <= SLOT_NAME_MAX) {
      const s = slotOf(name);
      if (this.slotName[s] === name) this.slotObj[s] = o;
    }
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
    if (name.length > SLOT_NAME_MAX) return this.table.get(name);
    let slotName = this.slotName;
    if (slotName === null) {
      slotName = this.slotName = new Array<string>(SLOTS).fill("");
      this.slotObj = new Array<Named | undefined>(SLOTS).fill(undefined);
    }
    const s = slotOf(name);
    if (slotName[s] === name) return this.slotObj[s];
    const o = this.table.get(name);
    if (o !== undefined) {
      // A flat copy: a slice of a long string would keep that string alive in the slot.
      slotName[s] = name.length < 13 ? name : (name + " ").slice(0, name.length);
      this.slotObj[s] = o;
    }
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
