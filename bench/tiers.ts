/**
 * The public tiers beside their limits, on one guest-traffic workload (reads,
 * writes, 1-page allocate and punch over 16 VMs, one gmem file each, bound
 * whole), measured side by side in this process:
 *  - the plain-JS Map model a user would write instead (bench/jsmodel.ts);
 *  - the core alone, running the command stream the kernel layer sent for
 *    the same ops (recorded once, replayed straight into the module, on one
 *    core reset between runs);
 *  - the C limit: bench/limit.c, compiled with the system's cc -O2, running
 *    the same recorded stream (skipped where no C compiler is found), its
 *    state reset between rounds: both limits work on memory they touched before;
 *  - the public tiers: typed (TypedBatch), apply (trace ops as objects) and
 *    the handles (vm.access, gmem.allocate / punchHole), each on a core of
 *    its own reset between runs (SimulatorOptions.core), as the core alone;
 *  - the trace paths: JSONL replay beside only parsing the same JSONL and
 *    beside replaying its binary form (src/trace/binary.ts),
 *    checked replay (one op at a time, invariants and security properties
 *    after each, on a slice) and fuzzing (random traces, checked; and
 *    coverage-guided, gmemsim fuzz's default).
 * Every path is checked first: the same bytes read and the same final
 * counters as the plain-JS model. Times are CPU time (timeIt()). Each figure is the best of as many
 * runs as the figures it is compared with, in alternating rounds after a warm-up round, but fuzzing's,
 * a long run's median rate. The trace paths, checked replay and fuzzing each run in a worker thread of
 * their own (bench/clean-heap.ts). Only ratios measured in this one run are reported, each path at its best
 * ns/op over the two lengths it ran.
 * Flat cost: each tier is also timed at 10x the ops, ns/op compared. The trace paths run at both lengths too.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as A from "../src/abi/core-abi.js";
import type { Core } from "../src/core/core.js";
import { EngineCore } from "../src/core/engine.js";
import { Simulator, type GmemFile, type Vm } from "../src/api/simulator.js";
import * as T from "../src/api/typed.js";
import { Host } from "../src/kvm/host.js";
import { checkInWorker, fuzzNsPerOp, tracePathsInWorker } from "./clean-heap.js";
import { JsModel, OP_ALLOCATE, OP_PUNCH, OP_READ, OP_WRITE } from "./jsmodel.js";
import type { CheckBench } from "./check.js";

const VMS = 16;
/** Pages per VM's file and memslot: 4 MiB each. */
const PAGES = 1024;
const BATCH = 4096;

export interface Stream {
  n: number;
  kind: Uint8Array;
  vm: Uint8Array;
  page: Uint32Array;
  value: Uint8Array;
}

/**
 * The workload: 3/8 reads, 3/8 writes, 1/8 one-page allocates, 1/8 one-page punches, spread over 16 VMs, each
 * op's kind, VM, page and byte drawn from one 32-bit output of mulberry32. (A bare LCG's low bits, used here
 * before, cycle: the VM repeated every 16 ops and each (VM, page) every 16,384, which flattered every cache.)
 */
export function makeStream(n: number, seed = 12345): Stream {
  const s: Stream = { n, kind: new Uint8Array(n), vm: new Uint8Array(n), page: new Uint32Array(n), value: new Uint8Array(n) };
  let x = seed >>> 0;
  for (let k = 0; k < n; k++) {
    x = (x + 0x6d2b79f5) >>> 0;
    let y = Math.imul(x ^ (x >>> 15), x | 1);
    y ^= y + Math.imul(y ^ (y >>> 7), y | 61);
    y = (y ^ (y >>> 14)) >>> 0;
    const r = y >>> 29;
    s.kind[k] = r < 3 ? OP_READ : r < 6 ? OP_WRITE : r === 6 ? OP_ALLOCATE : OP_PUNCH;
    s.vm[k] = y & (VMS - 1);
    s.page[k] = (y >>> 4) & (PAGES - 1);
    s.value[k] = (y >>> 16) & 0xff;
  }
  return s;
}

interface World {
  sim: Simulator;
  vms: Vm[];
  files: GmemFile[];
}

