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
  /** The slot cache of peek(): a slot's name ("" when empty) and what it is bound to, kept in step by bind(). */
  private readonly slotName: string[] = new Array<string>(SLOTS).fill("");
  private readonly slotObj: Array<Named | undefined> = new Array<Named | undefined>(SLOTS).fill(undefined);

  /** Check that `as` may be bound before the op runs, so a refusal changes nothing. */
  checkFree(name: string): void {
    const old = this.table.get(name);
    if (old && isLive(old)) throw new TraceError(`as: "${name}" already names a live object`);
  }

  bind(name: string, obj: Named | null, kind: Dead["dead"]): void {
    const o = obj ?? { dead: kind };
    this.table.set(name, o);
    if (name.length <= SLOT_NAME_MAX) {
      const s = slotOf(name);
      if (this.slotName[s] === name) this.slotObj[s] = o;
    }
  }

  private get(field: string, name: unknown): Named {
    if (typeof name !== "string") throw new TraceError(`${field}: expected a name, got ${show(name)}`);
    const o = this.table.get(name);
    if (!o) throw new TraceError(`${field}: unknown name ${show(name)}`);
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
    if (o instanceof HostMap) {
      if (!o.alive) throw new TraceError(`${field}: map "${name}" has been unmapped`);
      return o;
    }
    if ("dead" in o && o.dead === "map") throw new TraceError(`${field}: map "${name}" was never created`);
    throw new TraceError(`${field}: "${name}" is not a map`);
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
    const s = slotOf(name);
    if (this.slotName[s] === name) return this.slotObj[s];
    const o = this.table.get(name);
    if (o !== undefined) {
      // A flat copy: a slice of a long string would keep that string alive in the slot.
      this.slotName[s] = name.length < 13 ? name : (name + " ").slice(0, name.length);
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
