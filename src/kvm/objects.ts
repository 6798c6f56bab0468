/**
 * The kernel layer's objects: the uAPI-visible state that decides errnos and
 * lifetimes. Pages, bindings' hot index, SPTEs and host frames live in the core;
 * these objects carry the core ids that name them there.
 *
 * References, as in 6.18: a gmem file pins its VM (kvm_get_kvm() at create), a
 * host mapping pins its file, a memslot pins nothing (kvm_gmem_bind() drops its
 * reference), and the inode lives while any file of it does.
 */

import { SpanIndex } from "./span-index.js";
import { ALL_PERMS, permList, type Perm } from "./perm.js";
import { writable } from "../ranges.js";

export type VmType = number;

/*
 * JavaScript bytes per object. A host may hold many thousands of VMs, files and
 * mappings, so what most of them never use is not allocated per object. A Map
 * or Set costs some 170 bytes even with one entry, so a VM's memslots, a file's
 * bindings and an inode's files are held as the one object while there is
 * one, as a collection from the second on; empty lists are shared; a byte
 * size that is always npages * 4096 is computed; numbers that are exact as
 * numbers are not BigInts; and policies' views are cached per host (views.ts),
 * not per file.
 */

const OWNER_PERM: ReadonlySet<Perm> = new Set(ALL_PERMS);

const NO_SLOTS: readonly Memslot[] = Object.freeze([]);
const NO_FILES: readonly GmemFile[] = Object.freeze([]);
const NO_RANGES: ReadonlyArray<readonly [number, number]> = Object.freeze([]);

export class Vm {
  /** Open gmem files of this VM: each holds a reference (kvm_gmem_release() drops it). */
  files = 0;
  /** The VM fd is open. */
  fdOpen = true;
  /** The struct kvm exists (fd open or referenced by a file). */
  alive = true;
  /** Its memslots: none (null), the only one, or a Map by id from the second on. */
  private slotRef: Memslot | Map<number, Memslot> | null = null;
  /** Its memslots by gfn, from the second on (span-index.ts). */
  private byGfn: SpanIndex<Memslot> | null = null;
  /** Private gfn ranges, sorted and disjoint, half-open (KVM_SET_MEMORY_ATTRIBUTES); only the kernel layer reads them, and setRange() changes them in place. */
  privateRanges: ReadonlyArray<readonly [number, number]> = NO_RANGES;
  /** Encryption context (ASID/HKID); 0 once it moved to another VM. */
  ctx: number;
  /** move_enc_context_from() took this VM's context: it can no longer map or fault. */
  contextMovedAway = false;
  /** A private access of this VM succeeded: it runs under its own context, so it cannot take another (sev_guest(dst) in sev_vm_move_enc_context_from()). */
  ranPrivate = false;
  /** It took another VM's context by move_enc_context_from(): it is a confidential guest now, and cannot take a second (sev_guest(dst)). */
  tookContext = false;
  constructor(
    readonly id: number,
    readonly type: VmType,
  ) {
    this.ctx = id + 1;
  }
  get kind(): "vm" {
    return "vm";
  }
  /** The memslot with this id (address space 0), if any. */
  slot(id: number): Memslot | undefined {
    const r = this.slotRef;
    if (r === null) return undefined;
    if (r instanceof Map) return r.get(id);
    return r.id === id ? r : undefined;
  }
  /** Its memslots, in the order they were made (read-only: addSlot and removeSlot change them). */
  get slots(): Iterable<Memslot> {
    const r = this.slotRef;
    return r === null ? NO_SLOTS : r instanceof Map ? r.values() : [r];
  }
  /** A new memslot (no slot of its id exists). */
  addSlot(slot: Memslot): void {
    const r = this.slotRef;
    if (r === null) this.slotRef = slot;
    else if (r instanceof Map) {
      r.set(slot.id, slot);
      this.byGfn!.add(slot);
    } else {
      this.slotRef = new Map([[r.id, r], [slot.id, slot]]);
      this.byGfn = new SpanIndex(slotStart, slotEnd, [r, slot]);
    }
  }
  removeSlot(id: number): void {
    const r = this.slotRef;
    if (r instanceof Map) {
      const slot = r.get(id);
      if (slot) this.byGfn!.remove(slot);
      r.delete(id);
    } else if (r !== null && r.id === id) this.slotRef = null;
  }
  /** KVM_MR_MOVE: the memslot's new base gfn. */
  moveSlot(slot: Memslot, baseGfn: number): void {
    this.byGfn?.remove(slot);
    slot.baseGfn = baseGfn;
    this.byGfn?.add(slot);
  }
  /** Whether a memslot other than `id` overlaps gfns [start, end). */
  overlapsSlot(id: number, start: number, end: number): boolean {
    const r = this.slotRef;
    if (r === null) return false;
    if (r instanceof Map) return this.byGfn!.firstOverlap(start, end, r.get(id)) !== undefined;
    return r.id !== id && spanOverlaps(r.baseGfn, r.npages, start, end);
  }
}
const slotStart = (m: Memslot) => m.baseGfn;
const slotEnd = (m: Memslot) => m.baseGfn + m.npages;
const bindingStart = (m: Memslot) => m.pgoff;
const bindingEnd = (m: Memslot) => m.pgoff + m.npages;
/** Whether [base, base + npages) and [start, end) share a page (the one memslot or binding, before there is an index). */
const spanOverlaps = (base: number, npages: number, start: number, end: number) => start < base + npages && base < end;

