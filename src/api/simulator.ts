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
import { policyReentry } from "../kvm/ask.js";
import type { Policy } from "../policy/types.js";
import { policyShapeError } from "../policy/shape.js";
import { DEFAULT_PROFILE, profileByName, type KernelProfile } from "../kvm/profile.js";
import { messageOf, type Result } from "../kvm/result.js";
import type { GmemFile as GmemFileObj, HostMap, Memfd as MemfdObj, SystemGmem as SystemGmemObj, Vm as VmObj } from "../kvm/objects.js";
import * as sy from "../kvm/ops/system.js";
import { designByName, type Design } from "../kvm/design.js";
import * as fal from "../kvm/ops/fallocate.js";
import * as gm from "../kvm/ops/gmem.js";
import * as gu from "../kvm/ops/guest.js";
import * as ms from "../kvm/ops/memslot.js";
import * as mm from "../kvm/ops/mmap.js";
import * as vmo from "../kvm/ops/vm.js";
import * as lk from "../kvm/ops/link.js";
import * as at from "../kvm/ops/attributes.js";
import type { Perm } from "../kvm/perm.js";
import { Replayer, resultLine, type LineRecord, type ResultLine } from "../trace/replay.js";
import { toBits, wrap } from "../trace/numbers.js";
import { camel, checkKnownKeys, isRecord, valueReader, type ValueReader } from "../trace/fields.js";
import { readHotOp } from "../trace/hot-lines.js";
import { HotRun } from "../trace/hot-run.js";
import { defaultPolicy } from "../policy/default.js";
import { show } from "../trace/json.js";
import { OP_DEFS } from "../trace/opdefs.js";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../uapi/constants.js";

/** A 64-bit value: a number, a bigint, or a string in strtoull syntax ("0x1000"). */
export type Num = number | bigint | string;
export type FlagsArg = number | string | Array<number | string>;
/** An integer result: a number, or a bigint where it exceeds 2^53 (results are exact). */
export type Int = number | bigint;

export interface SimulatorOptions {
  /** "wasm" (default): the WebAssembly engine; "reference": the pure-TypeScript model. */
  engine?: "wasm" | "reference";
  /** Kernel profile `VERSION[+OPTION...]` (knownProfileNames()): "6.18" (default, the live kernel), "6.18+swprot", "7.2", "next+swprot", ...; an unknown name is EINVAL listing the known ones. */
  kernel?: string | KernelProfile;
  /** The permission policy of the inode/file design (default: defaultPolicy). */
  policy?: Policy;
  /**
   * Frames the simulated host may hold at once (default and maximum 2^26, 256 GiB
   * of guest memory): past it, allocations fail with ENOMEM and faults cannot be
   * served, and nothing changes.
   */
  frameLimit?: number;
  /** A core to drive instead of making one (the caller resets it first, `core.reset()`): for many runs on one core, such as fuzzing. */
  core?: Core;
  /**
   * Which design of the 2023 discussion runs (an extension, SPEC §2.3): "vm"
   * (default: upstream plus gmem_link), "system" (createGuestMemfdSystem, bind,
   * unbind), or "system+implicit" (a VM's first memslot on a system fd binds it).
   */
  design?: Design["name"];
}

const ENGINES = ["wasm", "reference"] as const;

/** A 64-bit argument: a number, a bigint, or a string in strtoull syntax, as in traces. */
const u64 = (name: string, x: unknown): bigint => wrap(toBits(name, x as never), "u64");

/**
 * An argument read by its trace field's declaration (opdefs.ts): the same C type,
 * flag family, enum or range, and the same sentence, under the API's name for it.
 */
function arg<T = bigint>(op: string, field: string, v: unknown, name = field): T {
  return READERS[op][field](name, v) as T;
}
/** Plain objects, so that arg("fallocate", "mode", ...) inlines to two constant-key loads. */
const READERS: Record<string, Record<string, ValueReader>> = Object.fromEntries(
  Object.entries(OP_DEFS).map(([op, def]) => [op, Object.fromEntries(Object.entries(def.fields).map(([f, d]) => [f, valueReader(d)]))]),
);

/** An options argument: a plain object (or nothing) with only the known keys. */
function options(what: string, o: unknown, known: readonly string[]): Record<string, unknown> {
  if (o === undefined) return {};
  if (!isRecord(o)) throw new TraceError(`${what}: expected an options object {${known.join(", ")}}, got ${show(o)}`);
  checkKnownKeys(what, o, known, "option");
  return o;
}

