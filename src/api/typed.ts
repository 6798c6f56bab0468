/**
 * The typed tier: the hot ops as numbers in typed arrays, for simulations that
 * run millions of guest accesses. Same semantics and errno results as the
 * handles and apply(). The core decodes the commands itself (core-abi.ts
 * "Typed entry") on the objects the kernel layer cleared for the run
 * (src/kvm/hot.ts: those none of its per-op checks could refuse); any other
 * command goes through the kernel layer's own checks (src/kvm/ops:
 * vcpuDenied(), fallocate(), mapHolds()) and the same core commands, in order
 * with the rest. Only the result objects are replaced by words.
 *
 * Handles. VMs, gmem files (a system-design gmem fd among them) and mappings
 * made with the object API are given small integer handles once, by
 * `handle(obj)`; commands name them by handle, so nothing is looked up by
 * name per command.
 *
 * Commands: a Float64Array of n commands of CMD_WORDS (4) words each:
 *
 *   word 0  opcode, plus TYPED_PRIVATE (0x100) for a private vCPU access
 *   word 1  handle (a VM, gmem file or mapping handle; ignored by STATS_HOST)
 *   word 2  a: gpa (vCPU access) or byte offset (fallocate, load, store)
 *   word 3  b: len (allocate, punch) or the byte to write (write, store)
 *
 *   opcode            handle     a        b       (the object API's equivalent)
 *   TYPED_READ    1   VM         gpa      -       vm.access(gpa, "read")
 *   TYPED_WRITE   2   VM         gpa      byte    vm.access(gpa, "write", {value})
 *   TYPED_EXEC    3   VM         gpa      -       vm.access(gpa, "exec")
 *   TYPED_ALLOCATE 4  gmem file  offset   len     gmem.allocate(offset, len)
 *   TYPED_PUNCH   5   gmem file  offset   len     gmem.punchHole(offset, len)
 *   TYPED_LOAD    6   mapping    offset   -       map.load(offset)
 *   TYPED_STORE   7   mapping    offset   byte    map.store(offset, byte)
 *   TYPED_STATS_VM 8  VM         -        -       vm.stats()
 *   TYPED_STATS_FILE 9 gmem file -        -       gmem.stats()
 *   TYPED_STATS_HOST 10 -        -        -       sim.stats()
 *
 * Numbers in words are integers below 2^53 (a double is exact there): gpas and
 * offsets past that, or the 64-bit wrap of negative values, need the object
 * API. fallocate's offset and len may be negative (the kernel's EINVAL).
 *
 * Results: a Float64Array of n results of RES_WORDS (8) words each, every word
 * written (0 unless named):
 *
 *   word 0  errno: 0 on success, else the Linux errno number (ERRNO: EFAULT
 *           14, ...); -1 when the command itself is malformed (an unknown
 *           opcode, a handle of the wrong kind, a number that is no integer or
 *           no byte): nothing ran, and message(i) says which word and why
 *   word 1  exit: 0, or KVM_EXIT_MMIO (6), KVM_EXIT_INTERNAL_ERROR (17),
 *           KVM_EXIT_MEMORY_FAULT (39)
 *   word 2  signal: 0, or SIGBUS (7), SIGSEGV (11) (a host access, or a guest
 *           access whose shared page is poisoned)
 *   word 3  the byte read (read, load); STATS_VM: sptes; STATS_FILE: pages;
 *           STATS_HOST: host_pages
 *   word 4  the exit's gpa (MMIO: the access's gpa; memory fault: the page's);
 *           STATS_VM: faults; STATS_FILE: poisoned
 *   word 5  memory fault: its flags (KVM_MEMORY_EXIT_FLAG_PRIVATE, 8);
 *           internal error: the suberror (1, emulation); STATS_VM: zaps
 *   word 6  memory fault: its size (4096); STATS_VM: exits
 *   word 7  0 (reserved)
 *
 * A command's result is what the same op gives through the object API, as
 * numbers: `{errno: "EFAULT", exit: "memory_fault", gpa, size, flags:
 * ["PRIVATE"]}` is [14, 39, 0, 0, gpa, 8, 4096, 0]; a closed VM is [9, ...]
 * (EBADF), where the handles would throw it. run() never throws for a
 * command; it throws (GmemError EINVAL, before anything ran) only when the
 * arrays themselves are unusable.
 *
 * Commands run in order, crossing into the core once per TYPED_CAPACITY
 * commands (and once more after each command the kernel layer takes); they
 * mix freely with the other tiers on the same simulator.
 *
 * This tier is an extension of gmemsim (the kernel has no such interface).
 */
