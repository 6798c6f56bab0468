/**
 * The reference model's change log (core-abi.ts, "Change log"): the notes a
 * command leaves before it runs, the stage-2 ranges the model reports as it
 * installs and zaps, and the stream written from them. Written as plainly as
 * the rest of the model; the engine's assembly/changelog.ts does the same.
 */
import * as A from "../../abi/core-abi.js";
import type { RefModel } from "./model.js";
import type { RefInode, RefVm } from "./state.js";
import { ascending } from "./state.js";

type Note = { tag: number; id: number; start: number; end: number };

/** The keys of m in [start, end), ascending: a walk of the range when it is shorter than the map (a fault notes one gfn). */
function keysIn(m: { readonly size: number; has(k: number): boolean; keys(): Iterable<number> }, start: number, end: number): number[] {
  if (end - start >= m.size) return ascending([...m.keys()].filter((k) => k >= start && k < end));
  const out: number[] = [];
  for (let k = start; k < end; k++) if (m.has(k)) out.push(k);
  return out;
}

export class RefChangeLog {
  private notes: Note[] = [];
  /** Stage-2 ranges, noted by VM record (the model's VMs do not carry their id). */
  private spteNotes: Array<{ vm: RefVm; start: number; end: number }> = [];

  constructor(private readonly m: RefModel) {
    m.sptesChanged = (vm, start, end) => this.spteNotes.push({ vm, start, end });
  }

  detach(): void {
    this.m.sptesChanged = null;
  }

  private note(tag: number, id: number, start = 0, end = 0): void {
    this.notes.push({ tag, id, start, end });
  }

  private noteHostPage(hva: number): void {
    for (const m of this.m.s.maps.values()) {
      if (hva < m.hva || hva >= m.hva + m.npages) continue;
      this.note(A.CHG_PAGES, m.inode, m.pgoff + (hva - m.hva), m.pgoff + (hva - m.hva) + 1);
      if (m.cow >= 0) this.note(A.CHG_PAGES, m.cow, hva - m.hva, hva - m.hva + 1);
    }
  }

  /** Before a command runs: what it may change. */
  noteCommand(op: number, a: number, b: number, c: number, _d: number, e: number, f: number): void {
    const s = this.m.s;
    switch (op) {
      case A.OP_GUEST_ACCESS: {
        const vm = s.vms.get(a);
        if (!vm) break;
        for (const sl of vm.slots.values()) {
          if (b < sl.base || b >= sl.base + sl.npages) continue;
          const file = sl.file >= 0 ? s.files.get(sl.file) : undefined;
          if (file) this.note(A.CHG_PAGES, file.inode, sl.pgoff + (b - sl.base), sl.pgoff + (b - sl.base) + 1);
          this.noteHostPage(sl.uaddr + (b - sl.base));
        }
        break;
      }
      case A.OP_HOST_ACCESS:
        this.noteHostPage(a);
        break;
      case A.OP_ALLOCATE:
      case A.OP_PUNCH:
      case A.OP_INODE_FILL:
        this.note(A.CHG_PAGES, a, b, c);
        break;
      case A.OP_INODE_RESIZE:
        this.note(A.CHG_INODE, a);
        this.note(A.CHG_PAGES, a, b, A.CHG_ALL);
        // A shrink also frees the copies of the inode's private maps.
        for (const m of s.maps.values()) if (m.inode === a && m.cow >= 0) this.note(A.CHG_PAGES, m.cow, 0, A.CHG_ALL);
        break;
      case A.OP_MEMORY_FAILURE:
        this.note(A.CHG_PAGES, a, b, b + 1);
        break;
      // ---- profile next: a to-shared conversion unprepares its pages; a pin faults in the pages it pins ----
      case A.OP_SET_ATTRIBUTES:
        this.note(A.CHG_PAGES, a, b, c);
        this.note(A.CHG_ATTRS, a, b, c);
        break;
      case A.OP_PIN: {
        for (const m of s.maps.values()) {
          if (b < m.hva || b >= m.hva + m.npages) continue;
          this.note(A.CHG_PAGES, m.inode, m.pgoff + (b - m.hva), m.pgoff + (b - m.hva) + c);
          if (m.cow >= 0) this.note(A.CHG_PAGES, m.cow, b - m.hva, b - m.hva + c);
        }
        break;
      }
      case A.OP_VM_CREATE:
      case A.OP_VM_DESTROY:
      case A.OP_VM_SET_CTX:
        this.note(A.CHG_VM, a);
        break;
      case A.OP_SLOT_SET_UADDR:
      case A.OP_SLOT_CREATE:
      case A.OP_SLOT_DELETE:
      case A.OP_SLOT_MOVE: {
        // The memslot alone (its id in start), and its binding: in the file it has now, and in the one it will have.
        this.note(A.CHG_SLOT, a, b);
        const sl = s.vms.get(a)?.slots.get(b);
        if (sl && sl.file >= 0) this.note(A.CHG_BINDING, sl.file, b, sl.pgoff);
        if (op === A.OP_SLOT_CREATE && e >= 0) this.note(A.CHG_BINDING, e, b, f);
        break;
      }
      case A.OP_INODE_CREATE:
      case A.OP_INODE_DESTROY:
        this.note(A.CHG_INODE, a);
        break;
      case A.OP_FILE_RELEASE: {
        // Its memslots lose the file: each of them, not the VM's every memslot.
        const f = s.files.get(a);
        if (f) for (const bd of f.bindings) this.note(A.CHG_SLOT, f.vm, bd.slot);
        this.note(A.CHG_FILE, a);
        break;
      }
      case A.OP_FILE_BLOCK:
        this.note(A.CHG_BLOCKED, a, b, c);
        break;
      case A.OP_FILE_CREATE:
      case A.OP_FILE_SET_RIGHTS:
        this.note(A.CHG_FILE, a);
        break;
      case A.OP_HOSTMAP_CREATE:
      case A.OP_HOSTMAP_DESTROY:
      case A.OP_HOSTMAP_COW:
        this.note(A.CHG_MAP, a);
        break;
    }
  }

