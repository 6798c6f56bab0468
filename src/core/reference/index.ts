/**
 * The reference core: the Core interface over RefModel. Commands run as they are
 * pushed (the contract makes order the only thing that matters), and results
 * are handed over at flush, exactly as the engine hands over a batch.
 */
import * as A from "../../abi/core-abi.js";
import type { Core } from "../core.js";
import { RefModel } from "./model.js";
import { RefChangeLog } from "./changelog.js";

export class ReferenceCore implements Core {
  readonly kind = "reference" as const;
  model = new RefModel();
  /** Grown on demand up to a full batch: most simulators (and every fuzz trace) need far less. */
  results = new Float64Array(16 * A.RES_WORDS);
  onFlush: ((count: number) => void) | null = null;
  private count = 0;
  private log: RefChangeLog | null = null;

  push(op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    if (this.count === A.CMD_CAPACITY) this.flush();
    const i = this.count++;
    const r = i * A.RES_WORDS;
    if (r + A.RES_WORDS > this.results.length) {
      const grown = new Float64Array(Math.min(A.CMD_CAPACITY, 2 * (i + 1)) * A.RES_WORDS);
      grown.set(this.results);
      this.results = grown;
    }
    const res = this.results;
    for (let k = r; k < r + A.RES_WORDS; k++) res[k] = 0;
    const m = this.model;
    this.log?.noteCommand(op, a, b, c, d, e, f);
    switch (op) {
      case A.OP_VM_CREATE: m.vmCreate(a); break;
      case A.OP_VM_DESTROY: m.vmDestroy(a); break;
      case A.OP_INODE_CREATE: m.inodeCreate(a, b, c, d); break;
      case A.OP_INODE_DESTROY: this.results[r + 1] = m.inodeDestroy(a); break;
      case A.OP_FILE_CREATE: m.fileCreate(a, b, c, d); break;
      case A.OP_FILE_RELEASE: m.fileRelease(a); break;
      case A.OP_SLOT_CREATE: m.slotCreate(a, b, c, d, e, f, g); break;
      case A.OP_SLOT_SET_UADDR: m.slotSetUaddr(a, b, c); break;
      case A.OP_SLOT_DELETE: m.slotDelete(a, b); break;
      case A.OP_SLOT_MOVE: m.slotMove(a, b, c); break;
      case A.OP_ALLOCATE: this.results[r + 1] = m.allocate(a, b, c); break;
      case A.OP_PUNCH: this.results[r + 1] = m.punch(a, b, c); break;
      case A.OP_HOST_ACCESS: {
        // The answer's words read by index: destructuring would walk the array's iterator (a guest or host access per op).
        const w = m.hostAccess(a, b, c);
        this.results[r] = w[0];
        this.results[r + 1] = w[1];
        break;
      }
      case A.OP_HOSTMAP_CREATE: m.hostmapCreate(a, b, c, d, e, f, g); break;
      case A.OP_HOSTMAP_DESTROY: m.hostmapDestroy(a); break;
      case A.OP_HOSTMAP_COW: m.hostmapCow(a, b); break;
      case A.OP_GUEST_ACCESS: {
        const w = m.guestAccess(a, b, c, d, e, f);
        this.results[r] = w[0];
        this.results[r + 1] = w[1];
        this.results[r + 2] = w[2];
        break;
      }
      case A.OP_ZAP_GFNS: m.zapGfnsCmd(a, b, c); break;
      case A.OP_MEMORY_FAILURE: {
        const v = m.memoryFailure(a, b);
        if (v < 0) this.results[r] = A.RES_NO_PAGE;
        else this.results[r + 1] = v;
        break;
      }
      case A.OP_FILE_SET_RIGHTS: m.fileSetRights(a, b); break;
      case A.OP_STATS_HOST:
        this.results[r + 1] = m.s.gmemPages;
        this.results[r + 2] = m.s.anonPages;
        break;
      case A.OP_STATS_VM: {
        const vm = m.s.vms.get(a)!;
        this.results[r + 1] = vm.sptes.size;
        this.results[r + 2] = vm.faults;
        this.results[r + 3] = vm.zaps;
        this.results[r + 4] = vm.exits;
        break;
      }
      case A.OP_STATS_INODE: {
        const inode = m.s.inodes.get(a)!;
        this.results[r + 1] = inode.pages.size;
        this.results[r + 2] = [...inode.pages.values()].filter((pfn) => m.s.frames.get(pfn)!.flags & A.PG_HWPOISON).length;
        break;
      }
      case A.OP_VM_SET_CTX: m.vmSetCtx(a, b); break;
      case A.OP_FILE_BLOCK: m.fileBlock(a, b, c); break;
      // ---- in-place conversion (profile next) ----
      case A.OP_SET_ATTRIBUTES: {
        const [code, value] = m.setAttributes(a, b, c, d !== 0);
        this.results[r] = code;
        this.results[r + 1] = value;
        break;
      }
      case A.OP_GFN_PRIVATE: this.results[r + 1] = m.gfnPrivate(a, b) ? 1 : 0; break;
      case A.OP_PIN: this.results[r] = m.pin(a, b, c); break;
      case A.OP_UNPIN: m.unpin(a); break;
      // ---- foreign encryption contexts (both designs) ----
      case A.OP_FILE_SET_FOREIGN: m.fileSetForeign(a, b); break;
      case A.OP_INODE_RESIZE: this.results[r + 1] = m.inodeResize(a, b, c !== 0); break;
      case A.OP_INODE_FILL: this.results[r + 1] = m.inodeFill(a, b, c, d); break;
      case A.OP_COUNT_PRESENT: this.results[r + 1] = [...m.s.inodes.get(a)!.pages.keys()].filter((p) => p >= b && p < c).length; break;
      default:
        throw new Error(`reference core: unknown opcode ${op}`);
    }
    return i;
  }

  now(op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    const i = this.push(op, a, b, c, d, e, f, g);
    this.flush();
    return i;
  }

  flush(): void {
    const n = this.count;
    this.count = 0;
    this.onFlush?.(n);
  }

  snapshot(): Float64Array {
    this.flush();
    return this.model.snapshot();
  }

  /** The snapshot's words lent, not copied: valid until the next snapshot (RefModel.snapshotView()). */
  snapshotView(): Float64Array {
    this.flush();
    return this.model.snapshotView();
  }

  trackChanges(on: boolean): void {
    this.log?.detach();
    this.log = on ? new RefChangeLog(this.model) : null;
  }

  changes(): Float64Array {
    this.flush();
    if (!this.log) throw new Error("reference core: changes() without trackChanges(true)");
    return this.log.changes();
  }

  reset(): boolean {
    this.log?.detach();
    this.log = null;
    this.model = new RefModel();
    this.count = 0;
    this.onFlush = null;
    return true;
  }

  /** A rough figure (the maps' entries at 64 bytes each), for side-by-side reports only. */
  memoryBytes(): number {
    const s = this.model.s;
    let entries = s.frames.size;
    for (const i of s.inodes.values()) entries += i.pages.size;
    for (const v of s.vms.values()) entries += v.sptes.size + v.slots.size;
    return entries * 64;
  }
}
