/**
 * The embedding API. Two tiers with one semantics:
 *  - handles (Vm, GmemFile, Mapping) whose methods throw GmemError, for programs,
 *    docs and readable tests;
 *  - apply(), which takes trace ops as objects and returns one result per op,
 *    never throwing, for simulations, fuzzing and replay.
 * Both drive the same Host, so they can be mixed.
 */
import { GmemError, TraceError } from "../errors.js";
import { EngineCore } from "../core/engine.js";
import { ReferenceCore } from "../core/reference/index.js";
import type { Core } from "../core/core.js";
import { DEFAULT_FRAME_LIMIT, Host } from "../kvm/host.js";
import type { Policy } from "../policy/types.js";
import { profileByName, type KernelProfile } from "../kvm/profile.js";
import { messageOf, type Result } from "../kvm/result.js";
import type { GmemFile as GmemFileObj, HostMap, Vm as VmObj } from "../kvm/objects.js";
import * as fal from "../kvm/ops/fallocate.js";
import * as gm from "../kvm/ops/gmem.js";
import * as gu from "../kvm/ops/guest.js";
import * as ms from "../kvm/ops/memslot.js";
import * as mm from "../kvm/ops/mmap.js";
import * as vmo from "../kvm/ops/vm.js";
import * as lk from "../kvm/ops/link.js";
import { isPerm, type Perm } from "../kvm/perm.js";
import { Replayer, resultLine, type ResultLine } from "../trace/replay.js";
import { toBits, toCap, toFlags, toProt, toVmType, wrap } from "../trace/numbers.js";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../uapi/constants.js";

/** A 64-bit value: a number, a bigint, or a string in strtoull syntax ("0x1000"). */
export type Num = number | bigint | string;
export type FlagsArg = number | string | Array<number | string>;

export interface SimulatorOptions {
  /** "wasm" (default): the WebAssembly engine; "reference": the pure-TypeScript model. */
  engine?: "wasm" | "reference";
  /** Kernel profile: "6.18" (default, the live kernel), "7.2". */
  kernel?: string | KernelProfile;
  /** The permission policy of the inode/file design (default: defaultPolicy). */
  policy?: Policy;
  /**
   * Frames the simulated host may hold at once (default and maximum 2^26, 256 GiB
   * of guest memory): past it, allocations fail with ENOMEM and faults cannot be
   * served, and nothing changes.
   */
  frameLimit?: number;
  /** A core to drive (reset first), instead of making one: for many short runs, such as fuzzing. */
  core?: Core;
}

/** A 64-bit argument: a number, a bigint, or a string in strtoull syntax, as in traces. */
const u64 = (name: string, x: unknown): bigint => wrap(toBits(name, x as never), "u64");
const s64 = (name: string, x: unknown): bigint => wrap(toBits(name, x as never), "s64");

/**
 * Runs an API call: a malformed argument (a fraction, a string that is no
 * number, an unknown flag name) is EINVAL naming the argument, raised before
 * anything changed, never a raw exception.
 */
function guard<T>(op: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TraceError) throw new GmemError(op, "EINVAL", e.message);
    throw e;
  }
}

function check(op: string, r: Result): Result {
  if (r.errno) throw new GmemError(op, r.errno, messageOf(r) ?? r.errno);
  return r;
}

export function makeCore(engine: "wasm" | "reference" = "wasm"): Core {
  return engine === "reference" ? new ReferenceCore() : new EngineCore();
}

export class Simulator {
  readonly host: Host;
  private replayer: Replayer;

  constructor(options: SimulatorOptions = {}) {
    const profile = typeof options.kernel === "object" ? options.kernel : profileByName(options.kernel ?? "6.18");
    const frameLimit = options.frameLimit;
    if (frameLimit !== undefined && !(Number.isSafeInteger(frameLimit) && frameLimit > 0 && frameLimit <= DEFAULT_FRAME_LIMIT))
      throw new GmemError("Simulator", "EINVAL", `frameLimit: ${String(frameLimit)} must be a whole number of frames from 1 to ${DEFAULT_FRAME_LIMIT}`);
    this.host = new Host(options.core ?? makeCore(options.engine), { profile, policy: options.policy, frameLimit });
    this.replayer = new Replayer(this.host);
  }