export function world(core?: Core): World {
  const sim = new Simulator(core ? { core } : {});
  const vms: Vm[] = [];
  const files: GmemFile[] = [];
  for (let v = 0; v < VMS; v++) {
    const vm = sim.createVm();
    const g = vm.createGuestMemfd(PAGES * 4096, ["MMAP", "INIT_SHARED"]);
    vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: PAGES * 4096, guestMemfd: g });
    vms.push(vm);
    files.push(g);
  }
  return { sim, vms, files };
}

/** What every path must agree on: the bytes read, and each VM's counters at the end. */
export interface Outcome {
  readSum: number;
  counters: string;
}

function simCounters(w: World): string {
  const c = w.vms.map((vm) => {
    const s = vm.stats();
    return `${s.sptes}/${s.faults}/${s.zaps}`;
  });
  return `${c.join(",")};${w.sim.stats().host_pages}`;
}

// ---- the paths ----

/** The plain-JS model run over the stream's first m ops (what the benchmark times); returns it and the bytes read. */
function runModel(stream: Stream, m: number): { model: JsModel; readSum: number } {
  const model = new JsModel();
  for (let v = 0; v < VMS; v++) model.addVm(PAGES);
  return { model, readSum: model.run(stream.kind, stream.vm, stream.page, stream.value, 0, m) };
}

/** The plain-JS model's answers for the stream's first m ops. */
export function modelAnswer(stream: Stream, m: number): Outcome {
  const { model, readSum } = runModel(stream, m);
  return { readSum, counters: `${model.vms.map((vm) => `${vm.sptes.size}/${vm.faults}/${vm.zaps}`).join(",")};${model.hostPages}` };
}

/** Each path at n runs this many times a round: every figure is the best of as many runs as those it is compared with. */
export const TRIES = 5;

export function typedCommands(s: Stream, handles: number[], files: number[]): Float64Array {
  const c = new Float64Array(s.n * T.TYPED_CMD_WORDS);
  for (let k = 0; k < s.n; k++) {
    const o = k * T.TYPED_CMD_WORDS;
    const kind = s.kind[k];
    c[o] = kind === OP_READ ? T.TYPED_READ : kind === OP_WRITE ? T.TYPED_WRITE : kind === OP_ALLOCATE ? T.TYPED_ALLOCATE : T.TYPED_PUNCH;
    c[o + 1] = kind <= OP_WRITE ? handles[s.vm[k]] : files[s.vm[k]];
    c[o + 2] = s.page[k] * 4096;
    c[o + 3] = kind === OP_WRITE ? s.value[k] : kind >= OP_ALLOCATE ? 4096 : 0;
  }
  return c;
}

export function runTyped(w: World, cmds: Float64Array, n: number): number {
  const typed = new T.TypedBatch(w.sim);
  // Handles in the order typedCommands() numbered them: the VMs, then the files.
  for (const v of w.vms) typed.handle(v);
  for (const f of w.files) typed.handle(f);
  const out = new Float64Array(BATCH * T.TYPED_RES_WORDS);
  let sum = 0;
  for (let s = 0; s < n; s += BATCH) {
    const m = Math.min(BATCH, n - s);
    const part = cmds.subarray(s * T.TYPED_CMD_WORDS, (s + m) * T.TYPED_CMD_WORDS);
    typed.run(part, out);
    // As the layout lets a user read it: word 0 is 0 for a success, and word 3 is the byte a read read (0 for a
    // write, allocate or punch), so the bytes read are the sum of word 3, with no branch on the opcode.
    for (let k = 0; k < m; k++) {
      const o = k * T.TYPED_RES_WORDS;
      if (out[o] === -1) throw new Error(`bench tiers: typed command ${s + k} is malformed: ${typed.message(k)}`);
      sum += out[o + 3];
    }
  }
  return sum;
}

export function applyOps(s: Stream): object[] {
  const ops: object[] = [];
  for (let k = 0; k < s.n; k++) {
    const kind = s.kind[k];
    const v = s.vm[k];
    const off = s.page[k] * 4096;
    if (kind === OP_READ) ops.push({ op: "vcpu_access", vm: `v${v}`, gpa: off, access: "read" });
    else if (kind === OP_WRITE) ops.push({ op: "vcpu_access", vm: `v${v}`, gpa: off, access: "write", value: s.value[k] });
    else ops.push({ op: "fallocate", fd: `g${v}`, mode: kind === OP_ALLOCATE ? 1 : 3, offset: off, len: 4096 });
  }
  return ops;
}

