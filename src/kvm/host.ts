/**
 * Host: one simulated machine: /dev/kvm, its VMs, gmem inodes and files, host
 * memory. It owns the uAPI-visible objects, their reference counts and the
 * errno rules (in ops/), and drives a core (the WebAssembly engine or the
 * reference model) through batched commands for everything page-sized.
 *
 * Results that depend on the core (a load's byte, a guest exit) are filled in
 * when the batch is flushed: callers that need them at once call sync().
 */
import * as A from "../abi/core-abi.js";
import type { Core } from "../core/core.js";
import { DEFAULT_PROFILE, type KernelProfile } from "./profile.js";
import { GmemFile, HostMap, Inode, Memfd, Pin, SystemGmem, Vm, type Lineage } from "./objects.js";
import { fail, type Result } from "./result.js";
import type { Policy } from "../policy/types.js";
import type { HostEvent } from "../policy/facts.js";
import { defaultPolicy } from "../policy/default.js";
import { defaultSystemPolicy } from "../policy/system.js";
import { ViewCache } from "./views.js";
import { DESIGNS, type Design } from "./design.js";

// The history's records are the policy API's (src/policy/facts.ts: what a policy's properties read); this module records them.
export type { HostEvent };

type Filler = (res: Float64Array, base: number) => void;

/**
 * Fills a Result from its command's result words, given one argument the op
 * kept (a module-level function, so that a hot op queues no closure).
 */
export type StaticFiller = (res: Float64Array, base: number, r: Result, arg: unknown) => void;

/** First host virtual page handed out to mappings (4 GiB), and the gap kept between them. */
const HVA_BASE_PAGE = 0x100000;
const HVA_GUARD_PAGES = 1;

/**
 * Frames the host may hold at once by default: 2^26 (256 GiB of guest memory).
 * At about 25 bytes per populated page with its SPTE, the engine then stays well
 * inside WebAssembly's 4 GiB of linear memory.
 */
export const DEFAULT_FRAME_LIMIT = 2 ** 26;

/** What an allocation past the host's frame limit answers (kvm_gmem_allocate() and shmem both say ENOMEM when memory runs out). */
export const outOfFrames = (h: Host): Result => fail("ENOMEM", `the host would hold more than its limit of ${h.frameLimit} frames`);

/** The policy a host of this design runs when given none. */
export function defaultPolicyFor(design: Design): Policy {
  return design.system ? defaultSystemPolicy : defaultPolicy;
}

export interface HostOptions {
  /** Frames the host may hold at once; past it, allocations fail with ENOMEM (default DEFAULT_FRAME_LIMIT). */
  frameLimit?: number;
  profile?: KernelProfile;
  /** The permission policy (default: defaultPolicy, or defaultSystemPolicy in the system design). */
  policy?: Policy;
  /** The design (SPEC §2.3; default: vm). */
  design?: Design;
}

export class Host {
  readonly profile: KernelProfile;
  private nextId = { vm: 0, inode: 0, file: 0, map: 0, pin: 0 };
  private nextHvaPage = HVA_BASE_PAGE;
  private pending: Array<{ index: number; fill: Filler }> = [];
  /**
   * The hot ops' pending Results (vCPU and host accesses), as parallel arrays
   * of the command's index, its filler, the Result and one argument: no object
   * and no closure per op, and the arrays keep their capacity between batches.
   */
  private hotIndex: number[] = [];
  private hotFill: StaticFiller[] = [];
  private hotResult: Result[] = [];
  private hotArg: unknown[] = [];
  private hotCount = 0;
  readonly vms = new Set<Vm>();
  readonly inodes = new Set<Inode>();
  readonly maps = new Set<HostMap>();
  /** Live private maps (HOSTMAP_COW): faultFrames() reads it. */
  privateMaps = 0;
  readonly policy: Policy;
  readonly design: Design;
  /** The files' views the policy was shown, kept until they change (views.ts). */
  readonly viewCache = new ViewCache();
  /** The history of successful design-level operations, for the security properties. */
  readonly events: HostEvent[] = [];