  /** KVM_CREATE_VM. type: "default" (0) or "sw_protected" (1). */
  createVm(type: "default" | "sw_protected" | number = "default"): Vm {
    return guard("create_vm", () => {
      const [r, vm] = vmo.createVm(this.host, toVmType("type", type));
      check("create_vm", r);
      return new Vm(this, vm!);
    });
  }

  /** KVM_CHECK_EXTENSION on /dev/kvm; cap by number or name ("KVM_CAP_GUEST_MEMFD"). */
  checkExtension(cap: number | string): number {
    return guard("check_extension", () => check("check_extension", vmo.checkExtension(this.host, undefined, toCap("cap", cap))).value as number);
  }

  /** Host-wide counters: gmem pages allocated on the host. */
  stats(): { host_pages: number } {
    const r = gu.stats(this.host, undefined);
    this.host.sync();
    return { host_pages: r.host_pages as number };
  }

  /** Anonymous shared host memory (to back plain memslots). */
  anonMap(len: Num): Mapping {
    return guard("anon_map", () => {
      const [r, map] = mm.anonMap(this.host, u64("len", len));
      check("anon_map", r);
      return new Mapping(this, map!);
    });
  }

  /**
   * The batch tier: runs trace ops (SPEC §5, as objects or JSON lines) in this
   * simulator's namespace of names and returns one result line each. Never throws
   * for a bad op: it becomes {"error": ...}.
   */
  apply(ops: Array<object | string>): ResultLine[] {
    const recs = ops.map((op, n) =>
      typeof op === "string" ? this.replayer.line(op, n + 1) : op && typeof op === "object" && !Array.isArray(op) ? this.replayer.op(op as never, n + 1) : this.replayer.line(JSON.stringify(op) ?? "null", n + 1),
    );
    this.host.sync();
    return recs.filter((r) => r !== null).map((r) => resultLine(r!));
  }

  /** The core's whole state, as the snapshot stream of core-abi.ts. */
  snapshot(): Float64Array {
    return this.host.core.snapshot();
  }
}

export class Vm {
  constructor(
    readonly sim: Simulator,
    readonly obj: VmObj,
  ) {}

  private get host() {
    return this.sim.host;
  }

  /** KVM_CREATE_GUEST_MEMFD. size in bytes; flags: "MMAP", "INIT_SHARED" or their OR. */
  createGuestMemfd(size: Num, flags: FlagsArg = 0): GmemFile {
    return guard("create_guest_memfd", () => {
      const [r, f] = gm.createGuestMemfd(this.host, this.obj, u64("size", size), toFlags("flags", "gmem", flags as never));
      check("create_guest_memfd", r);
      return new GmemFile(this.sim, f!);
    });
  }

  /**
   * KVM_SET_USER_MEMORY_REGION2. Sizes and addresses in bytes; memorySize 0 deletes.
   * guestMemfd binds a gmem file (flags must include "GUEST_MEMFD").
   */
  setUserMemoryRegion2(region: {
    slot: number;
    flags?: FlagsArg;
    guestPhysAddr: Num;
    memorySize: Num;
    userspaceAddr?: Num | Mapping;
    guestMemfd?: GmemFile | number;
    guestMemfdOffset?: Num;
  }): void {
    guard("set_user_memory_region2", () => {
      const ua = region.userspaceAddr instanceof Mapping ? region.userspaceAddr.obj.address : u64("userspaceAddr", region.userspaceAddr ?? 0);
      const r = ms.setUserMemoryRegion2(this.host, this.obj, {
        slot: Number(wrap(toBits("slot", region.slot as never), "u32")),
        flags: Number(toFlags("flags", "memslot", (region.flags ?? 0) as never) & 0xffffffffn),
        guestPhysAddr: u64("guestPhysAddr", region.guestPhysAddr),
        memorySize: u64("memorySize", region.memorySize),
        userspaceAddr: ua,
        guestMemfd: region.guestMemfd instanceof GmemFile ? region.guestMemfd.obj : Number(wrap(toBits("guestMemfd", (region.guestMemfd ?? 0) as never), "u32")),
        guestMemfdOffset: u64("guestMemfdOffset", region.guestMemfdOffset ?? 0),
      });
      check("set_user_memory_region2", r);
    });
  }