import * as A from "../abi/core-abi.js";
import { GmemError } from "../errors.js";
import type { Host } from "../kvm/host.js";
import { GmemFile as GmemFileObj, HostMap, SystemGmem as SystemGmemObj, Vm as VmObj } from "../kvm/objects.js";
import { messageOf, type Result } from "../kvm/result.js";
import { writeHotEntry } from "../kvm/hot.js";
import type { TypedEntry } from "../core/core.js";
import * as fal from "../kvm/ops/fallocate.js";
import * as gu from "../kvm/ops/guest.js";
import * as mm from "../kvm/ops/mmap.js";
import { ERRNO } from "../uapi/errno.js";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../uapi/constants.js";


// The layout's words and the opcodes the core reads are the ABI's (core-abi.ts "Typed entry").
export { TYPED_CMD_WORDS, TYPED_RES_WORDS, TYPED_READ, TYPED_WRITE, TYPED_EXEC, TYPED_ALLOCATE, TYPED_PUNCH, TYPED_LOAD, TYPED_STORE } from "../abi/core-abi.js";
import { TYPED_CMD_WORDS, TYPED_RES_WORDS, TYPED_READ, TYPED_WRITE, TYPED_EXEC, TYPED_ALLOCATE, TYPED_PUNCH, TYPED_LOAD, TYPED_STORE } from "../abi/core-abi.js";
export const TYPED_STATS_VM = 8;
export const TYPED_STATS_FILE = 9;
export const TYPED_STATS_HOST = 10;
/** OR-ed into a vCPU access's opcode: the access is private. */
export const TYPED_PRIVATE = 0x100;

export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_MEMORY_FAULT = 39;
export const KVM_MEMORY_EXIT_FLAG_PRIVATE = 8;
export const SIGBUS = 7;
export const SIGSEGV = 11;

const EXIT_CODE = { mmio: KVM_EXIT_MMIO, internal_error: KVM_EXIT_INTERNAL_ERROR, memory_fault: KVM_EXIT_MEMORY_FAULT } as const;

// The guest outcome table (src/kvm/ops/guest.ts) as words, per core result code.
const G_ERRNO: number[] = [];
const G_EXIT: number[] = [];
const G_SIGNAL: number[] = [];
gu.GUEST_OUTCOMES.forEach((o, code) => {
  G_ERRNO[code] = o.errno ? ERRNO[o.errno] : 0;
  G_EXIT[code] = o.exit ? EXIT_CODE[o.exit] : 0;
  G_SIGNAL[code] = o.signal === "SIGBUS" ? SIGBUS : 0;
});

const ACCESS_OF = [0, A.ACCESS_READ, A.ACCESS_WRITE, A.ACCESS_EXEC];
const KEEP = FALLOC_FL_KEEP_SIZE;
const PUNCH = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;

/** Anything of the object API that carries a kernel object (Vm, GmemFile, Mapping). */
export interface HandleSource {
  /** A system-design gmem fd (SPEC §2.3) is a gmem file handle here: allocate, punch and stats through it. */
  readonly obj: VmObj | GmemFileObj | HostMap | SystemGmemObj;
}

/** No core command was queued for this command: its result is written already (or, for stats, after the run). */
const DONE = -1;