/**
 * Runs an API call: a malformed argument (a fraction, a string that is no
 * number, an unknown flag name or option) is EINVAL naming the argument, raised
 * before anything changed, never a raw exception. A call made by a policy while
 * it decides is EDEADLK, and changes nothing.
 */
function guard<T>(sim: Simulator, op: string, fn: () => T): T {
  const reentry = policyReentry(sim.host);
  if (reentry) throw new GmemError(op, "EDEADLK", reentry);
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

/** A handle argument must be a live handle of this simulator: another's is EINVAL, as a foreign fd would be. */
function mine<T extends Vm | GmemFile | Memfd | Mapping>(sim: Simulator, field: string, h: unknown, kind: new (...a: never[]) => T): T {
  if (!(h instanceof kind)) throw new TraceError(`${field}: expected a ${kind.name} handle, got ${show(h)}`);
  if (h.sim !== sim) throw new TraceError(`${field}: the ${kind.name} belongs to another Simulator`);
  return h;
}

export function makeCore(engine: "wasm" | "reference" = "wasm"): Core {
  return engine === "reference" ? new ReferenceCore() : new EngineCore();
}

function readSimulatorOptions(o: unknown): { profile: KernelProfile; core: Core; policy?: Policy; frameLimit?: number; design: Design } {
  const opts = options("Simulator", o, ["engine", "kernel", "policy", "frameLimit", "core", "design"]);
  const engine = opts.engine ?? "wasm";
  if (typeof engine !== "string" || !(ENGINES as readonly string[]).includes(engine)) throw new TraceError(`engine: ${show(engine)} is not a known engine (known: ${ENGINES.join(", ")})`);
  let profile: KernelProfile;
  if (opts.kernel === undefined || typeof opts.kernel === "string") {
    try {
      profile = profileByName((opts.kernel as string | undefined) ?? DEFAULT_PROFILE.name);
    } catch (e) {
      throw new TraceError(`kernel: ${(e as Error).message}`);
    }
  } else if (isRecord(opts.kernel) && typeof opts.kernel.name === "string") profile = opts.kernel as unknown as KernelProfile;
  else throw new TraceError(`kernel: expected a profile name or a KernelProfile, got ${show(opts.kernel)}`);
  const policy = opts.policy;
  if (policy !== undefined) {
    const why = policyShapeError(policy);
    if (why) throw new TraceError(`policy: ${why}`);
  }
  const frameLimit = opts.frameLimit;
  if (frameLimit !== undefined && !(typeof frameLimit === "number" && Number.isSafeInteger(frameLimit) && frameLimit > 0 && frameLimit <= DEFAULT_FRAME_LIMIT))
    throw new TraceError(`frameLimit: ${show(frameLimit)} must be a whole number of frames from 1 to ${DEFAULT_FRAME_LIMIT}`);
  const core = opts.core;
  if (core !== undefined && (core === null || typeof core !== "object" || typeof (core as Core).push !== "function"))
    throw new TraceError(`core: expected a Core (makeCore()), got ${show(core)}`);
  // The design of the 2023 discussion (SPEC §2.3): "vm" (default), "system" or "system+implicit".
  if (opts.design !== undefined && typeof opts.design !== "string") throw new TraceError(`design: expected a design name, got ${show(opts.design)}`);
  let design: Design;
  try {
    design = designByName(opts.design ?? "vm");
  } catch (e) {
    throw new TraceError(`design: ${(e as Error).message}`);
  }
  return { profile, core: (core as Core | undefined) ?? makeCore(engine as "wasm" | "reference"), policy: policy as Policy | undefined, frameLimit: frameLimit as number | undefined, design };
}

export class Simulator {
  /** The kernel layer under this simulator: what gmemsim/check's checkInvariants and checkSecurity read. */
  readonly host: Host;
  private replayer: Replayer;
  /** The batch tier's runs of hot ops through the typed tier (made at the first apply()). */
  private hotRun: HotRun | null = null;
  /** Whether an apply() of this simulator is under way (an op object's getter may call apply() again). */
  private applying = false;

  /** Unknown options or values (engine "gpu", kernel "7.3") are EINVAL naming the option and the known values. */
  constructor(options: SimulatorOptions = {}) {
    let o;
    try {
      o = readSimulatorOptions(options);
    } catch (e) {
      if (e instanceof TraceError) throw new GmemError("Simulator", "EINVAL", e.message);
      throw e;
    }
    this.host = new Host(o.core, { profile: o.profile, policy: o.policy, frameLimit: o.frameLimit, design: o.design });
    this.replayer = new Replayer(this.host);
  }

  /** KVM_CREATE_VM. type: "default" (0) or "sw_protected" (1). */
  createVm(type: "default" | "sw_protected" | number = "default"): Vm {
    return guard(this, "create_vm", () => {
      const [r, vm] = vmo.createVm(this.host, arg("create_vm", "type", type));
      check("create_vm", r);
      return new Vm(this, vm!);
    });
  }

  /** KVM_CHECK_EXTENSION on /dev/kvm; cap by number or name ("KVM_CAP_GUEST_MEMFD"). */
  checkExtension(cap: number | string): number {
    return guard(this, "check_extension", () => check("check_extension", vmo.checkExtension(this.host, undefined, arg("check_extension", "cap", cap))).value as number);
  }

  /** Host-wide counters: gmem pages allocated on the host. */
  stats(): { host_pages: number } {
    return guard(this, "stats", () => {
      const r = gu.stats(this.host, undefined);
      this.host.sync();
      return { host_pages: r.host_pages as number };
    });
  }

  /**
   * Extension (the system-scoped design): KVM_CREATE_GUEST_MEMFD on /dev/kvm, a
   * gmem fd owned by no VM; VMs use it after bind(). ENOTTY in the vm design.
   */
  createGuestMemfdSystem(size: Num, flags: FlagsArg = 0): GmemFile {
    return guard(this, "create_guest_memfd_system", () => {
      const [r, f] = sy.createGuestMemfdSystem(this.host, arg("create_guest_memfd_system", "size", size), arg("create_guest_memfd_system", "flags", flags));
      check("create_guest_memfd_system", r);
      return new GmemFile(this, f!);
    });
  }

  /** Anonymous shared host memory (to back plain memslots). */
  anonMap(len: Num): Mapping {
    return guard(this, "anon_map", () => {
      const [r, map] = mm.anonMap(this.host, arg("anon_map", "len", len));
      check("anon_map", r);
      return new Mapping(this, map!);
    });
  }

  /** memfd_create(2), then ftruncate(2) to size: an ordinary shmem file, for contrast and for plain memslots. */
  memfd(size: Num): Memfd {
    return guard(this, "memfd", () => {
      const [r, fd] = mm.memfdCreate(this.host, arg("memfd", "size", size));
      check("memfd", r);
      return new Memfd(this, fd!);
    });
  }

  /**
   * The batch tier: runs trace ops (SPEC §5) in this simulator's namespace of
   * names and returns one result line per op. Takes an array (each element an op
   * object or one JSON line; blank and # lines give no result) or a JSONL string.
   * Never throws: a bad op becomes {"error": "line N: ..."}, where N is the
   * element's 1-based position in the array or the line's in the string, and
   * "i" counts this simulator's ops from 0 across calls, as one long trace.
   */
  apply(ops: ReadonlyArray<object | string> | string): ResultLine[] {
    const rp = this.replayer;
    // A policy calling back while it decides gets its errors without a flush in the middle of the op that asked it.
    // Whether this call is one is fixed for its whole length (a policy's own calls end before it returns).
    const reentry = policyReentry(this.host) !== null;
    const run = (this.hotRun ??= new HotRun(this.host));
    // A call made while another apply() of this simulator is under way (from an op object's getter) first runs the
    // ops that call has gathered, so that every op runs in its order; its own ops then take the kernel layer's path.
    const nested = this.applying;
    if (nested) run.run();
    if (typeof ops === "string") {
      const recs: LineRecord[] = [];
      const lines = ops.split("\n");
      for (let n = 0; n < lines.length; n++) {
        const rec = rp.line(lines[n], n + 1);
        if (rec) recs.push(rec);
      }
      if (!reentry) this.host.sync();
      const out: ResultLine[] = new Array(recs.length);
      for (let k = 0; k < recs.length; k++) out[k] = resultLine(recs[k]);
      return out;
    }
    if (!Array.isArray(ops)) {
      const rec = rp.op(ops as never, 1);
      if (!reentry) this.host.sync();
      return [resultLine(rec)];
    }
    // One pass, indexed so that holes are visited too: every object gets its line, a string its line unless it is
    // blank or a # comment. Runs of hot ops the typed tier has commands for go through it (hot-run.ts), each run
    // before the next other op; other hot ops fill their result lines directly; every other op leaves a record,
    // made a result line once the host has synced.
    const out: Array<ResultLine | LineRecord> = new Array(ops.length);
    // The typed tier only where no code of the caller's can run while it runs: each op's "i" is taken before the
    // run, so a policy of the caller's calling back (which takes an "i" for its refused call) would number otherwise.
    const typed = !reentry && !nested && this.host.policy === defaultPolicy;
    if (typed) run.bind(out);
    this.applying = true;
    const names = rp.names;
    let k = 0;
    let records = false;
    try {
      for (let n = 0; n < ops.length; n++) {
        const op = ops[n];
        if (typeof op === "string") {
          run.run();
          const rec = rp.line(op, n + 1);
          if (rec) {
            out[k++] = rec;
            records = true;
          }
          continue;
        }
        if (typed && isRecord(op)) {
          let hot = 0;
          try {
            hot = readHotOp(names, op);
          } catch {
            // An API caller's getter that throws: op() reads the op again and says why it cannot.
          }
          if (hot !== 0 && run.take(hot, rp.nextIndex, k)) {
            rp.claim();
            k++;
            if (run.full) run.run();
            continue;
          }
        }
        run.run();
        const line = reentry ? null : rp.hotLine(op, n + 1);
        if (line) out[k++] = line;
        else {
          out[k++] = rp.op(op as object, n + 1);
          records = true;
        }
      }
      run.run();
    } finally {
      this.applying = nested;
    }
    if (k < out.length) out.length = k;
    if (!reentry) this.host.sync();
    if (records) for (let n = 0; n < k; n++) if ("lineNo" in out[n]) out[n] = resultLine(out[n] as LineRecord);
    return out as ResultLine[];
  }

  /** The core's whole state, as the snapshot stream of core-abi.ts. */
  snapshot(): Float64Array {
    return guard(this, "snapshot", () => this.host.core.snapshot());
  }
}

const region2 = (field: string, v: unknown): bigint => arg("set_user_memory_region2", field, v, camel(field));
const REGION_FIELDS = Object.keys(OP_DEFS.set_user_memory_region2.fields).filter((f) => f !== "vm").map(camel);

export class Vm {
  constructor(
    readonly sim: Simulator,
    /** @internal */
    readonly obj: VmObj,
  ) {}

  private get host() {
    return this.sim.host;
  }

  /** KVM_CREATE_GUEST_MEMFD. size in bytes; flags: "MMAP", "INIT_SHARED" or their OR. */
  createGuestMemfd(size: Num, flags: FlagsArg = 0): GmemFile {
    return guard(this.sim, "create_guest_memfd", () => {
      const [r, f] = gm.createGuestMemfd(this.host, this.obj, arg("create_guest_memfd", "size", size), arg("create_guest_memfd", "flags", flags));
      check("create_guest_memfd", r);
      return new GmemFile(this.sim, f!);
    });
  }

  /**
   * KVM_SET_USER_MEMORY_REGION2. Sizes and addresses in bytes; memorySize 0 deletes.
   * guestMemfd binds a gmem file (flags must include "GUEST_MEMFD"). The fields
   * are the trace op's, in camelCase; an unknown one is EINVAL naming it.
   */
  setUserMemoryRegion2(region: {
    slot: number;
    flags?: FlagsArg;
    guestPhysAddr: Num;
    memorySize: Num;
    userspaceAddr?: Num | Mapping;
    guestMemfd?: GmemFile | Memfd | number;
    guestMemfdOffset?: Num;
  }): void {
    guard(this.sim, "set_user_memory_region2", () => {
      const o = options("setUserMemoryRegion2", region, REGION_FIELDS);
      for (const k of ["slot", "guestPhysAddr", "memorySize"]) if (o[k] === undefined) throw new TraceError(`missing field "${k}"`);
      const ua = o.userspaceAddr instanceof Mapping ? mine(this.sim, "userspaceAddr", o.userspaceAddr, Mapping).obj.address : u64("userspaceAddr", o.userspaceAddr ?? 0);
      const guestMemfd = o.guestMemfd instanceof Memfd
        ? mine(this.sim, "guestMemfd", o.guestMemfd, Memfd).obj
        : o.guestMemfd instanceof GmemFile || (o.guestMemfd !== null && typeof o.guestMemfd === "object")
        ? mine(this.sim, "guestMemfd", o.guestMemfd, GmemFile).obj
        : Number(wrap(toBits("guestMemfd", (o.guestMemfd ?? 0) as never), "u32"));
      const r = ms.setUserMemoryRegion2(this.host, this.obj, {
        slot: Number(region2("slot", o.slot)),
        flags: Number(region2("flags", o.flags ?? 0)),
        guestPhysAddr: region2("guest_phys_addr", o.guestPhysAddr),
        memorySize: region2("memory_size", o.memorySize),
        userspaceAddr: ua,
        guestMemfd,
        guestMemfdOffset: region2("guest_memfd_offset", o.guestMemfdOffset ?? 0),
      });
      check("set_user_memory_region2", r);
    });
  }

  /**
   * A vCPU access at gpa. Returns the result line: {ret: 0, value} for a read, or
   * an exit ({exit: "mmio", gpa}, {errno, exit: "memory_fault", ...}); a gpa past
   * 2^53 is a bigint. Exits are results, not errors; only a closed VM throws (EBADF).
   */
  access(gpa: Num, access: "read" | "write" | "exec", opts?: { value?: number; private?: boolean }): Result {
    // The common shapes (a safe gpa, a known access, at most a byte value and a boolean) go straight to the
    // core, by the same rules as the declaration readers; anything else takes the readers below.
    if (typeof gpa === "number" && gpa >= 0 && Number.isSafeInteger(gpa) && (access === "read" || access === "write" || access === "exec") && policyReentry(this.sim.host) === null) {
      let value: unknown = 0;
      // Omitted: as the kernel derives it.
      let priv: unknown = undefined;
      let plain = opts === undefined;
      if (!plain && isRecord(opts)) {
        plain = true;
        for (const k in opts) if (k !== "value" && k !== "private") plain = false;
        if (opts.value !== undefined) value = opts.value;
        if (opts.private !== undefined) priv = opts.private;
      }
      if (plain && (priv === undefined || typeof priv === "boolean")) {
        const r = this.accessNow(gpa, access, value, priv as boolean | undefined);
        if (r) return r;
      }
    }
    const r = guard(this.sim, "vcpu_access", () => {
      const kind = arg<gu.Access>("vcpu_access", "access", access);
      const o = options("access", opts, ["value", "private"]);
      const value = o.value === undefined ? 0 : arg<number>("vcpu_access", "value", o.value);
      // Omitted: as the kernel derives it; given, it must agree (EINVAL naming the rule otherwise).
      const priv = o.private === undefined ? undefined : arg<boolean>("vcpu_access", "private", o.private);
      return gu.vcpuAccessNow(this.host, this.obj, arg("vcpu_access", "gpa", gpa), kind, priv, value);
    });
    if (r.errno === "EBADF") check("vcpu_access", r);
    return r;
  }

  /** vm.access(gpa, "read") with no options object to read: the byte is the result's value. */
  read(gpa: Num): Result {
    if (typeof gpa === "number" && gpa >= 0 && Number.isSafeInteger(gpa) && policyReentry(this.sim.host) === null) {
      const r = this.accessNow(gpa, "read", 0, undefined);
      if (r) return r;
    }
    return this.access(gpa, "read");
  }

  /** vm.access(gpa, "write", {value}) with no options object to read. */
  write(gpa: Num, value: number): Result {
    if (typeof gpa === "number" && gpa >= 0 && Number.isSafeInteger(gpa) && policyReentry(this.sim.host) === null) {
      const r = this.accessNow(gpa, "write", value, undefined);
      if (r) return r;
    }
    return this.access(gpa, "write", { value });
  }

  /**
   * The access straight to the kernel layer, for a safe gpa and a byte value
   * (what the declaration's readers would return for them); null for any
   * other value, which the readers then refuse with their sentence.
   */
  private accessNow(gpa: number, access: gu.Access, value: unknown, priv: boolean | undefined): Result | null {
    if (!(typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 255)) return null;
    const r = gu.vcpuAccessNow(this.host, this.obj, gpa, access, priv, value);
    if (r.errno === "EBADF") check("vcpu_access", r);
    return r;
  }

  /** KVM_SET_MEMORY_ATTRIBUTES over [gpa, gpa + size). */
  setMemoryAttributes(gpa: Num, size: Num, attributes: FlagsArg): void {
    guard(this.sim, "set_memory_attributes", () =>
      check("set_memory_attributes", gu.setMemoryAttributes(this.host, this.obj, arg("set_memory_attributes", "address", gpa, "gpa"), arg("set_memory_attributes", "size", size), arg("set_memory_attributes", "attributes", attributes), 0n)),
    );
  }

  /** This VM's counters: SPTEs installed now, faults, zaps, exits. */
  stats(): { sptes: number; faults: number; zaps: number; exits: number } {
    return guard(this.sim, "stats", () => {
      const r = check("stats", gu.stats(this.host, this.obj));
      this.host.sync();
      return { sptes: r.sptes as number, faults: r.faults as number, zaps: r.zaps as number, exits: r.exits as number };
    });
  }

  /** KVM_CHECK_EXTENSION on this VM; cap by number or name. */
  checkExtension(cap: number | string): number {
    return guard(this.sim, "check_extension", () => check("check_extension", vmo.checkExtension(this.host, this.obj, arg("check_extension", "cap", cap))).value as number);
  }

  /**
   * Extension (the 2023 design): take `src`'s encryption context once this VM's
   * migrating files are bound exactly as `src`'s (EINVAL otherwise, and for a VM
   * of another Simulator).
   */
  moveEncContextFrom(src: Vm): void {
    guard(this.sim, "move_enc_context_from", () => check("move_enc_context_from", lk.moveEncContextFrom(this.host, this.obj, mine(this.sim, "src", src, Vm).obj)));
  }

  /** Closes the VM fd (EBADF the second time); the VM lives on while any of its gmem files is open. */
  destroy(): void {
    guard(this.sim, "destroy_vm", () => check("destroy_vm", vmo.destroyVm(this.host, this.obj)));
  }
}

export class GmemFile {
  constructor(
    readonly sim: Simulator,
    /** @internal */
    readonly obj: GmemFileObj | SystemGmemObj,
  ) {}

  private get host() {
    return this.sim.host;
  }

  /** fallocate(2) with an explicit mode (FALLOC_FL_* names or numbers). */
  fallocate(mode: FlagsArg, offset: Num, len: Num): void {
    fallocateOf(this.sim, this.obj, mode, offset, len);
  }

  /** Allocates [offset, offset + len) (FALLOC_FL_KEEP_SIZE). */
  allocate(offset: Num, len: Num): void {
    this.fallocate(FALLOC_FL_KEEP_SIZE, offset, len);
  }

  /** Punches a hole over [offset, offset + len): zaps every binding's SPTEs, frees the pages. */
  punchHole(offset: Num, len: Num): void {
    this.fallocate(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, offset, len);
  }

  /** size and blocks, exact: a bigint past 2^53. */
  fstat(): { size: Int; blocks: Int } {
    return fstatOf(this.sim, this.obj);
  }

  /** mmap(2), always MAP_SHARED unless shared is false. prot: "r", "rw", ... */
  mmap(offset: Num, len: Num, prot: string | number = "rw", shared = true): Mapping {
    return mmapOf(this.sim, this.obj, offset, len, prot, shared);
  }

  /** Counters of this file's inode: pages present, and of them poisoned. */
  stats(): { pages: number; poisoned: number } {
    return guard(this.sim, "stats", () => {
      const r = check("stats", gu.inodeStats(this.host, this.obj));
      this.host.sync();
      return { pages: r.pages as number, poisoned: r.poisoned as number };
    });
  }

  /**
   * Extension (the 2023 design): a new gmem file of `vm` on this file's inode,
   * shared, donated or migrating, with `perm` over a window (bytes; default the
   * whole inode). The policy decides (EPERM with its reason).
   */
  link(vm: Vm, perm: Perm[], mode: lk.LinkMode, window: { offset?: Num; len?: Num } = {}): GmemFile {
    return guard(this.sim, "gmem_link", () => {
      const target = mine(this.sim, "vm", vm, Vm);
      const perms = arg<Perm[]>("gmem_link", "perm", perm);
      const m = arg<lk.LinkMode>("gmem_link", "mode", mode);
      const w = options("window", window, ["offset", "len"]);
      const offset = w.offset === undefined ? undefined : arg("gmem_link", "offset", w.offset);
      const len = w.len === undefined ? undefined : arg("gmem_link", "len", w.len);
      const [r, f] = lk.gmemLink(this.host, this.obj, target.obj, perms, offset, len, m);
      check("gmem_link", r);
      return new GmemFile(this.sim, f!);
    });
  }

  /** Extension (the system-scoped design): gmem_bind: `vm` may use this fd, with the rights the policy grants (default r, w, x). */
  bind(vm: Vm, perm?: Perm[]): void {
    guard(this.sim, "gmem_bind", () => {
      const target = mine(this.sim, "vm", vm, Vm);
      const perms = perm === undefined ? undefined : arg<Perm[]>("gmem_bind", "perm", perm);
      check("gmem_bind", sy.gmemBind(this.host, this.obj, target.obj, perms));
    });
  }

  /** Extension (the system-scoped design): gmem_unbind: `vm`'s bindings of this fd are dropped, as if it had closed its file. */
  unbind(vm: Vm): void {
    guard(this.sim, "gmem_unbind", () => check("gmem_unbind", sy.gmemUnbind(this.host, this.obj, mine(this.sim, "vm", vm, Vm).obj)));
  }

  /** Simulates a hardware memory error on the page at offset (EINVAL if the page is absent: there is no folio to fail). */
  memoryFailure(offset: Num): void {
    guard(this.sim, "memory_failure", () => {
      const r = gu.memoryFailure(this.host, this.obj, arg("memory_failure", "offset", offset));
      this.host.sync();
      check("memory_failure", r);
    });
  }

  /**
   * Profile next: KVM_SET_MEMORY_ATTRIBUTES2 on this file, converting
   * [offset, offset + size) to private (attributes "PRIVATE") or shared (0).
   * A pinned page makes a to-private conversion fail: GmemError EAGAIN, with
   * the page's byte offset as `errorOffset`.
   */
  setMemoryAttributes(offset: Num, size: Num, attributes: FlagsArg): void {
    guard(this.sim, "set_memory_attributes2", () => {
      const r = at.setMemoryAttributes2(this.host, this.obj, {
        offset: arg("set_memory_attributes2", "offset", offset),
        size: arg("set_memory_attributes2", "size", size),
        attributes: arg("set_memory_attributes2", "attributes", attributes),
        flags: 0n,
        reserved: [],
      });
      this.host.sync();
      if (r.errno) throw Object.assign(new GmemError("set_memory_attributes2", r.errno, messageOf(r) ?? r.errno), r.error_offset === undefined ? {} : { errorOffset: r.error_offset as number });
    });
  }

  /** close(2): EBADF the second time, which changes nothing. */
  close(): void {
    guard(this.sim, "close", () => check("close", gm.close(this.host, this.obj)));
  }
}

/** A safe integer inside [lo, hi]: the same value whether read as a number or through its declaration. */
const within = (v: unknown, lo: number, hi: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
const S64_SAFE = Number.MAX_SAFE_INTEGER;

/** fallocate(2) of a gmem file or a memfd. */
function fallocateOf(sim: Simulator, fd: GmemFileObj | SystemGmemObj | MemfdObj, mode: FlagsArg, offset: Num, len: Num): void {
  // A numeric mode (an int) and safe offset and len (loff_t) are what the readers would return: straight to the op.
  if (within(mode, -(2 ** 31), 2 ** 31 - 1) && within(offset, -S64_SAFE, S64_SAFE) && within(len, -S64_SAFE, S64_SAFE) && policyReentry(sim.host) === null) {
    check("fallocate", fal.fallocate(sim.host, fd, mode, offset, len));
    return;
  }
  guard(sim, "fallocate", () => check("fallocate", fal.fallocate(sim.host, fd, Number(arg("fallocate", "mode", mode)), arg("fallocate", "offset", offset), arg("fallocate", "len", len))));
}

/** fstat(2) of a gmem file or a memfd: size and blocks, exact. */
function fstatOf(sim: Simulator, fd: GmemFileObj | SystemGmemObj | MemfdObj): { size: Int; blocks: Int } {
  return guard(sim, "fstat", () => {
    const r = check("fstat", gm.fstat(sim.host, fd));
    sim.host.sync();
    return { size: r.size as Int, blocks: r.blocks as Int };
  });
}

/** mmap(2) of a gmem file or a memfd. */
function mmapOf(sim: Simulator, fd: GmemFileObj | SystemGmemObj | MemfdObj, offset: Num, len: Num, prot: string | number, shared: boolean): Mapping {
  return guard(sim, "mmap", () => {
    const [r, map] = mm.mmap(sim.host, fd, arg("mmap", "offset", offset), arg("mmap", "len", len), arg<number>("mmap", "prot", prot), arg<boolean>("mmap", "shared", shared));
    check("mmap", r);
    return new Mapping(sim, map!);
  });
}

/**
 * An ordinary memfd (shmem): file I/O at its position or at an offset, size
 * changes, fallocate, mappings. It can never be bound as guest_memfd (EINVAL).
 * Byte counts are numbers (at most MAX_RW_COUNT); sizes are exact (Int).
 */
export class Memfd {
  constructor(
    readonly sim: Simulator,
    /** @internal */
    readonly obj: MemfdObj,
  ) {}

  private get host() {
    return this.sim.host;
  }

  /** read(2) of len bytes at the file position, which it advances; returns the bytes read (0 at EOF). */
  read(len: Num = 4096): number {
    return guard(this.sim, "read", () => check("read", gm.readWrite(this.host, this.obj, arg("read", "len", len), false)).ret as number);
  }

  /** write(2) of len bytes filled with value at the file position, which it advances; returns the bytes written. */
  write(len: Num = 4096, value = 0): number {
    return guard(this.sim, "write", () => check("write", gm.readWrite(this.host, this.obj, arg("write", "len", len), true, arg<number>("write", "value", value))).ret as number);
  }

  /** pread64(2): len bytes at offset; the position stays. */
  pread(len: Num, offset: Num): number {
    return guard(this.sim, "pread", () => check("pread", gm.preadPwrite(this.host, this.obj, arg("pread", "len", len), arg("pread", "offset", offset), false)).ret as number);
  }

  /** pwrite64(2): len bytes filled with value at offset; the position stays. */
  pwrite(len: Num, offset: Num, value = 0): number {
    return guard(this.sim, "pwrite", () => check("pwrite", gm.preadPwrite(this.host, this.obj, arg("pwrite", "len", len), arg("pwrite", "offset", offset), true, arg<number>("pwrite", "value", value))).ret as number);
  }

  /** ftruncate(2): the new size; a shrink frees the pages past it. */
  ftruncate(size: Num): void {
    guard(this.sim, "ftruncate", () => check("ftruncate", gm.ftruncate(this.host, this.obj, arg("ftruncate", "size", size))));
  }

  /** fallocate(2): KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, or 0 (allocates and grows the size). */
  fallocate(mode: FlagsArg, offset: Num, len: Num): void {
    fallocateOf(this.sim, this.obj, mode, offset, len);
  }

  /** size and blocks (512-byte units of what is allocated), exact. */
  fstat(): { size: Int; blocks: Int } {
    return fstatOf(this.sim, this.obj);
  }

  /** mmap(2), MAP_SHARED unless shared is false. */
  mmap(offset: Num, len: Num, prot: string | number = "rw", shared = true): Mapping {
    return mmapOf(this.sim, this.obj, offset, len, prot, shared);
  }

  /** close(2): EBADF the second time, which changes nothing. */
  close(): void {
    guard(this.sim, "close", () => check("close", gm.close(this.host, this.obj)));
  }
}

export class Mapping {
  constructor(
    readonly sim: Simulator,
    /** @internal */
    readonly obj: HostMap,
  ) {}

  /** The mapping's host virtual address, for userspace_addr. */
  get address(): bigint {
    return this.obj.address;
  }

  /** The byte offset as the trace reads it (s64); null outside the mapping, which is no memory of the process at all: SIGSEGV, as in a real one. */
  private inside(offset: Num): number | null {
    if (typeof offset === "number" && Number.isSafeInteger(offset)) return !this.obj.alive || offset < 0 || offset >= this.obj.npages * 4096 ? null : offset;
    const off = arg("load", "offset", offset);
    return !this.obj.alive || off < 0n || off >= BigInt(this.obj.npages) * 4096n ? null : Number(off);
  }

  /** Reads the byte at offset; a fault is returned as {signal}. */
  load(offset: Num): { value?: number; signal?: string } {
    const r = Number.isSafeInteger(offset) && policyReentry(this.sim.host) === null ? this.access(offset, false, 0) : guard(this.sim, "load", () => this.access(offset, false, 0));
    return r.signal ? { signal: r.signal } : { value: r.value as number };
  }

  /** Fills the page holding offset with value; a fault is returned as {signal}. */
  store(offset: Num, value: number): { signal?: string } {
    const fast = Number.isSafeInteger(offset) && within(value, 0, 255) && policyReentry(this.sim.host) === null;
    const r = fast ? this.access(offset, true, value) : guard(this.sim, "store", () => this.access(offset, true, arg<number>("store", "value", value)));
    return r.signal ? { signal: r.signal } : {};
  }

  private access(offset: Num, store: boolean, value: number): Result {
    const off = this.inside(offset);
    if (off === null) return { signal: "SIGSEGV" };
    return mm.hostAccessNow(this.sim.host, this.obj, off, store, value);
  }

  /** munmap(2) of the whole mapping: EBADF the second time, which changes nothing. */
  unmap(): void {
    guard(this.sim, "munmap", () => check("munmap", mm.munmap(this.sim.host, this.obj)));
  }

  /**
   * Profile next's simulator op: a long-term writable GUP pin (as VFIO takes)
   * of [offset, offset + len); EFAULT if a page cannot be faulted in writable.
   * Returns the function that releases it.
   */
  pin(offset: Num, len: Num): () => void {
    return guard(this.sim, "pin", () => {
      const [r, p] = at.pin(this.sim.host, this.obj, arg("pin", "offset", offset), arg("pin", "len", len));
      this.sim.host.sync();
      check("pin", r);
      return () => void guard(this.sim, "unpin", () => check("unpin", at.unpin(this.sim.host, p!)));
    });
  }
}