  /**
   * A vCPU access at gpa. Returns the result line: {ret: 0, value} for a read, or
   * an exit ({exit: "mmio", gpa}, {errno, exit: "memory_fault", ...}). Exits are
   * results, not errors; only a closed VM throws (EBADF).
   */
  access(gpa: Num, access: "read" | "write" | "exec", opts: { value?: number; private?: boolean } = {}): Result {
    const r = guard("vcpu_access", () => {
      if (access !== "read" && access !== "write" && access !== "exec") throw new TraceError(`access: "${access}" is not read, write or exec`);
      const value = opts.value ?? 0;
      if (!Number.isInteger(value) || value < 0 || value > 255) throw new TraceError(`value: ${value} is not a byte (0 to 255)`);
      return gu.vcpuAccess(this.host, this.obj, u64("gpa", gpa), access, opts.private ?? false, value);
    });
    if (r.errno === "EBADF") check("vcpu_access", r);
    this.host.sync();
    return r;
  }

  /** KVM_SET_MEMORY_ATTRIBUTES over [gpa, gpa + size). */
  setMemoryAttributes(gpa: Num, size: Num, attributes: FlagsArg): void {
    guard("set_memory_attributes", () =>
      check("set_memory_attributes", gu.setMemoryAttributes(this.host, this.obj, u64("gpa", gpa), u64("size", size), toFlags("attributes", "attributes", attributes as never), 0n)),
    );
  }

  /** This VM's counters: SPTEs installed now, faults, zaps, exits. */
  stats(): { sptes: number; faults: number; zaps: number; exits: number } {
    const r = check("stats", gu.stats(this.host, this.obj));
    this.host.sync();
    return { sptes: r.sptes as number, faults: r.faults as number, zaps: r.zaps as number, exits: r.exits as number };
  }

  /** KVM_CHECK_EXTENSION on this VM; cap by number or name. */
  checkExtension(cap: number | string): number {
    return guard("check_extension", () => check("check_extension", vmo.checkExtension(this.host, this.obj, toCap("cap", cap))).value as number);
  }


  /**
   * Extension (the 2023 design): take `src`'s encryption context once this VM's
   * migrating files are bound exactly as `src`'s (EINVAL otherwise).
   */
  moveEncContextFrom(src: Vm): void {
    check("move_enc_context_from", lk.moveEncContextFrom(this.host, this.obj, src.obj));
  }

  /** Closes the VM fd; the VM lives on while any of its gmem files is open. */
  destroy(): void {
    check("destroy_vm", vmo.destroyVm(this.host, this.obj));
  }
}

export class GmemFile {
  constructor(
    readonly sim: Simulator,
    readonly obj: GmemFileObj,
  ) {}

  private get host() {
    return this.sim.host;
  }

  /** fallocate(2) with an explicit mode (FALLOC_FL_* names or numbers). */
  fallocate(mode: FlagsArg, offset: Num, len: Num): void {
    guard("fallocate", () => check("fallocate", fal.fallocate(this.host, this.obj, Number(wrap(toFlags("mode", "falloc", mode as never), "int")), s64("offset", offset), s64("len", len))));
  }

  /** Allocates [offset, offset + len) (FALLOC_FL_KEEP_SIZE). */
  allocate(offset: Num, len: Num): void {
    this.fallocate(FALLOC_FL_KEEP_SIZE, offset, len);
  }

  /** Punches a hole over [offset, offset + len): zaps every binding's SPTEs, frees the pages. */
  punchHole(offset: Num, len: Num): void {
    this.fallocate(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, offset, len);
  }