export class TypedBatch {
  private readonly objs: Array<VmObj | GmemFileObj | SystemGmemObj | HostMap> = [];
  private readonly ids = new Map<object, number>();
  /** The typed command behind each command of the core's current batch, or -1. */
  private readonly slotCmd = new Int32Array(A.CMD_CAPACITY).fill(-1);
  /** The arrays of the run in progress (read by the batch sink). */
  private cmds: Float64Array = new Float64Array(0);
  private res: Float64Array = new Float64Array(0);
  /** Results of the run's stats commands (not hot: the object path), by command index. */
  private readonly slow = new Map<number, Result>();
  /** The run count, and the run at which each handle's table entry was last written. */
  private epoch = 0;
  private stamp = new Float64Array(16);
  /** Each handle's kind in the table (core-abi.ts HOT_*), as last written. */
  private hotKind = new Uint8Array(16);
  /** A result's core words, while they are translated. */
  private readonly raw = new Float64Array(2);
  /** Failures and malformed commands of the last run, by command index: read only when asked. */
  private readonly failures = new Map<number, Result | string>();

  constructor(private readonly source: { readonly host: Host }) {}

  private get host(): Host {
    return this.source.host;
  }

  /** The integer handle of a VM, gmem file or mapping of this simulator (the same one each time). */
  handle(x: HandleSource): number {
    const obj = x?.obj;
    if (!(obj instanceof VmObj || obj instanceof GmemFileObj || obj instanceof SystemGmemObj || obj instanceof HostMap)) throw new GmemError("handle", "EINVAL", "expected a Vm, GmemFile (or system gmem fd) or Mapping of the object API");
    // The object API's objects know their simulator: another one's object would name ids this core gave to others.
    const owner = (x as { readonly sim?: unknown }).sim;
    if (owner !== undefined && owner !== this.source) throw new GmemError("handle", "EINVAL", "the object belongs to another Simulator");
    let h = this.ids.get(obj);
    if (h === undefined) {
      h = this.objs.length;
      this.objs.push(obj);
      this.ids.set(obj, h);
    }
    return h;
  }

  /** Why command i of the last run failed or was malformed (the sentence behind its errno), if it did. */
  message(i: number): string | undefined {
    const f = this.failures.get(i);
    return typeof f === "string" ? f : f && messageOf(f);
  }

  /**
   * Runs cmds (n = cmds.length / 4 commands) and writes n results into `out`
   * (a new array if not given); returns `out`.
   */
  run(cmds: Float64Array, out?: Float64Array): Float64Array {
    if (!(cmds instanceof Float64Array) || cmds.length % TYPED_CMD_WORDS !== 0)
      throw new GmemError("typed", "EINVAL", `cmds must be a Float64Array of whole commands (${TYPED_CMD_WORDS} words each)`);
    const n = cmds.length / TYPED_CMD_WORDS;
    const res = out ?? new Float64Array(n * TYPED_RES_WORDS);
    if (!(res instanceof Float64Array) || res.length < n * TYPED_RES_WORDS)
      throw new GmemError("typed", "EINVAL", `out must be a Float64Array of at least ${n * TYPED_RES_WORDS} words (${TYPED_RES_WORDS} per command)`);
    const host = this.host;
    // Earlier tiers' commands run first.
    host.sync();
    this.failures.clear();
    this.cmds = cmds;
    this.res = res;
    // Every flush (a full batch, or the kernel layer asking the core mid-run) hands its results to the sink.
    host.batchSink = this.sink;
    try {
      const entry = host.core.typed;
      if (entry?.active()) this.runInCore(entry, cmds, n, res);
      else this.runQueued(cmds, 0, n, res);
      host.sync();
    } finally {
      host.batchSink = null;
      this.slotCmd.fill(-1);
      this.cmds = this.res = new Float64Array(0);
    }
    for (const [i, r] of this.slow) this.stats(i, r, res);
    this.slow.clear();
    return res;
  }

  /** Commands [from, to) on the kernel layer's path, queued into the core's batch (run at the next sync). */
  private runQueued(cmds: Float64Array, from: number, to: number, res: Float64Array): void {
    const slot = this.slotCmd;
    // Every word is written: the kernel layer's path writes only those it names.
    res.fill(0, from * TYPED_RES_WORDS, to * TYPED_RES_WORDS);
    for (let i = from; i < to; i++) {
      const k = this.queue(cmds, i, res);
      if (k !== DONE) slot[k] = i;
    }
  }

