/**
 * The kernel layer's objects: the uAPI-visible state that decides errnos and
 * lifetimes. Pages, bindings' hot index, SPTEs and host frames live in the core;
 * these objects carry the core ids that name them there.
 *
 * References, as in 6.18: a gmem file pins its VM (kvm_get_kvm() at create), a
 * host mapping pins its file, a memslot pins nothing (kvm_gmem_bind() drops its
 * reference), and the inode lives while any file of it does.
 */

import { ALL_PERMS, type Perm } from "./perm.js";
import type { FileView, ForeignFault } from "../policy/types.js";

export type VmType = number;

const OWNER_PERM: ReadonlySet<Perm> = new Set(ALL_PERMS);

export class Vm {
  /** Open gmem files of this VM: each holds a reference (kvm_gmem_release() drops it). */
  files = 0;
  /** The VM fd is open. */
  fdOpen = true;
  /** The struct kvm exists (fd open or referenced by a file). */
  alive = true;
  readonly slots = new Map<number, Memslot>();
  /** Private gfn ranges, sorted and disjoint, half-open (KVM_SET_MEMORY_ATTRIBUTES). */
  privateRanges: Array<[number, number]> = [];
  /** Encryption context (ASID/HKID); 0 once it moved to another VM. */
  ctx: number;
  /** move_enc_context_from() took this VM's context: it can no longer map or fault. */
  contextMovedAway = false;
  /** A private access of this VM succeeded: it runs under its own context, so it cannot take another (sev_guest(dst) in sev_vm_move_enc_context_from()). */
  ranPrivate = false;
  constructor(
    readonly id: number,
    readonly type: VmType,
  ) {
    this.ctx = id + 1;
  }
  get kind(): "vm" {
    return "vm";
  }
}

export class Inode {
  readonly files = new Set<GmemFile>();
  /** The system-design fd on this inode, which keeps it alive while open or mapped (an extension, SPEC §2.3). */
  holder: SystemGmem | null = null;
  /** size in pages (exact: below 2^51). */
  readonly npages: number;
  constructor(
    readonly id: number,
    /** Bytes; immutable for gmem (kvm_gmem_setattr() refuses every change). */
    readonly size: bigint,
    readonly flags: number,
  ) {
    this.npages = Number(size >> 12n);
  }
}

/** How a file came to be: create_guest_memfd, or gmem_link in one of its modes (an extension). */
export type FileOrigin = "owner" | "share" | "donate" | "migrate" | "system";

export class GmemFile {
  fdOpen = true;
  /** Host mappings of this file: each pins it. */
  maps = 0;
  released = false;
  readonly bindings = new Set<Memslot>();
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
  /** Pages [start, end) of the inode this file may reach; the owner's is the whole inode. */
  window: [number, number];
  /** Windows donated away: unreachable through this file for good. */
  donated: Array<[number, number]> = [];
  origin: FileOrigin = "owner";
  /** The file this one was linked from. */
  parent: GmemFile | null = null;
  /** What policies see of this file, cached (src/kvm/views.ts). */
  view: FileView | null = null;
  /** What a fault through this file does on a page prepared under another context (the policy's `foreign` answer). */
  foreign: ForeignFault = "map";
  /** System design: the fd this file is one VM's binding of (not an fd itself); null for files made by create_guest_memfd or gmem_link. */
  system: SystemGmem | null = null;
  constructor(
    readonly id: number,
    readonly inode: Inode,
    readonly vm: Vm,
  ) {
    this.window = [0, inode.npages];
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
  /** Bound VMs, each with its view of the inode. */
  readonly views = new Map<Vm, GmemFile>();
  /** VMs bound once and unbound since (a donation: the thread's unsafe rebinding, if they come back). */
  readonly unbound = new Set<Vm>();
  readonly perm: ReadonlySet<Perm> = new Set(ALL_PERMS);
  readonly owner = true;
  readonly migrating = false;
  readonly linked = false;
  readonly origin = "system" as const;
  readonly parent = null;
  readonly donated: Array<[number, number]> = [];
  readonly window: [number, number];
  view: FileView | null = null;
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
    readonly uaddr: bigint,
    /** The bound gmem file; null once that file is released (slot->gmem.file = NULL). */
    public file: GmemFile | null,
    readonly pgoff: number,
  ) {}
}

export class HostMap {
  alive = true;
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