function applySetup(): object[] {
  const ops: object[] = [];
  for (let v = 0; v < VMS; v++) {
    ops.push({ op: "create_vm", as: `v${v}`, type: "default" });
    ops.push({ op: "create_guest_memfd", vm: `v${v}`, as: `g${v}`, size: PAGES * 4096, flags: ["MMAP", "INIT_SHARED"] });
    ops.push({ op: "set_user_memory_region2", vm: `v${v}`, slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: PAGES * 4096, guest_memfd: `g${v}` });
  }
  return ops;
}

function runApply(sim: Simulator, ops: object[], n: number): number {
  let sum = 0;
  for (let s = 0; s < n; s += BATCH) {
    const res = sim.apply(ops.slice(s, Math.min(n, s + BATCH)));
    for (const r of res) if (typeof r.value === "number") sum += r.value;
  }
  return sum;
}

/** The handles: guest accesses through vm.access (rw false) or vm.read / vm.write (rw true, no options object). */
function runHandles(w: World, s: Stream, n: number, rw = false): number {
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const kind = s.kind[k];
    const off = s.page[k] * 4096;
    const vm = w.vms[s.vm[k]];
    if (kind === OP_READ) sum += (rw ? vm.read(off) : vm.access(off, "read")).value as number;
    else if (kind === OP_WRITE) {
      if (rw) vm.write(off, s.value[k]);
      else vm.access(off, "write", { value: s.value[k] });
    } else if (kind === OP_ALLOCATE) w.files[s.vm[k]].allocate(off, 4096);
    else w.files[s.vm[k]].punchHole(off, 4096);
  }
  return sum;
}

/** A core that records every command pushed into it, for the core-alone and C runs. */
class RecordingCore implements Core {
  readonly kind = "wasm" as const;
  private words: number[] = [];
  onFlush: ((count: number) => void) | null = null;
  constructor(readonly inner: EngineCore) {
    inner.onFlush = (n) => this.onFlush?.(n);
  }
  push(op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    this.words.push(op, a, b, c, d, e, f, g);
    return this.inner.push(op, a, b, c, d, e, f, g);
  }
  now(op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    const i = this.push(op, a, b, c, d, e, f, g);
    this.flush();
    return i;
  }

  flush(): void {
    this.inner.flush();
  }
  get results(): Float64Array {
    return this.inner.results;
  }
  snapshot(): Float64Array {
    return this.inner.snapshot();
  }
  memoryBytes(): number {
    return this.inner.memoryBytes();
  }
  reset(): boolean {
    return false;
  }
  trackChanges(on: boolean): void {
    this.inner.trackChanges(on);
  }
  changes(): Float64Array {
    return this.inner.changes();
  }
  /** Commands recorded from `from` (a command count) on. */
  stream(from = 0): Float64Array {
    return Float64Array.from(this.words.slice(from * A.CMD_WORDS));
  }
  get count(): number {
    return this.words.length / A.CMD_WORDS;
  }
}

// ---- the C limit ----

const here = dirname(fileURLToPath(import.meta.url));

function findCc(): string | null {
  for (const cc of ["cc", "gcc", "clang"]) {
    try {
      execFileSync(cc, ["--version"], { stdio: "ignore" });
      return cc;
    } catch {}
  }
  return null;
}

/** bench/limit.c beside this file or the sources (the bundle lives in build/). */
function limitSource(): string | null {
  for (const p of [join(here, "limit.c"), join(here, "../../bench/limit.c"), join(here, "../bench/limit.c")]) if (existsSync(p)) return p;
  return null;
}