  /**
   * The core's typed entry runs the commands it may (core-abi.ts "Typed
   * entry"): a chunk at a time, with the handle table rewritten for the
   * handles the chunk names (src/kvm/hot.ts decides each entry). Where the
   * core stops, that command, and those after it the core would also hand
   * back, go the kernel layer's way; then the core goes on.
   */
  private runInCore(t: TypedEntry, cmds: Float64Array, n: number, res: Float64Array): void {
    const host = this.host;
    const epoch = ++this.epoch;
    for (let s = 0; s < n; s += A.TYPED_CAPACITY) {
      const m = Math.min(A.TYPED_CAPACITY, n - s);
      t.cmds().set(cmds.subarray(s * TYPED_CMD_WORDS, (s + m) * TYPED_CMD_WORDS));
      this.refreshHandles(t, cmds, s, m, epoch);
      let i = 0;
      while (i < m) {
        const stop = t.run(m, i, host.frameHeadroom(m - i));
        host.reserveFrames(t.spent());
        if (stop > i) res.set(t.results().subarray(i * TYPED_RES_WORDS, stop * TYPED_RES_WORDS), (s + i) * TYPED_RES_WORDS);
        const nf = t.fixups();
        if (nf > 0) {
          const fix = t.fixes();
          const raw = this.raw;
          for (let f = 0; f < nf; f++) {
            const o = (s + fix[f]) * TYPED_RES_WORDS;
            raw[0] = res[o];
            raw[1] = res[o + 1];
            res[o] = res[o + 1] = 0;
            this.decode(cmds, s + fix[f], raw, 0, res);
          }
        }
        if (stop >= m) break;
        let j = stop + 1;
        while (j < m && !this.coreTakes(cmds, s + j)) j++;
        this.runQueued(cmds, s + stop, s + j, res);
        host.sync();
        i = j;
      }
    }
  }

  /** Rewrites the table entries of the handles commands [s, s + m) name, once per run each. */
  private refreshHandles(t: TypedEntry, cmds: Float64Array, s: number, m: number, epoch: number): void {
    const objs = this.objs;
    if (this.stamp.length < objs.length) {
      const grown = new Float64Array(Math.max(objs.length, this.stamp.length * 2));
      grown.set(this.stamp);
      this.stamp = grown;
      const kinds = new Uint8Array(grown.length);
      kinds.set(this.hotKind);
      this.hotKind = kinds;
    }
    const [i32, f64] = t.table(objs.length);
    const stamp = this.stamp;
    if (objs.length <= m) {
      // Fewer handles than commands: every one, rather than a look at each command.
      for (let h = 0; h < objs.length; h++) if (stamp[h] !== epoch) this.refresh(h, epoch, i32, f64);
      return;
    }
    for (let k = 0; k < m; k++) {
      const h = cmds[(s + k) * TYPED_CMD_WORDS + 1];
      if (stamp[h] !== epoch && h >= 0 && h < objs.length && Number.isInteger(h)) this.refresh(h, epoch, i32, f64);
    }
  }

  private refresh(h: number, epoch: number, i32: Int32Array, f64: Float64Array): void {
    writeHotEntry(this.host, this.objs[h], h, i32, f64);
    this.hotKind[h] = i32[h * (A.TYPED_HANDLE_BYTES / 4)];
    this.stamp[h] = epoch;
  }

  /** Whether the core would likely run command i (the kind of its handle fits its opcode): where the kernel layer's run of slow commands ends. */
  private coreTakes(cmds: Float64Array, i: number): boolean {
    const c = i * TYPED_CMD_WORDS;
    const op = cmds[c];
    const kind = this.hotKind[cmds[c + 1]];
    return op >= TYPED_READ && op <= TYPED_EXEC ? kind === A.HOT_VM : op === TYPED_ALLOCATE || op === TYPED_PUNCH ? kind === A.HOT_FILE : (op === TYPED_LOAD || op === TYPED_STORE) && kind === A.HOT_MAP;
  }