export class Inode {
  /**
   * Its open files, in the order they were made: the file itself while it is
   * the only one (almost every inode has one file; an array would double an
   * inode's bytes, a Set triple them), an array from the second on.
   */
  private fileRef: GmemFile | GmemFile[] | null = null;
  /** The system-design fd on this inode, which keeps it alive while open or mapped (an extension, SPEC §2.3). */
  holder: SystemGmem | null = null;
  /** size in pages (exact: below 2^51). */
  readonly npages: number;
  constructor(
    readonly id: number,
    /** Bytes, a positive multiple of 4096; immutable for gmem (kvm_gmem_setattr() refuses every change). */
    size: bigint,
    readonly flags: number,
  ) {
    this.npages = Number(size >> 12n);
  }
  /** Bytes, exact (npages * 4096 may pass 2^53): made when asked, as no hot path asks. */
  get size(): bigint {
    return BigInt(this.npages) << 12n;
  }
  /** Its open files, in the order they were made (read-only: addFile and removeFile change them). */
  get files(): readonly GmemFile[] {
    const r = this.fileRef;
    return r === null ? NO_FILES : Array.isArray(r) ? r : [r];
  }
  addFile(f: GmemFile): void {
    const r = this.fileRef;
    if (r === null) this.fileRef = f;
    else if (Array.isArray(r)) r.push(f);
    else this.fileRef = [r, f];
  }
  removeFile(f: GmemFile): void {
    const r = this.fileRef;
    if (r === f) this.fileRef = null;
    else if (Array.isArray(r)) {
      const k = r.indexOf(f);
      if (k >= 0) r.splice(k, 1);
      if (r.length === 0) this.fileRef = null;
    }
  }
}

/** How a file came to be: create_guest_memfd, or gmem_link in one of its modes (an extension). */
export type FileOrigin = "owner" | "share" | "donate" | "migrate" | "system";

/**
 * Where a file made by gmem_link or by a system binding comes from (the
 * extensions of SPEC §2.3), fixed when it is made. create_guest_memfd's files,
 * almost all of them, have none: one field on the file instead of four.
 */
export interface Lineage {
  readonly origin: Exclude<FileOrigin, "owner">;
  /** gmem_link: the file it was linked from, and the window it may reach. */
  readonly parent: GmemFile | null;
  readonly window: readonly [number, number] | null;
  /** System design: the fd this file is one VM's binding of (not an fd itself). */
  readonly system: SystemGmem | null;
}