  /** The stream of core-abi.ts for everything noted since the last call; the notes are then dropped. */
  changes(): Float64Array {
    const s = this.m.s;
    const out: number[] = [];
    const vmIds = new Map<RefVm, number>();
    for (const [id, vm] of s.vms) vmIds.set(vm, id);
    for (const { vm, start, end } of this.spteNotes) {
      const id = vmIds.get(vm);
      if (id === undefined) continue;
      const gfns = keysIn(vm.sptes, start, end);
      out.push(A.CHG_SPTES, id, start, end, gfns.length);
      for (const g of gfns) out.push(g, vm.sptes.get(g)!.pfn, vm.sptes.get(g)!.rights);
    }
    for (const { tag, id, start, end } of this.notes) {
      if (tag === A.CHG_PAGES) {
        const inode = s.inodes.get(id);
        if (inode) this.pages(out, id, inode, start, end);
      } else if (tag === A.CHG_INODE) {
        const inode = s.inodes.get(id);
        if (!inode) out.push(A.CHG_GONE, tag, id);
        else {
          out.push(A.CHG_INODE, id, inode.npages, inode.kind, inode.gmemFlags, inode.priv.length);
          for (const [s0, e0] of inode.priv) out.push(s0, e0);
        }
      } else if (tag === A.CHG_ATTRS || tag === A.CHG_BLOCKED) {
        // An inode's runs or a file's blocked ranges that overlap or touch [start, end) (an inode or file gone since
        // has its CHG_GONE from its destroy or release).
        const list = tag === A.CHG_ATTRS ? s.inodes.get(id)?.priv : s.files.get(id)?.blocked;
        if (!list) continue;
        const around = list.filter(([s0, e0]) => e0 >= start && s0 <= end);
        out.push(tag, id, start, end, around.length);
        for (const [s0, e0] of around) out.push(s0, e0);
      } else if (tag === A.CHG_FILE) {
        const f = s.files.get(id);
        if (!f) {
          out.push(A.CHG_GONE, tag, id);
          continue;
        }
        out.push(A.CHG_FILE, id, f.inode, f.vm, f.rights, f.bindings.length);
        for (const bd of [...f.bindings].sort((x, y) => x.pgoff - y.pgoff)) out.push(bd.pgoff, bd.npages, bd.slot);
        out.push(f.blocked.length);
        for (const [bs, be] of f.blocked) out.push(bs, be);
      } else if (tag === A.CHG_VM) {
        const vm = s.vms.get(id);
        if (!vm) {
          out.push(A.CHG_GONE, tag, id);
          continue;
        }
        const slots = ascending(vm.slots.keys());
        out.push(A.CHG_VM, id, slots.length);
        for (const sid of slots) {
          const sl = vm.slots.get(sid)!;
          out.push(sl.slot, sl.base, sl.npages, sl.flags, sl.file, sl.pgoff, sl.uaddr);
        }
        out.push(vm.ctx);
      } else if (tag === A.CHG_SLOT) {
        // A VM gone since has its CHG_GONE from its destroy's own note.
        const vm = s.vms.get(id);
        if (!vm) continue;
        const sl = vm.slots.get(start);
        if (!sl) out.push(A.CHG_SLOT, id, start, 0);
        else out.push(A.CHG_SLOT, id, start, 1, sl.base, sl.npages, sl.flags, sl.file, sl.pgoff, sl.uaddr);
      } else if (tag === A.CHG_BINDING) {
        // A file gone since has its CHG_GONE from its release's own note.
        const f = s.files.get(id);
        if (!f) continue;
        const b = f.bindings.find((x) => x.slot === start && x.pgoff === end);
        out.push(A.CHG_BINDING, id, start, end, b ? b.npages : 0);
      } else if (tag === A.CHG_MAP) {
        const m = s.maps.get(id);
        if (!m) out.push(A.CHG_GONE, tag, id);
        else out.push(A.CHG_MAP, id, m.hva, m.npages, m.inode, m.pgoff, m.rights, m.file, m.cow);
      }
    }
    this.notes = [];
    this.spteNotes = [];
    const detached = [...s.detached.values()];
    const detachedGmem = detached.filter((k) => k === A.INODE_GMEM).length;
    // Frames detached from their inode while pinned (PIN): counted in the pages above, held by no inode.
    out.push(A.CHG_END, s.gmemPages, s.anonPages, s.nextPfn, s.freeStack.length, detachedGmem, detached.length - detachedGmem);
    return Float64Array.from(out);
  }

  private pages(out: number[], id: number, inode: RefInode, start: number, end: number): void {
    const pgoffs = keysIn(inode.pages, start, end);
    out.push(A.CHG_PAGES, id, start, end, pgoffs.length);
    for (const p of pgoffs) {
      const pfn = inode.pages.get(p)!;
      const f = this.m.s.frames.get(pfn)!;
      out.push(p, pfn, f.byte, f.flags, f.ctx);
    }
  }
}