  private readonly sink = (words: Float64Array, n: number): void => {
    const slot = this.slotCmd;
    for (let k = 0; k < n; k++) {
      const i = slot[k];
      if (i >= 0) {
        slot[k] = -1;
        this.decode(this.cmds, i, words, k * A.RES_WORDS, this.res);
      }
    }
  };

  private malformed(i: number, res: Float64Array, why: string): number {
    res[i * TYPED_RES_WORDS] = -1;
    this.failures.set(i, `command ${i}: ${why}`);
    return DONE;
  }

  private failed(i: number, res: Float64Array, r: Result): number {
    res[i * TYPED_RES_WORDS] = ERRNO[r.errno!];
    this.failures.set(i, r);
    return DONE;
  }

  /** Runs command i's kernel-layer part; returns its core batch index, or DONE. */
  private queue(cmds: Float64Array, i: number, res: Float64Array): number {
    const c = i * TYPED_CMD_WORDS;
    const word0 = cmds[c];
    const op = word0 & 0xff;
    const h = cmds[c + 1];
    const a = cmds[c + 2];
    const b = cmds[c + 3];
    if (word0 !== op && !(word0 === (op | TYPED_PRIVATE) && op >= TYPED_READ && op <= TYPED_EXEC)) return this.malformed(i, res, `word 0: opcode ${word0} is unknown`);
    const obj = op === TYPED_STATS_HOST ? null : this.objs[h];
    switch (op) {
      case TYPED_READ:
      case TYPED_WRITE:
      case TYPED_EXEC: {
        if (!(obj instanceof VmObj)) return this.malformed(i, res, `word 1: ${h} is no VM handle`);
        if (!(a >= 0 && Number.isSafeInteger(a))) return this.malformed(i, res, `word 2: gpa ${a} must be an integer from 0 to 2^53 - 1`);
        if (op === TYPED_WRITE && !(b >= 0 && b <= 255 && Number.isInteger(b))) return this.malformed(i, res, `word 3: value ${b} is not a byte (0 to 255)`);
        // TYPED_PRIVATE must agree with what the kernel derives (kvm_mmu_page_fault()); without it, as derived.
        if (word0 !== op && obj.fdOpen && !obj.contextMovedAway) {
          const why = gu.privateDisagrees(this.host, obj, Math.floor(a / 4096), true);
          if (why) return this.malformed(i, res, `word 0: ${why}`);
        }
        const denied = gu.vcpuDenied(this.host, obj, op === TYPED_WRITE);
        if (denied) return this.failed(i, res, denied);
        return gu.queueVcpuAccess(this.host, obj, Math.floor(a / 4096), ACCESS_OF[op], op === TYPED_WRITE ? b : 0);
      }
      case TYPED_ALLOCATE:
      case TYPED_PUNCH: {
        if (!(obj instanceof GmemFileObj || obj instanceof SystemGmemObj)) return this.malformed(i, res, `word 1: ${h} is no gmem file handle`);
        if (!Number.isSafeInteger(a)) return this.malformed(i, res, `word 2: offset ${a} must be an integer of magnitude below 2^53`);
        if (!Number.isSafeInteger(b)) return this.malformed(i, res, `word 3: len ${b} must be an integer of magnitude below 2^53`);
        const r = fal.fallocate(this.host, obj, op === TYPED_PUNCH ? PUNCH : KEEP, a, b);
        return r.errno ? this.failed(i, res, r) : DONE;
      }
      case TYPED_LOAD:
      case TYPED_STORE: {
        if (!(obj instanceof HostMap)) return this.malformed(i, res, `word 1: ${h} is no mapping handle`);
        if (!Number.isSafeInteger(a)) return this.malformed(i, res, `word 2: offset ${a} must be an integer`);
        if (op === TYPED_STORE && !(b >= 0 && b <= 255 && Number.isInteger(b))) return this.malformed(i, res, `word 3: value ${b} is not a byte (0 to 255)`);
        if (!mm.mapHolds(obj, a)) {
          res[i * TYPED_RES_WORDS + 2] = SIGSEGV;
          return DONE;
        }
        const denied = mm.hostAccessDenied(this.host, obj, op === TYPED_STORE);
        if (denied) {
          res[i * TYPED_RES_WORDS + 2] = SIGBUS;
          this.failures.set(i, denied);
          return DONE;
        }
        return mm.queueHostAccess(this.host, obj, a, op === TYPED_STORE, op === TYPED_STORE ? b : 0);
      }
      case TYPED_STATS_VM:
      case TYPED_STATS_FILE:
      case TYPED_STATS_HOST: {
        if (op === TYPED_STATS_VM && !(obj instanceof VmObj)) return this.malformed(i, res, `word 1: ${h} is no VM handle`);
        if (op === TYPED_STATS_FILE && !(obj instanceof GmemFileObj || obj instanceof SystemGmemObj)) return this.malformed(i, res, `word 1: ${h} is no gmem file handle`);
        // Not a hot op: the object path, its Result filled at the chunk's flush.
        const r = op === TYPED_STATS_FILE ? gu.inodeStats(this.host, obj as GmemFileObj | SystemGmemObj) : gu.stats(this.host, op === TYPED_STATS_VM ? (obj as VmObj) : undefined);
        if (r.errno) return this.failed(i, res, r);
        this.slow.set(i, r);
        return DONE; // filled at a flush; written once the run has synced
      }
      default:
        return this.malformed(i, res, `word 0: opcode ${word0} is unknown`);
    }
  }