  /** Frames the host may hold at once (HostOptions.frameLimit). */
  readonly frameLimit: number;
  /**
   * An upper bound of the frames in use: every command that may make frames adds
   * the most it can make, nothing subtracts; it is brought down to the core's exact
   * count only when an allocation would pass the limit, so the common case costs a
   * comparison.
   */
  private framesBound = 0;

  constructor(
    readonly core: Core,
    options: HostOptions = {},
  ) {
    this.frameLimit = options.frameLimit ?? DEFAULT_FRAME_LIMIT;
    this.profile = options.profile ?? DEFAULT_PROFILE;
    this.design = options.design ?? DESIGNS.vm;
    this.policy = options.policy ?? defaultPolicyFor(this.design);
    core.onFlush = (n) => this.drain(n);
  }

  // ---- core plumbing ----

  /** Queue a command whose result fills (part of) a Result at flush. */
  later(fill: Filler, op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): void {
    this.fillAt(this.core.push(op, a, b, c, d, e, f, g), fill);
  }

  /** Fill (part of) a Result at flush from the command already queued at `index`. */
  fillAt(index: number, fill: Filler): void {
    this.pending.push({ index, fill });
  }

  /** Fill `r` at flush with fill(res, base, r, arg), from the command queued at `index`. */
  fillLater(index: number, fill: StaticFiller, r: Result, arg: unknown): void {
    const k = this.hotCount++;
    this.hotIndex[k] = index;
    this.hotFill[k] = fill;
    this.hotResult[k] = r;
    this.hotArg[k] = arg;
  }

  private drain(n: number): void {
    const res = this.core.results;
    const m = this.hotCount;
    if (m > 0) {
      const index = this.hotIndex;
      const fill = this.hotFill;
      const result = this.hotResult;
      const arg = this.hotArg;
      for (let k = 0; k < m; k++) {
        if (index[k] < n) fill[k](res, index[k] * A.RES_WORDS, result[k], arg[k]);
        // Dropped, so that a long run keeps no garbage alive.
        result[k] = undefined as never;
        arg[k] = undefined;
      }
      this.hotCount = 0;
    }
    if (this.pending.length) {
      for (const p of this.pending) if (p.index < n) p.fill(res, p.index * A.RES_WORDS);
      this.pending.length = 0;
    }
    this.batchSink?.(res, n);
  }

  /**
   * Reads a whole flushed batch's results after the pending Results are
   * filled: the typed tier's one reader per batch, instead of a closure per
   * command (set only while it runs).
   */
  batchSink: ((res: Float64Array, n: number) => void) | null = null;

  /** Run every queued command, so that every Result returned so far is final. */
  sync(): void {
    this.core.flush();
  }

  // ---- the frame limit ----

  /** Runs one command now and returns its value word. */
  private askNow(op: number, a = 0, b = 0, c = 0): [number, number] {
    const index = this.core.push(op, a, b, c);
    this.core.flush();
    const base = index * A.RES_WORDS;
    return [this.core.results[base + 1], this.core.results[base + 2]];
  }

  private framesInUse(): number {
    const [gmem, anon] = this.askNow(A.OP_STATS_HOST);
    return gmem + anon;
  }

  /**
   * Whether pages [start, end) of an inode can all be made present without
   * passing the frame limit (counting only the absent ones). Near the limit this
   * asks the core, so the answer is exact; the caller then sends the command.
   */
  rangeFits(inodeId: number, start: number, end: number): boolean {
    const most = end - start;
    if (this.framesBound + most <= this.frameLimit) {
      this.framesBound += most;
      return true;
    }
    this.framesBound = this.framesInUse();
    const needed = most - this.askNow(A.OP_COUNT_PRESENT, inodeId, start, end)[0];
    if (this.framesBound + needed > this.frameLimit) return false;
    this.framesBound += needed;
    return true;
  }