export class GmemFile {
  fdOpen = true;
  /** Host mappings of this file: each pins it. */
  maps = 0;
  released = false;
  /** The memslots bound to this file: none (null), the only one, or a Set from the second on. */
  private bindingRef: Memslot | Set<Memslot> | null = null;
  /** The same by pgoff, from the second on (span-index.ts). */
  private byPgoff: SpanIndex<Memslot> | null = null;
  /**
   * Permissions (the owner holds all; a linked file what the policy granted).
   * Replaced, never changed in place: every owner shares one set (a Set per
   * file was a third of a file's JavaScript bytes).
   */
  perm: ReadonlySet<Perm> = OWNER_PERM;
  /** May gmem_link from this file (the owner, or a migration target after the move). */
  owner = true;
  /** A migration target before move_enc_context_from: bound but not mappable. */
  migrating = false;
  /** Pages donated away, merged and ascending (src/ranges.ts): unreachable through this file for good (changed in place only while no policy holds it frozen: addRange()). */
  donated: ReadonlyArray<readonly [number, number]> = NO_RANGES;
  /** null for create_guest_memfd's files. (What a fault on a foreign page does, the policy's `foreign` answer, the core keeps.) */
  private readonly lineage: Lineage | null;
  constructor(
    readonly id: number,
    readonly inode: Inode,
    readonly vm: Vm,
    lineage: Lineage | null = null,
  ) {
    this.lineage = lineage;
  }

  get origin(): FileOrigin {
    return this.lineage?.origin ?? "owner";
  }
  /** The file this one was linked from. */
  get parent(): GmemFile | null {
    return this.lineage?.parent ?? null;
  }
  /** System design: the fd this file is one VM's binding of (not an fd itself); null for files made by create_guest_memfd or gmem_link. */
  get system(): SystemGmem | null {
    return this.lineage?.system ?? null;
  }
  /** Pages [start, end) of the inode this file may reach; the owner's is the whole inode. */
  get window(): readonly [number, number] {
    return this.lineage?.window ?? [0, this.inode.npages];
  }

  /** The memslots bound to this file, in the order they were bound (read-only: addBinding and removeBinding change them). */
  get bindings(): Iterable<Memslot> {
    const r = this.bindingRef;
    return r === null ? NO_SLOTS : r instanceof Set ? r : [r];
  }
  addBinding(slot: Memslot): void {
    const r = this.bindingRef;
    if (r === null) this.bindingRef = slot;
    else if (r instanceof Set) {
      if (r.has(slot)) return;
      r.add(slot);
      this.byPgoff!.add(slot);
    } else if (r !== slot) {
      this.bindingRef = new Set([r, slot]);
      this.byPgoff = new SpanIndex(bindingStart, bindingEnd, [r, slot]);
    }
  }
  removeBinding(slot: Memslot): void {
    const r = this.bindingRef;
    if (r instanceof Set) {
      if (r.delete(slot)) this.byPgoff?.remove(slot);
    } else if (r === slot) this.bindingRef = null;
  }
  /** kvm_gmem_release(): its memslots stay, without a file. */
  dropBindings(): void {
    for (const slot of this.bindings) slot.file = null;
    this.bindingRef = null;
    this.byPgoff = null;
  }
  /** The binding with the lowest pgoff that overlaps pgoffs [start, end) (what kvm_gmem_bind()'s xa_find() finds), if any. */
  firstBindingOverlap(start: number, end: number): Memslot | undefined {
    const r = this.bindingRef;
    if (r === null) return undefined;
    if (r instanceof Set) return this.byPgoff!.firstOverlap(start, end);
    return spanOverlaps(r.pgoff, r.npages, start, end) ? r : undefined;
  }

  /** Made by gmem_link: its window is enforced (EINVAL outside it). */
  get linked(): boolean {
    return this.parent !== null;
  }
  get kind(): "gmem" {
    return "gmem";
  }
}

/**
 * The system-scoped design (an extension, SPEC §2.3): a gmem fd made on
 * /dev/kvm, owned by no VM. VMs bind to it (gmem_bind); each binding is a
 * GmemFile of that VM on the inode (in `views`, not an fd), so the core sees
 * one more file per bound VM, exactly as the inode/file design shares an inode.
 * It answers the fd-level operations (fstat, fallocate, mmap, memory_failure,
 * close) as the owner would: whoever holds the fd holds every right, unless the
 * policy says otherwise.
 */