  /**
   * Writes the result words (8, into `res` from 0) of a command (`cmd`, its 4
   * words) that the core ran by itself and did not succeed, from the core's
   * code and value: how a binary replay answers such a line (src/trace/binary.ts).
   */
  resultOfCore(cmd: Float64Array, code: number, value: number, res: Float64Array): void {
    res.fill(0, 0, TYPED_RES_WORDS);
    this.raw[0] = code;
    this.raw[1] = value;
    this.decode(cmd, 0, this.raw, 0, res);
  }

  /** Writes command i's result from its core result words at `base`. */
  private decode(cmds: Float64Array, i: number, words: Float64Array, base: number, res: Float64Array): void {
    const c = i * TYPED_CMD_WORDS;
    const op = cmds[c] & 0xff;
    const o = i * TYPED_RES_WORDS;
    const code = words[base];
    if (op <= TYPED_EXEC) {
      if (code === A.RES_OK) {
        if (op === TYPED_READ) res[o + 3] = words[base + 1];
        return;
      }
      res[o] = G_ERRNO[code];
      const exit = (res[o + 1] = G_EXIT[code]);
      res[o + 2] = G_SIGNAL[code];
      if (exit === KVM_EXIT_MMIO) res[o + 4] = cmds[c + 2];
      else if (exit === KVM_EXIT_INTERNAL_ERROR) res[o + 5] = 1;
      else if (exit === KVM_EXIT_MEMORY_FAULT) {
        res[o + 4] = Math.floor(cmds[c + 2] / 4096) * 4096;
        res[o + 5] = words[base + 1] & A.MEMFAULT_PRIVATE ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
        res[o + 6] = 4096;
      }
      return;
    }
    if (op === TYPED_LOAD || op === TYPED_STORE) {
      if (code === A.RES_OK) {
        if (op === TYPED_LOAD) res[o + 3] = words[base + 1];
      } else res[o + 2] = code === A.RES_SIGSEGV ? SIGSEGV : SIGBUS;
    }
  }

  /** Writes stats command i's result from its Result, final once the run synced. */
  private stats(i: number, r: Result, res: Float64Array): void {
    const o = i * TYPED_RES_WORDS;
    if (r.sptes !== undefined) {
      res[o + 3] = r.sptes as number;
      res[o + 4] = r.faults as number;
      res[o + 5] = r.zaps as number;
      res[o + 6] = r.exits as number;
    } else if (r.pages !== undefined) {
      res[o + 3] = r.pages as number;
      res[o + 4] = r.poisoned as number;
    } else res[o + 3] = r.host_pages as number;
  }
}
