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

export class Names {
  private readonly table = new Map<string, Named>();

  /** Check that `as` may be bound before the op runs, so a refusal changes nothing. */
  checkFree(name: string): void {
    const old = this.table.get(name);
    if (old && isLive(old)) throw new TraceError(`as: "${name}" already names a live object`);
  }

  bind(name: string, obj: Named | null, kind: Dead["dead"]): void {
    this.table.set(name, obj ?? { dead: kind });
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
    return this.table.get(name);
  }

  has(name: string): boolean {
    return this.table.has(name);
  }

  /** Every name with what it is bound to now (for naming objects in reports: namer.ts). */
  entries(): IterableIterator<[string, Named]> {
    return this.table.entries();
  }
}