/** Runs the C limit on the setup and traffic streams; returns its ns/op and its check words, or a note. */
function runC(setup: Float64Array, traffic: Float64Array, rounds: number): { nsPerOp: number; readSum: number; counters: string } | { note: string } {
  const src = limitSource();
  if (!src) return { note: "bench/limit.c not found" };
  const cc = findCc();
  if (!cc) return { note: "no C compiler (cc, gcc, clang) found" };
  const dir = mkdtempSync(join(tmpdir(), "gmemsim-limit-"));
  try {
    const exe = join(dir, "limit");
    execFileSync(cc, ["-O2", "-o", exe, src], { stdio: ["ignore", "ignore", "pipe"] });
    writeFileSync(join(dir, "setup.bin"), new Uint8Array(setup.buffer, setup.byteOffset, setup.byteLength));
    writeFileSync(join(dir, "traffic.bin"), new Uint8Array(traffic.buffer, traffic.byteOffset, traffic.byteLength));
    const out = execFileSync(exe, [join(dir, "setup.bin"), join(dir, "traffic.bin"), String(rounds), String(VMS)], { encoding: "utf8" });
    const r = JSON.parse(out) as { ns_per_op: number; read_sum: number; counters: string };
    return { nsPerOp: r.ns_per_op, readSum: r.read_sum, counters: r.counters };
  } catch (e) {
    return { note: `the C limit failed: ${(e as Error).message.split("\n")[0]}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the trace paths ----

/** The workload as a JSONL trace: the setup, then the first m ops. */
export function traceText(ops: object[], m: number): string {
  return [...applySetup(), ...ops.slice(0, m)].map((o) => JSON.stringify(o)).join("\n");
}

// ---- timing ----

/**
 * The CPU time fn takes, in ns (user + system, every thread of the process:
 * garbage collection included). CPU time rather than wall time, because the
 * machines this runs on are often shared: a wall clock also counts the time
 * other processes held the core.
 */
/** A path's own core, reset for its next run (public tiers and trace paths alike: see benchTiers()). */
export function reused(core: EngineCore): EngineCore {
  core.reset();
  return core;
}

export function timeIt(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) * 1000;
}

export interface TierRow {
  name: string;
  ops: number;
  ns_per_op: number | null;
  /** ns/op at 10x the ops, for the flat-cost check (null where not measured). */
  ns_per_op_10x: number | null;
  note?: string;
}

/** A full garbage collection now (V8's gc(), exposed for this process). */
function fullGc(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/**
 * JavaScript heap bytes per object at scale: 5,000 VMs, then a gmem file (with
 * its inode) each, then a mapping each, the heap measured after a full
 * collection between steps. The handles the caller holds are included.
 */
export function jsBytesPerObject(count = 5000): { vm: number; gmem_file: number; mapping: number } {
  const gc = fullGc;
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const sim = new Simulator();
  const h0 = heap();
  const vms = Array.from({ length: count }, () => sim.createVm());
  const h1 = heap();
  const files = vms.map((vm) => vm.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]));
  const h2 = heap();
  const maps = files.map((f) => f.mmap(0, 1 << 20, "rw"));
  const h3 = heap();
  if (maps.length !== count) throw new Error("unreachable");
  return { vm: (h1 - h0) / count, gmem_file: (h2 - h1) / count, mapping: (h3 - h2) / count };
}

/** One item of the tiers' targets: what is measured, the bound, the figure of this run, and whether it is met. */
export interface TierTarget {
  item: string;
  measure: string;
  /** "<= 1.5" or ">= 2": the figure must be at most or at least the bound. */
  bound: string;
  value: number | null;
  met: boolean | null;
}

export interface TierReport {
  workload: string;
  js_bytes_per_object: { vm: number; gmem_file: number; mapping: number };
  rows: TierRow[];
  ratios: Record<string, number | null>;
  /** replay --check against replay on the spread trace, at two lengths (bench/check.ts). */
  checked: CheckBench;
  targets: TierTarget[];
}

/**
 * Measures every path on n ops (and the public tiers and the model also on 10 n);
 * throws if any path disagrees with the plain-JS model.
 */
export async function benchTiers(n: number, rounds = 3): Promise<TierReport> {
  const big = n * 10;
  const stream = makeStream(big);

  // The model: the reference answers for n and 10n ops.
  const answer = (m: number): Outcome => modelAnswer(stream, m);
  const want = answer(n);
  const agree = (path: string, got: Outcome) => {
    if (got.readSum !== want.readSum || got.counters !== want.counters)
      throw new Error(`bench tiers: ${path} disagrees with the plain-JS model: bytes read ${got.readSum} vs ${want.readSum}, counters ${got.counters} vs ${want.counters}`);
  };

  // Inputs, built untimed (a user builds them too, once).
  const cmdsBig = (() => {
    const w = world();
    const typed = new T.TypedBatch(w.sim);
    return typedCommands(stream, w.vms.map((v) => typed.handle(v)), w.files.map((f) => typed.handle(f)));
  })();
  let opsBig: object[] | null = applyOps(stream);

  // Record the core's command stream for n ops through the typed tier (the same commands every tier sends).
  const rec = new RecordingCore(new EngineCore());
  const rw = world(rec);
  const setupCount = rec.count;
  const recSum = runTyped(rw, cmdsBig, n);
  rw.sim.host.sync();
  const traffic = rec.stream(setupCount);
  const setup = rec.stream(0).subarray(0, setupCount * A.CMD_WORDS);
  agree("the recorded core run", { readSum: recSum, counters: simCounters(rw) });

  // Validate each public tier once.
  {
    const w = world();
    agree("typed", { readSum: runTyped(w, cmdsBig, n), counters: simCounters(w) });
    const sim = new Simulator();
    sim.apply(applySetup());
    const s2 = runApply(sim, opsBig!, n);
    // apply named its own objects: read the counters through apply too.
    const st = sim.apply([...Array.from({ length: VMS }, (_, v) => ({ op: "stats", vm: `v${v}` })), { op: "stats" }]);
    const counters = `${st.slice(0, VMS).map((r) => `${r.sptes}/${r.faults}/${r.zaps}`).join(",")};${st[VMS].host_pages}`;
    agree("apply", { readSum: s2, counters });
    const w3 = world();
    agree("handles", { readSum: runHandles(w3, stream, n), counters: simCounters(w3) });
    const w4 = world();
    agree("handles (read/write)", { readSum: runHandles(w4, stream, n, true), counters: simCounters(w4) });
  }

  // The core alone runs on one core, reset between runs (EngineCore.reset() keeps the instance): like the C limit,
  // whose allocator hands each round what the last one freed, it then works on memory it has touched before. A
  // fresh instance's first touches of its linear memory are page faults, no data structure's work (README: the
  // core alone against the C limit read 1.42-1.53x with a fresh core per run, 1.08-1.10x reset).
  // Checked first: a reset core ends in the state of a fresh one.
  const aloneCore = new EngineCore();
  const aloneSnapshot = (core: EngineCore) => {
    core.runStream(setup);
    core.runStream(traffic);
    return Array.from(core.snapshot()).join(",");
  };
  const freshState = aloneSnapshot(aloneCore);
  aloneCore.reset();
  if (aloneSnapshot(aloneCore) !== freshState) throw new Error("bench tiers: the core alone, reset, ends in another state than a fresh core");

  const best = new Map<string, number>();
  // A path's first try of each round at n is also kept apart (`first`, for the flat-cost ratios): they divide the
  // 10n figure, one run a round, by the n figure over as many runs (the best of five times as many would favour
  // the shorter length).
  const keep = (k: string, ns: number, first = false) => {
    best.set(k, Math.min(best.get(k) ?? Infinity, ns));
    if (first) best.set(`${k}1`, Math.min(best.get(`${k}1`) ?? Infinity, ns));
  };
  // Round 0 warms every path's JIT up and is not counted.
  // Every path at n is timed five times a round, the core alone and the C limit too (they take milliseconds):
  // each figure is the best of as many runs as the one it is compared with, so that a busy moment of a shared
  // machine, or the number of tries, does not make a ratio. At 10n (the flat-cost figures) once a round.
  // Each public tier runs on a core of its own, reset between runs (SimulatorOptions.core), as the core alone does
  // and as a program running many simulations would: its linear memory is then memory it touched before, as the
  // model's heap is V8's, reused run after run. On a fresh instance each run, every page the run first touches is a
  // page fault, dear on a PVM guest (README, bench --tiers: the typed tier's figure on fresh and on reset cores).
  const tierCores = { typed: new EngineCore(), apply: new EngineCore(), handles: new EngineCore(), rw: new EngineCore() };
  for (let r = 0; r <= rounds; r++) {
    if (r === 1) best.clear();
    for (const m of [n, big]) {
      const tag = m === n ? "" : "10x";
      for (let k = 0; k < (m === n ? TRIES : 1); k++) {
        const first = m === n && k === 0;
        keep(`model${tag}`, timeIt(() => runModel(stream, m)));
        { const w = world(reused(tierCores.typed)); keep(`typed${tag}`, timeIt(() => runTyped(w, cmdsBig, m)), first); }
        {
          const sim = new Simulator({ core: reused(tierCores.apply) });
          sim.apply(applySetup());
          keep(`apply${tag}`, timeIt(() => runApply(sim, opsBig!, m)), first);
        }
        { const w = world(reused(tierCores.handles)); keep(`handles${tag}`, timeIt(() => runHandles(w, stream, m)), first); }
        { const w = world(reused(tierCores.rw)); keep(`rw${tag}`, timeIt(() => runHandles(w, stream, m, true))); }
      }
    }
    for (let k = 0; k < TRIES; k++) {
      reused(aloneCore).runStream(setup);
      keep("core", timeIt(() => aloneCore.runStream(traffic)));
    }
  }
  // The trace paths: JSONL replay against only parsing it, and its binary form, at both lengths, in a worker thread
  // of their own (bench/trace-paths.ts).
  opsBig = null;
  // This thread's heap settled first: it waits idle while the workers run.
  fullGc();
  for (const [k, ns] of Object.entries(await tracePathsInWorker(n, rounds))) best.set(k, ns);
  // Fuzzing, blind (random traces) and coverage-guided (gmemsim fuzz's default), each as a worker runs: in a worker
  // thread of its own (bench/clean-heap.ts says why), one long run measured over its second half. A worker runs for
  // minutes, and its rate there is what counts: V8 has compiled what a checked op runs through (rounds of 100,000
  // blind ops right after start-up ran 64k, 135k, 158k, 216k, then 248k-310k ops/s), and a guided run's corpus has
  // filled with mutants, longer than fresh traces (46 ops on average in the first 100,000 ops, 57 to 59 past
  // 1,500,000) and slower per op: fresh 50,000-op runs after a warm-up read ~15-20% above a long run's second half,
  // which is what `gmemsim fuzz` prints.
  const fuzzOps = 20 * n;
  for (const [k, kind] of [["fuzz", "blind"], ["guided", "guided"]] as const) best.set(k, (await fuzzNsPerOp({ kind, seed: 7, ops: fuzzOps, segment: n })) * fuzzOps);

  const c = runC(setup, traffic, TRIES * rounds);
  if ("readSum" in c && (c.counters !== want.counters || c.readSum !== want.readSum)) throw new Error(`bench tiers: the C limit disagrees with the model: bytes read ${c.readSum} vs ${want.readSum}, counters ${c.counters} vs ${want.counters}`);

  const per = (k: string, m: number) => best.get(k)! / m;
  const rows: TierRow[] = [
    { name: "plain-JS Map model", ops: n, ns_per_op: per("model", n), ns_per_op_10x: per("model10x", big) },
    { name: "core alone (recorded command stream)", ops: n, ns_per_op: per("core", n), ns_per_op_10x: null },
    "nsPerOp" in c ? { name: "C limit (cc -O2, same stream)", ops: n, ns_per_op: c.nsPerOp, ns_per_op_10x: null } : { name: "C limit (cc -O2, same stream)", ops: n, ns_per_op: null, ns_per_op_10x: null, note: c.note },
    { name: "typed tier (TypedBatch, 4,096 a call)", ops: n, ns_per_op: per("typed", n), ns_per_op_10x: per("typed10x", big) },
    { name: "apply (trace ops as objects, 4,096 a call)", ops: n, ns_per_op: per("apply", n), ns_per_op_10x: per("apply10x", big) },
    { name: "handles (vm.access, gmem.allocate/punchHole)", ops: n, ns_per_op: per("handles", n), ns_per_op_10x: per("handles10x", big) },
    { name: "handles (vm.read/write, gmem.allocate/punchHole)", ops: n, ns_per_op: per("rw", n), ns_per_op_10x: per("rw10x", big) },
    { name: "JSONL replay (parse, run, result lines)", ops: n, ns_per_op: per("jsonl", n), ns_per_op_10x: per("jsonl10x", big) },
    { name: "only parsing the same JSONL", ops: n, ns_per_op: per("parse", n), ns_per_op_10x: per("parse10x", big) },
    { name: "binary trace replay (gmemsim convert)", ops: n, ns_per_op: per("binary", n), ns_per_op_10x: per("binary10x", big) },
    { name: "fuzzing (random traces, checked, 1 worker)", ops: fuzzOps, ns_per_op: per("fuzz", fuzzOps), ns_per_op_10x: null },
    { name: "fuzzing, coverage-guided (gmemsim fuzz's default)", ops: fuzzOps, ns_per_op: per("guided", fuzzOps), ns_per_op_10x: null },
  ];
  // A path's figure for the ratios: its best ns/op over the two lengths where it ran both (on a shared machine
  // one round of either can be disturbed, and the longer run is the steadier; the flat-cost ratios compare the two).
  const ns = (name: string) => {
    const r = rows.find((x) => x.name.startsWith(name))!;
    return r.ns_per_op !== null && r.ns_per_op_10x !== null ? Math.min(r.ns_per_op, r.ns_per_op_10x) : r.ns_per_op;
  };
  const ratio = (a: number | null, b: number | null) => (a && b ? a / b : null);
  const bytes = jsBytesPerObject();
  // replay --check beside replay, as bench --check measures it (all its traces), in a heap of its own as a replaying
  // process has.
  const checked = await checkInWorker(n < 100_000);
  const model = ns("plain-JS");
  const q = {
    typed_speedup_over_model: ratio(model, ns("typed")),
    typed_over_core: ratio(ns("typed"), ns("core")),
    apply_speed_vs_model: ratio(model, ns("apply")),
    handles_speed_vs_model: ratio(model, ns("handles (vm.access")),
    handles_rw_speed_vs_model: ratio(model, ns("handles (vm.read")),
    core_over_c: ratio(ns("core"), ns("C limit")),
    jsonl_over_parse: ratio(ns("JSONL replay"), ns("only parsing")),
    binary_speedup_over_jsonl: ratio(ns("JSONL replay"), ns("binary trace")),
    checked_over_unchecked: checked.rows[1].checked_over_unchecked,
    checked_growth_over_length_growth: checked.checked_time_growth / checked.length_growth,
    checked_host_growth: checked.host.check_ratio_growth,
    checked_vm_growth: checked.vm.check_ratio_growth,
    checked_slots_growth: checked.slots.check_ratio_growth,
    checked_conversion_growth: checked.conversion.check_ratio_growth,
    fuzz_checked_ops_per_s: 1e9 / ns("fuzzing (random")!,
    guided_checked_ops_per_s: 1e9 / ns("fuzzing, coverage-guided")!,
    typed_flat_10x: ratio(per("typed10x", big), per("typed1", n)),
    apply_flat_10x: ratio(per("apply10x", big), per("apply1", n)),
    handles_flat_10x: ratio(per("handles10x", big), per("handles1", n)),
  };
  const target = (item: string, measure: string, value: number | null, most: number | null, least: number | null = null): TierTarget => ({
    item,
    measure,
    bound: most !== null ? `<= ${most}` : `>= ${least}`,
    value,
    met: value === null ? null : most !== null ? value <= most : value >= least!,
  });
  const targets: TierTarget[] = [
    target("1 typed tier", "its speed over the plain-JS model's", q.typed_speedup_over_model, null, 2),
    target("1 typed tier", "its time over the core alone's", q.typed_over_core, 1.5),
    target("2 object tiers", "apply's speed over the model's", q.apply_speed_vs_model, null, 0.5),
    target("2 object tiers", "the handles' speed over the model's (vm.access)", q.handles_speed_vs_model, null, 0.5),
    target("2 object tiers", "the handles' speed over the model's (vm.read/write)", q.handles_rw_speed_vs_model, null, 0.5),
    target("3 flat cost", "typed ns/op at 10x the ops over at 1x", q.typed_flat_10x, 1.2),
    target("3 flat cost", "apply ns/op at 10x the ops over at 1x", q.apply_flat_10x, 1.2),
    target("3 flat cost", "handles ns/op at 10x the ops over at 1x", q.handles_flat_10x, 1.2),
    target("4 checking", "replay --check time over replay's (longer spread trace)", q.checked_over_unchecked, 5),
    target("4 checking", "--check time growth over trace growth (1: linear)", q.checked_growth_over_length_growth, 1.2),
    target("4 checking", "--check over replay, 8x the VMs over 1x (1: flat)", q.checked_host_growth, 1.2),
    target("4 checking", "--check over replay, a VM 8x as big over 1x (1: flat)", q.checked_vm_growth, 1.2),
    target("4 checking", "--check over replay, memslot churn in 8x the memslots over 1x (1: flat)", q.checked_slots_growth, 1.2),
    target("4 checking", "--check over replay, conversions on 8x the runs over 1x (1: flat)", q.checked_conversion_growth, 1.2),
    target("4 checking", "fuzzing, checked ops/s per worker (random traces)", q.fuzz_checked_ops_per_s, null, 200_000),
    target("4 checking", "fuzzing, checked ops/s per worker (coverage-guided)", q.guided_checked_ops_per_s, null, 200_000),
    target("5 streaming", "JSONL replay time over only parsing the JSONL", q.jsonl_over_parse, 1.5),
    target("5 streaming", "binary replay's speed over JSONL replay's", q.binary_speedup_over_jsonl, null, 10),
    target("6 core", "core alone's time over the C limit's", q.core_over_c, 1.5),
    target("7 memory", "JavaScript bytes per VM", bytes.vm, 500),
    target("7 memory", "JavaScript bytes per gmem file with its inode", bytes.gmem_file, 500),
    target("7 memory", "JavaScript bytes per mapping", bytes.mapping, 500),
  ];
  return {
    checked,
    targets,
    js_bytes_per_object: bytes,
    workload: `guest traffic: ${VMS} VMs with a ${PAGES}-page gmem file each; 3/8 reads, 3/8 writes, 1/8 one-page allocates, 1/8 one-page punches`,
    rows,
    ratios: q,
  };
}

/** The report as lines of a table (the CLI's bench prints them). */
export function tiersLines(t: TierReport, ctx: { node: string; cpu: string; cores: number; load: number; steal?: number | null; commit: string }): string[] {
  const out: string[] = [];
  const steal = ctx.steal === undefined || ctx.steal === null ? "" : `, steal ${ctx.steal.toFixed(1)}%`;
  out.push(`public tiers  (node ${ctx.node}, ${ctx.cpu}, ${ctx.cores} cores, load ${ctx.load.toFixed(1)}${steal}, commit ${ctx.commit})`);
  out.push(t.workload);
  const model = t.rows[0].ns_per_op!;
  out.push(`${"path".padEnd(48)} ${"ops".padStart(8)} ${"ns/op".padStart(9)} ${"vs model".padStart(9)} ${"ns/op at 10x".padStart(13)}`);
  for (const r of t.rows) {
    const ns = r.ns_per_op === null ? "-" : r.ns_per_op.toFixed(1);
    const speed = r.ns_per_op === null ? "-" : `${(model / r.ns_per_op).toFixed(2)}x`;
    out.push(`${r.name.padEnd(48)} ${String(r.ops).padStart(8)} ${ns.padStart(9)} ${speed.padStart(9)} ${(r.ns_per_op_10x === null ? "" : r.ns_per_op_10x.toFixed(1)).padStart(13)}${r.note ? `  [${r.note}]` : ""}`);
  }
  const f = (x: number | null) => (x === null ? "-" : x.toFixed(2));
  const m = t.js_bytes_per_object;
  out.push(`JavaScript heap per object (5,000 of each): VM ${m.vm.toFixed(0)} B, gmem file with its inode ${m.gmem_file.toFixed(0)} B, mapping ${m.mapping.toFixed(0)} B`);
  const c = t.checked.rows;
  out.push(`replay --check on the spread trace: ${c.map((r) => `${r.ops} ops ${(r.checked_s * 1000).toFixed(0)} ms (${r.checked_over_unchecked.toFixed(2)}x replay)`).join(", ")}; ${t.checked.length_growth}x the ops took ${t.checked.checked_time_growth.toFixed(2)}x the time`);
  const hc = t.checked.host;
  out.push(`replay --check on the host trace (${hc.traffic_ops.toLocaleString("en-US")} ops of traffic): ${hc.rows.map((r) => `${r.vms} VMs ${(r.checked_s * 1000).toFixed(0)} ms (${r.checked_over_unchecked.toFixed(2)}x replay)`).join(", ")}`);
  const vc = t.checked.vm;
  out.push(`replay --check on the VM trace (${vc.changes.toLocaleString("en-US")} memslots and donations): ${vc.rows.map((r) => `${r.pages} pages ${(r.checked_s * 1000).toFixed(0)} ms (${r.checked_over_unchecked.toFixed(2)}x replay)`).join(", ")}`);
  out.push("speed targets, each figure from this run:");
  for (const g of t.targets)
    out.push(`  ${g.met === null ? "  -" : g.met ? " met" : "NOT"}  ${g.item.padEnd(15)} ${g.measure.padEnd(58)} ${(g.value === null ? "-" : g.value >= 1000 ? Math.round(g.value).toLocaleString("en-US") : g.value.toFixed(2)).padStart(9)}  (${g.bound})`);
  return out;
}