  /**
   * Frames that commands run past the kernel layer's per-op checks (the typed
   * entry, core-abi.ts) may make, up to `want`; they count them with
   * reserveFrames(). The bound is made exact first when it would not leave `want`.
   */
  frameHeadroom(want: number): number {
    if (this.framesBound + want > this.frameLimit) this.framesBound = this.framesInUse();
    return Math.max(0, this.frameLimit - this.framesBound);
  }

  /** Counts frames such commands may have made (the most they could). */
  reserveFrames(n: number): void {
    this.framesBound += n;
  }

  /**
   * The frames a fault may make: its page, and for a write that may go
   * through a private map (HOSTMAP_COW) the copy as well (do_cow_fault()
   * faults the file's page in, then copies it). A host store goes through
   * `map`; a guest write through whatever map its memslot's hva falls in,
   * which the core finds: any private map may be it.
   */
  faultFrames(write: boolean, map?: HostMap): number {
    return write && (map ? map.cowInodeId >= 0 : this.privateMaps > 0) ? 2 : 1;
  }

  /** Whether a fault may make `n` more frames (faultFrames()): false only once fewer than n are left under the limit. */
  faultFits(n = 1): boolean {
    if (this.framesBound + n <= this.frameLimit) {
      this.framesBound += n;
      return true;
    }
    this.framesBound = this.framesInUse();
    if (this.framesBound + n > this.frameLimit) return false;
    this.framesBound += n;
    return true;
  }

  // ---- object creation ----

  newVm(type: number): Vm {
    const vm = new Vm(this.nextId.vm++, type);
    this.vms.add(vm);
    this.core.push(A.OP_VM_CREATE, vm.id);
    return vm;
  }

  newGmem(vm: Vm, size: bigint, flags: number): GmemFile {
    const inode = new Inode(this.nextId.inode++, size, flags);
    this.inodes.add(inode);
    this.core.push(A.OP_INODE_CREATE, inode.id, inode.npages, A.INODE_GMEM, flags);
    this.events.push({ kind: "inode", inode: inode.id, open: true });
    return this.newFile(inode, vm, A.RIGHTS_ALL);
  }

  newFile(inode: Inode, vm: Vm, rights: number, lineage: Lineage | null = null): GmemFile {
    const file = new GmemFile(this.nextId.file++, inode, vm, lineage);
    inode.addFile(file);
    vm.files++;
    this.core.push(A.OP_FILE_CREATE, file.id, inode.id, vm.id, rights);
    return file;
  }

  /** System design: a gmem inode and its fd, owned by no VM (no core file: VMs get theirs when they bind). */
  newSystemGmem(size: bigint, flags: number): SystemGmem {
    const inode = new Inode(this.nextId.inode++, size, flags);
    this.inodes.add(inode);
    this.core.push(A.OP_INODE_CREATE, inode.id, inode.npages, A.INODE_GMEM, flags);
    this.events.push({ kind: "inode", inode: inode.id, open: true });
    return new SystemGmem(this.nextId.file++, inode);
  }

  /** System design: a binding's view was dropped (gmem_unbind): released as a closed file is. */
  dropView(file: GmemFile): void {
    file.fdOpen = false;
    this.maybeRelease(file);
  }

  newAnonInode(npages: number): number {
    const id = this.nextId.inode++;
    this.core.push(A.OP_INODE_CREATE, id, npages, A.INODE_ANON, 0);
    return id;
  }

  /** Where the next host mapping will be placed: lets a trace name a region's address before creating it. */
  nextMapAddress(): bigint {
    return BigInt(this.nextHvaPage) << 12n;
  }