  fstat(): { size: number; blocks: number } {
    const r = check("fstat", gm.fstat(this.host, this.obj));
    return { size: r.size as number, blocks: r.blocks as number };
  }

  /** mmap(2), always MAP_SHARED unless shared is false. prot: "r", "rw", ... */
  mmap(offset: Num, len: Num, prot: string | number = "rw", shared = true): Mapping {
    return guard("mmap", () => {
      const [r, map] = mm.mmap(this.host, this.obj, s64("offset", offset), u64("len", len), toProt("prot", prot), shared);
      check("mmap", r);
      return new Mapping(this.sim, map!);
    });
  }

  /** Counters of this file's inode: pages present, and of them poisoned. */
  stats(): { pages: number; poisoned: number } {
    const r = check("stats", gu.inodeStats(this.host, this.obj));
    this.host.sync();
    return { pages: r.pages as number, poisoned: r.poisoned as number };
  }

  /**
   * Extension (the 2023 design): a new gmem file of `vm` on this file's inode,
   * shared, donated or migrating, with `perm` over a window (bytes; default the
   * whole inode). The policy decides (EPERM with its reason).
   */
  link(vm: Vm, perm: Perm[], mode: lk.LinkMode, window: { offset?: Num; len?: Num } = {}): GmemFile {
    return guard("gmem_link", () => {
      if (!Array.isArray(perm) || !perm.every(isPerm)) throw new TraceError('perm: expected an array of "r", "w", "x", "alloc", "punch"');
      if (mode !== "share" && mode !== "donate" && mode !== "migrate") throw new TraceError(`mode: "${mode}" is not share, donate or migrate`);
      const offset = window.offset === undefined ? undefined : s64("offset", window.offset);
      const len = window.len === undefined ? undefined : s64("len", window.len);
      const [r, f] = lk.gmemLink(this.host, this.obj, vm.obj, perm, offset, len, mode);
      check("gmem_link", r);
      return new GmemFile(this.sim, f!);
    });
  }

  /** Simulates a hardware memory error on the page at offset. */
  memoryFailure(offset: Num): void {
    guard("memory_failure", () => check("memory_failure", gu.memoryFailure(this.host, this.obj, s64("offset", offset))));
  }

  close(): void {
    check("close", gm.close(this.host, this.obj));
  }
}

export class Mapping {
  constructor(
    readonly sim: Simulator,
    readonly obj: HostMap,
  ) {}

  /** The mapping's host virtual address, for userspace_addr. */
  get address(): bigint {
    return this.obj.address;
  }

  /** An address outside the mapping is no memory of the process at all: SIGSEGV, as in a real one. */
  private outside(op: string, offset: number): boolean {
    if (!Number.isInteger(offset)) throw new GmemError(op, "EINVAL", `offset ${offset} must be an integer`);
    return !this.obj.alive || offset < 0 || offset >= this.obj.npages * 4096;
  }

  /** Reads the byte at offset; a fault is returned as {signal}. */
  load(offset: number): { value?: number; signal?: string } {
    if (this.outside("load", offset)) return { signal: "SIGSEGV" };
    const r = mm.hostAccess(this.sim.host, this.obj, offset, false, 0);
    this.sim.host.sync();
    return r.signal ? { signal: r.signal } : { value: r.value as number };
  }

  /** Fills the page holding offset with value; a fault is returned as {signal}. */
  store(offset: number, value: number): { signal?: string } {
    if (!Number.isInteger(value) || value < 0 || value > 255) throw new GmemError("store", "EINVAL", `value ${value} must be a byte (0 to 255)`);
    if (this.outside("store", offset)) return { signal: "SIGSEGV" };
    const r = mm.hostAccess(this.sim.host, this.obj, offset, true, value);
    this.sim.host.sync();
    return r.signal ? { signal: r.signal } : {};
  }

  unmap(): void {
    mm.munmap(this.sim.host, this.obj);
  }
}