export class SystemGmem {
  fdOpen = true;
  /** Host mappings of this fd: each pins it. */
  maps = 0;
  released = false;
  /** Bound VMs, each with its view of the inode (changed through addView() and removeView()). */
  readonly views = new Map<Vm, GmemFile>();
  /** VMs bound once and unbound since (a donation: the thread's unsafe rebinding, if they come back; added by noteUnbound()). */
  readonly unbound = new Set<Vm>();
  /**
   * `views` and `unbound` as a policy's SystemFileView shows them (src/kvm/views.ts), in the same order, kept as they
   * change: a view made per request walked every bound VM, so binding n VMs cost n^2. Changed in place until a policy
   * other than gmemsim's own is shown them (deeply frozen: it may keep them), then replaced.
   */
  boundList: ReadonlyArray<{ readonly vm: number; readonly perm: readonly Perm[] }> = [];
  unboundList: readonly number[] = [];
  readonly perm: ReadonlySet<Perm> = new Set(ALL_PERMS);
  readonly owner = true;
  readonly migrating = false;
  readonly linked = false;
  readonly origin = "system" as const;
  readonly parent = null;
  readonly donated: ReadonlyArray<readonly [number, number]> = NO_RANGES;
  readonly window: readonly [number, number];
  constructor(
    readonly id: number,
    readonly inode: Inode,
  ) {
    this.window = [0, inode.npages];
    inode.holder = this;
  }
  get kind(): "gmem" {
    return "gmem";
  }

  addView(vm: Vm, file: GmemFile): void {
    this.views.set(vm, file);
    const list = writable(this.boundList);
    list.push({ vm: vm.id, perm: permList(file.perm) });
    this.boundList = list;
  }

  removeView(vm: Vm): void {
    if (!this.views.delete(vm)) return;
    const list = writable(this.boundList);
    list.splice(list.findIndex((b) => b.vm === vm.id), 1);
    this.boundList = list;
  }

  /** A bound VM's view had its rights changed (its entry shows them anew). */
  viewPermChanged(file: GmemFile): void {
    const k = this.boundList.findIndex((b) => b.vm === file.vm.id);
    if (k < 0 || this.views.get(file.vm) !== file) return;
    const list = writable(this.boundList);
    list[k] = { vm: file.vm.id, perm: permList(file.perm) };
    this.boundList = list;
  }

  noteUnbound(vm: Vm): void {
    if (this.unbound.has(vm)) return;
    this.unbound.add(vm);
    const list = writable(this.unboundList);
    list.push(vm.id);
    this.unboundList = list;
  }
}

/** A gmem fd of either design: an fd of its own (not a system binding's view). */
export type GmemFd = GmemFile | SystemGmem;

/** An ordinary memfd (shmem): it can be mapped, but never bound. */
export class Memfd {
  fdOpen = true;
  maps = 0;
  /** The file position (f_pos), which read(2) and write(2) advance. */
  pos = 0n;
  constructor(
    readonly inodeId: number,
    public size: bigint,
  ) {}
  get kind(): "memfd" {
    return "memfd";
  }
}

export type Fd = Vm | GmemFile | Memfd | SystemGmem;

export class Memslot {
  constructor(
    readonly vm: Vm,
    readonly id: number,
    public baseGfn: number,
    readonly npages: number,
    public flags: number,
    /** userspace_addr in bytes: exact as a number (below 2^47, the user address space). */
    readonly uaddr: number,
    /** The bound gmem file; null once that file is released (slot->gmem.file = NULL). */
    public file: GmemFile | null,
    readonly pgoff: number,
  ) {}
}

export class HostMap {
  alive = true;
  /** The inode it shows and the first pgoff (set by Host.newMap; pins count the frames they may make). */
  inodeId = -1;
  pgoff = 0;
  /** A private map's (MAP_PRIVATE of a memfd) anon inode of copied pages (core-abi.ts HOSTMAP_COW), or -1. */
  cowInodeId = -1;
  constructor(
    readonly id: number,
    /** First host virtual page (address >> 12). */
    readonly hvaPage: number,
    readonly npages: number,
    readonly prot: number,
    /** What the map shows and pins: a gmem file, a memfd, or its own anonymous inode. */
    readonly backing: GmemFile | Memfd | SystemGmem | { anonInode: number },
  ) {}
  get kind(): "map" {
    return "map";
  }
  get address(): bigint {
    return BigInt(this.hvaPage) << 12n;
  }
}

/** A long-term GUP pin of host pages (profile next's `pin`, a simulator op): its core id names the frames it holds. */
export class Pin {
  alive = true;
  constructor(readonly id: number) {}
  get kind(): "pin" {
    return "pin";
  }
}