  /**
   * Place a host mapping of npages in the host's virtual address space; a
   * private one (MAP_PRIVATE of a memfd) gets an anon inode for its copies.
   */
  newMap(npages: number, prot: number, backing: HostMap["backing"], inodeId: number, pgoff: number, rights: number, priv = false): HostMap {
    const map = new HostMap(this.nextId.map++, this.nextHvaPage, npages, prot, backing);
    map.inodeId = inodeId;
    map.pgoff = pgoff;
    this.nextHvaPage += npages + HVA_GUARD_PAGES;
    this.maps.add(map);
    this.core.push(A.OP_HOSTMAP_CREATE, map.id, map.hvaPage, npages, inodeId, pgoff, rights, backing instanceof GmemFile ? backing.id : -1);
    if (priv) {
      map.cowInodeId = this.newAnonInode(npages);
      this.core.push(A.OP_HOSTMAP_COW, map.id, map.cowInodeId);
      this.privateMaps++;
    }
    if (backing instanceof GmemFile || backing instanceof Memfd || backing instanceof SystemGmem) backing.maps++;
    return map;
  }

  /** A pin object (profile next); the core learns its frames from PIN. */
  newPin(): Pin {
    return new Pin(this.nextId.pin++);
  }

  // ---- lifetimes ----

  /** The fd is closed; the object goes when nothing else holds it. */
  closeFd(fd: GmemFile | Memfd | Vm | SystemGmem): void {
    fd.fdOpen = false;
    if (fd instanceof GmemFile) this.maybeRelease(fd);
    else if (fd instanceof SystemGmem) this.maybeReleaseSystem(fd);
    else if (fd instanceof Memfd) this.maybeFreeMemfd(fd);
    else this.maybeFreeVm(fd);
  }

  unmap(map: HostMap): void {
    map.alive = false;
    this.maps.delete(map);
    this.core.push(A.OP_HOSTMAP_DESTROY, map.id);
    if (map.cowInodeId >= 0) {
      // The copies go with the mapping, before the file it held.
      this.core.push(A.OP_INODE_DESTROY, map.cowInodeId);
      this.privateMaps--;
    }
    const b = map.backing;
    if (b instanceof GmemFile) {
      b.maps--;
      this.maybeRelease(b);
    } else if (b instanceof Memfd) {
      b.maps--;
      this.maybeFreeMemfd(b);
    } else if (b instanceof SystemGmem) {
      b.maps--;
      this.maybeReleaseSystem(b);
    } else {
      this.core.push(A.OP_INODE_DESTROY, b.anonInode);
    }
  }

  private maybeRelease(file: GmemFile): void {
    if (file.fdOpen || file.maps > 0 || file.released) return;
    // kvm_gmem_release(): the memslots stay, without a file.
    file.released = true;
    this.core.push(A.OP_FILE_RELEASE, file.id);
    file.dropBindings();
    this.viewCache.drop(file);
    const inode = file.inode;
    inode.removeFile(file);
    if (file.system) file.system.removeView(file.vm);
    if (inode.files.length === 0 && !inode.holder) {
      this.inodes.delete(inode);
      this.core.push(A.OP_INODE_DESTROY, inode.id);
      this.events.push({ kind: "inode", inode: inode.id, open: false });
    }
    file.vm.files--;
    this.maybeFreeVm(file.vm);
  }

  /**
   * A system fd goes with its last reference (the fd, or a mapping): every VM's
   * binding is released as a closed file's is, then the inode goes with it.
   */
  private maybeReleaseSystem(s: SystemGmem): void {
    if (s.fdOpen || s.maps > 0 || s.released) return;
    s.released = true;
    this.viewCache.drop(s);
    const inode = s.inode;
    inode.holder = null;
    if (s.views.size === 0) {
      this.inodes.delete(inode);
      this.core.push(A.OP_INODE_DESTROY, inode.id);
      this.events.push({ kind: "inode", inode: inode.id, open: false });
    }
    // Otherwise the last view's release frees the inode.
    for (const view of [...s.views.values()]) this.dropView(view);
  }

  private maybeFreeMemfd(m: Memfd): void {
    if (!m.fdOpen && m.maps === 0) this.core.push(A.OP_INODE_DESTROY, m.inodeId);
  }

  private maybeFreeVm(vm: Vm): void {
    if (vm.fdOpen || vm.files > 0 || !vm.alive) return;
    vm.alive = false;
    this.vms.delete(vm);
    this.core.push(A.OP_VM_DESTROY, vm.id);
  }
}

export type { Result };
