/**
 * gmemsim bench --micro: micro-benchmarks of the core operations, driven as raw
 * commands through the `Core` interface (src/core/core.ts), with no TypeScript
 * kernel layer in between. Every case runs on the engine (the AssemblyScript
 * core) and on the reference model in the same process, side by side.
 *
 * Each case is validated before it is timed: both cores run the case's exact
 * commands (its fixture, then a few timed steps with their untimed
 * preparations) and must give identical results, batch by batch, and identical
 * snapshot digests (src/core/digest.ts). Any difference stops the run.
 *
 * Two ways of timing, chosen per case:
 *  - tinybench, for steps that leave the state as they found it (a bind and
 *    its delete, SPTE hits, read-only memslot lookups, start-up);
 *  - timed batches, for steps that consume their fixture (a first touch, a
 *    punch, a zap): the fixture is rebuilt untimed before each sample, and the
 *    step alone is timed with process.hrtime, repeated until a minimum time;
 *    mean and relative margin of error (95 %) are computed as tinybench does.
 *
 * Module start-up (base64 decode, compile and instantiate of the embedded wasm)
 * is measured apart from steady state: cold in fresh Node processes, warm as
 * `new EngineCore()` once the module is compiled.
 */
import { Bench } from "tinybench";
import { execFileSync, execSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import * as A from "../src/abi/core-abi.js";
import type { Core } from "../src/core/core.js";
import { digestSnapshot } from "../src/core/digest.js";
import { EngineCore } from "../src/core/engine.js";
import { ReferenceCore } from "../src/core/reference/index.js";
import { WASM_RELEASE_BASE64 } from "../src/core/wasm-binary.generated.js";
import { renderTable } from "../src/cli/table.js";

const GMEM_SLOT = A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY;
/** GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED. */
const MMAP_SHARED = 3;

// ---------------------------------------------------------------- validation

/**
 * Runs `drive` on both cores and throws unless they agree: every flushed batch
 * must give the same result words, and the final snapshots the same digest.
 * Commands already queued on either core are flushed inside the comparison, so
 * a core that was handed a different command is caught. Returns the digest.
 */
export function validateCores(label: string, engine: Core, reference: Core, drive: (core: Core) => void): string {
  const capture = (core: Core): Float64Array[] => {
    const batches: Float64Array[] = [];
    core.onFlush = (n) => batches.push(core.results.slice(0, n * A.RES_WORDS));
    try {
      drive(core);
      core.flush();
    } finally {
      core.onFlush = null;
    }
    return batches;
  };
  const e = capture(engine);
  const r = capture(reference);
  const ee = e.filter((b) => b.length > 0);
  const rr = r.filter((b) => b.length > 0);
  const words = (bs: Float64Array[]) => bs.reduce((n, b) => n + b.length, 0);
  if (words(ee) !== words(rr)) {
    throw new Error(`${label}: engine and reference disagree: ${words(ee) / A.RES_WORDS} vs ${words(rr) / A.RES_WORDS} results`);
  }
  // Compare the concatenated results (batch boundaries may differ only if the drive flushes differently, which it does not).
  let bi = 0, bj = 0, oi = 0, oj = 0, k = 0;
  while (bi < ee.length && bj < rr.length) {
    const x = ee[bi][oi], y = rr[bj][oj];
    if (!Object.is(x, y)) {
      const cmd = Math.floor(k / A.RES_WORDS);
      throw new Error(`${label}: engine and reference disagree at result ${cmd}, word ${k % A.RES_WORDS}: ${x} vs ${y}`);
    }
    k++;
    if (++oi === ee[bi].length) { bi++; oi = 0; }
    if (++oj === rr[bj].length) { bj++; oj = 0; }
  }
  const de = digestSnapshot(engine.snapshot());
  const dr = digestSnapshot(reference.snapshot());
  if (de !== dr) throw new Error(`${label}: engine and reference end in different states (snapshot digest ${de} vs ${dr})`);
  return de;
}

// ---------------------------------------------------------------- fixtures

/** One VM (id 0) with one gmem inode and file (ids 0) of `npages`, bound whole in memslot 0 if `bind`. */
function gmemVm(core: Core, npages: number, bind: boolean): void {
  core.push(A.OP_VM_CREATE, 0);
  core.push(A.OP_INODE_CREATE, 0, npages, A.INODE_GMEM, MMAP_SHARED);
  core.push(A.OP_FILE_CREATE, 0, 0, 0, A.RIGHTS_ALL);
  if (bind) core.push(A.OP_SLOT_CREATE, 0, 0, 0, npages, 0, 0, GMEM_SLOT);
  core.flush();
}

interface Fx {
  core: Core;
  /** A counter kept across steps (read into a local, masked, written back). */
  i: number;
}

interface Case {
  group: string;
  name: string;
  /** Pages each op covers, for ns per page; null where pages are not the unit. */
  pagesPerOp: number | null;
  /** Ops performed by one step. */
  opsPerStep: number;
  /** Every step result must have this code (checked during validation). */
  expectCode?: number;
  /** Builds the fixture (untimed). */
  build(core: Core): Fx;
  /** Untimed, before each timed step; present only for steps that consume their fixture. */
  prepare?(fx: Fx): void;
  /** The timed step: pushes its commands and flushes. */
  step(fx: Fx): void;
}

const K = 4096;

const bindCase: Case = {
  group: "bind",
  name: "bind: SLOT_CREATE + SLOT_DELETE (512-page gmem slot)",
  pagesPerOp: null,
  opsPerStep: 256,
  build(core) {
    gmemVm(core, 1 << 18, false);
    return { core, i: 0 };
  },
  step(fx) {
    const c = fx.core;
    for (let k = 0; k < 256; k++) {
      c.push(A.OP_SLOT_CREATE, 0, 1, 0, 512, 0, 0, GMEM_SLOT);
      c.push(A.OP_SLOT_DELETE, 0, 1);
    }
    c.flush();
  },
};

const firstTouch: Case = {
  group: "guest fault",
  name: "guest fault, first touch (page created + SPTE installed)",
  pagesPerOp: 1,
  opsPerStep: K,
  expectCode: A.RES_OK,
  build(core) {
    gmemVm(core, 1 << 18, true);
    return { core, i: 0 };
  },
  prepare(fx) {
    // Frees the pages and SPTEs of the last step, so each step touches absent pages.
    fx.core.push(A.OP_PUNCH, 0, 0, 1 << 18);
    fx.core.flush();
  },
  step(fx) {
    const c = fx.core;
    for (let k = 0; k < K; k++) c.push(A.OP_GUEST_ACCESS, 0, (k * 61) & 0x3ffff, A.ACCESS_READ, 0, 0, 0);
    c.flush();
  },
};

const spteHit: Case = {
  group: "guest fault",
  name: "guest access, SPTE hit (4,096 mapped pages)",
  pagesPerOp: 1,
  opsPerStep: K,
  expectCode: A.RES_OK,
  build(core) {
    gmemVm(core, 1 << 18, true);
    for (let k = 0; k < K; k++) core.push(A.OP_GUEST_ACCESS, 0, k, A.ACCESS_WRITE, 0, k & 0xff, 0);
    core.flush();
    return { core, i: 0 };
  },
  step(fx) {
    const c = fx.core;
    let i = fx.i;
    for (let k = 0; k < K; k++) {
      c.push(A.OP_GUEST_ACCESS, 0, (i * 61) & (K - 1), A.ACCESS_READ, 0, 0, 0);
      i = (i + 1) & 0xfffffff;
    }
    fx.i = i;
    c.flush();
  },
};

/** How many ranges of n pages (spaced 2n apart) one step punches or zaps: 1,024 single pages, 64 x 512, 1 x 262,144. */
function rangeCount(n: number): number {
  return n === 1 ? 1024 : n === 512 ? 64 : 1;
}

function populateRanges(c: Core, n: number, count: number): void {
  for (let r = 0; r < count; r++) {
    const base = r * 2 * n;
    for (let g = base; g < base + n; g++) c.push(A.OP_GUEST_ACCESS, 0, g, A.ACCESS_WRITE, 0, g & 0xff, 0);
  }
  c.flush();
}

function rangeCase(kind: "punch" | "zap", n: number): Case {
  const count = rangeCount(n);
  const slotPages = 1 << 20;
  return {
    group: kind,
    name: `${kind} ${n.toLocaleString("en-US")} page${n === 1 ? "" : "s"} (present and mapped; ${count} op${count === 1 ? "" : "s"}/step)`,
    pagesPerOp: n,
    opsPerStep: count,
    expectCode: A.RES_OK,
    build(core) {
      gmemVm(core, slotPages, true);
      return { core, i: 0 };
    },
    prepare(fx) {
      populateRanges(fx.core, n, count);
    },
    step(fx) {
      const c = fx.core;
      for (let r = 0; r < count; r++) {
        const base = r * 2 * n;
        if (kind === "punch") c.push(A.OP_PUNCH, 0, base, base + n);
        else c.push(A.OP_ZAP_GFNS, 0, base, base + n);
      }
      c.flush();
    },
  };
}

/** S read-only plain memslots of 512 pages at gfn s * 1024 (for the MMIO lookup), or S gmem-only ones. */
function manySlots(core: Core, s: number, gmem: boolean): void {
  core.push(A.OP_VM_CREATE, 0);
  if (gmem) {
    core.push(A.OP_INODE_CREATE, 0, s * 512, A.INODE_GMEM, MMAP_SHARED);
    core.push(A.OP_FILE_CREATE, 0, 0, 0, A.RIGHTS_ALL);
  }
  for (let k = 0; k < s; k++) {
    if (gmem) core.push(A.OP_SLOT_CREATE, 0, k, k * 1024, 512, 0, k * 512, GMEM_SLOT);
    else core.push(A.OP_SLOT_CREATE, 0, k, k * 1024, 512, -1, 0, A.SLOT_READONLY);
  }
  core.flush();
}

/** The gfn of access k over s slots: a scattered slot, a page inside it. */
function lookupGfn(k: number, s: number): number {
  return ((k * 97) & (s - 1)) * 1024 + ((k * 13) & 511);
}

function lookupMmio(s: number): Case {
  return {
    group: "memslot lookup",
    name: `memslot lookup hit, ${s.toLocaleString("en-US")} slot${s === 1 ? "" : "s"} (write to read-only slot: MMIO exit)`,
    pagesPerOp: 1,
    opsPerStep: K,
    expectCode: A.RES_MMIO,
    build(core) {
      manySlots(core, s, false);
      return { core, i: 0 };
    },
    step(fx) {
      const c = fx.core;
      let i = fx.i;
      for (let k = 0; k < K; k++) {
        c.push(A.OP_GUEST_ACCESS, 0, lookupGfn(i, s), A.ACCESS_WRITE, 0, 1, 0);
        i = (i + 1) & 0xfffffff;
      }
      fx.i = i;
      c.flush();
    },
  };
}

function lookupFault(s: number): Case {
  return {
    group: "memslot lookup",
    name: `memslot lookup hit, ${s.toLocaleString("en-US")} slot${s === 1 ? "" : "s"} (fault on present page, SPTE installed)`,
    pagesPerOp: 1,
    opsPerStep: K,
    expectCode: A.RES_OK,
    build(core) {
      manySlots(core, s, true);
      for (let k = 0; k < K; k++) core.push(A.OP_GUEST_ACCESS, 0, lookupGfn(k, s), A.ACCESS_READ, 0, 0, 0);
      core.flush();
      return { core, i: 0 };
    },
    prepare(fx) {
      fx.core.push(A.OP_ZAP_GFNS, 0, 0, s * 1024);
      fx.core.flush();
    },
    step(fx) {
      const c = fx.core;
      for (let k = 0; k < K; k++) c.push(A.OP_GUEST_ACCESS, 0, lookupGfn(k, s), A.ACCESS_READ, 0, 0, 0);
      c.flush();
    },
  };
}

export function microCases(): Case[] {
  return [
    bindCase,
    firstTouch,
    spteHit,
    ...[1, 512, 262_144].map((n) => rangeCase("punch", n)),
    ...[1, 512, 262_144].map((n) => rangeCase("zap", n)),
    ...[1, 64, 4096].map(lookupMmio),
    ...[1, 64, 4096].map(lookupFault),
  ];
}

/** Validates one case: fixture, then `steps` prepared steps, on both cores; checks expected codes. */
function validateCase(c: Case, steps: number): void {
  const engine = new EngineCore();
  const reference = new ReferenceCore();
  validateCores(c.name, engine, reference, (core) => {
    const fx = c.build(core);
    for (let s = 0; s < steps; s++) {
      c.prepare?.(fx);
      if (c.expectCode === undefined) {
        c.step(fx);
        continue;
      }
      const prev = core.onFlush;
      let bad = -1;
      core.onFlush = (n) => {
        prev?.(n);
        for (let k = 0; k < n && bad < 0; k++) if (core.results[k * A.RES_WORDS] !== c.expectCode) bad = core.results[k * A.RES_WORDS];
      };
      c.step(fx);
      core.onFlush = prev;
      if (bad >= 0) throw new Error(`${c.name}: ${core.kind} gave result code ${bad}, expected ${c.expectCode}`);
    }
  });
}

// ---------------------------------------------------------------- timing

interface Timing {
  /** Steps per second. */
  hz: number;
  /** Relative margin of error, percent (95 %). */
  rme: number;
  samples: number;
}

interface Budget {
  /** Seconds of timed work per case and core (tinybench time). */
  maxTime: number;
  minSamples: number;
}

/**
 * Calls per timed sample: tinybench times each call of its task, and a step of
 * tens of ns would be lost in the timer's own cost, so the task runs the step
 * in a loop of k calls (k doubled until one loop takes at least 0.2 ms), as
 * benchmark.js did with its compiled loops.
 */
function callsPerSample(fn: () => void): number {
  for (let k = 1; ; k *= 2) {
    const t0 = performance.now();
    for (let i = 0; i < k; i++) fn();
    if (performance.now() - t0 >= 0.2 || k >= 1 << 24) return k;
  }
}

function withBenchmark(fn: () => void, budget: Budget): Timing {
  const k = callsPerSample(fn);
  // tinybench: iterations is a minimum, time the budget in ms; one task, run synchronously.
  const bench = new Bench({ time: budget.maxTime * 1000, iterations: budget.minSamples, warmupTime: Math.min(50, (budget.maxTime * 1000) / 4), throws: true });
  bench.add("step", () => {
    for (let i = 0; i < k; i++) fn();
  });
  const [task] = bench.runSync();
  const r = task.result;
  if (r.state !== "completed") throw new Error(`micro-benchmark did not complete: ${r.state}`);
  return { hz: (k * 1000) / r.latency.mean, rme: r.latency.rme, samples: r.latency.samplesCount };
}

/** Times `step` alone, `prepare` untimed before each sample; stops after maxTime of timed work (and minSamples). */
function withBatches(prepare: () => void, step: () => void, budget: Budget): Timing {
  const sample: number[] = [];
  let total = 0;
  const wall0 = process.hrtime.bigint();
  for (;;) {
    prepare();
    const t0 = process.hrtime.bigint();
    step();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    sample.push(s);
    total += s;
    const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
    if (sample.length >= budget.minSamples && (total >= budget.maxTime || wall >= 4 * budget.maxTime || sample.length >= 10_000)) break;
  }
  // Drop the first sample (cold caches) when there are enough.
  const xs = sample.length > budget.minSamples ? sample.slice(1) : sample;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  const sem = Math.sqrt(variance / xs.length);
  return { hz: 1 / mean, rme: mean > 0 ? (1.96 * sem / mean) * 100 : 0, samples: xs.length };
}

function timeCase(c: Case, kind: "wasm" | "reference", budget: Budget): Timing {
  const core: Core = kind === "wasm" ? new EngineCore() : new ReferenceCore();
  const fx = c.build(core);
  const prepare = c.prepare;
  if (prepare) return withBatches(() => prepare(fx), () => c.step(fx), budget);
  const step = c.step;
  return withBenchmark(() => step(fx), budget);
}

// ---------------------------------------------------------------- start-up

/** Cold start in a fresh Node process: the steps of the first `new EngineCore()` (decode, compile, instantiate), each timed. */
const COLD_CHILD = `
const { readFileSync } = await import("node:fs");
const b64 = readFileSync(process.argv[1], "utf8");
const t0 = performance.now();
const bin = atob(b64);
const bytes = new Uint8Array(bin.length);
for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
const t1 = performance.now();
const mod = new WebAssembly.Module(bytes);
const t2 = performance.now();
const inst = new WebAssembly.Instance(mod, { env: { abort() { throw new Error("abort"); } } });
inst.exports.cmdPtr(); inst.exports.resPtr();
const t3 = performance.now();
new WebAssembly.Instance(mod, { env: { abort() { throw new Error("abort"); } } });
const t4 = performance.now();
process.stdout.write(JSON.stringify({ decode: t1 - t0, compile: t2 - t1, instantiate: t3 - t2, second: t4 - t3, bytes: bytes.length }));
`;

interface Startup {
  wasm_bytes: number;
  cold_runs: number;
  cold_decode_ms: number;
  cold_compile_ms: number;
  cold_instantiate_ms: number;
  cold_total_ms: number;
  warm_new_engine_us: number;
  warm_rme: number;
  reference_new_us: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function measureStartup(runs: number, budget: Budget): Startup {
  const dir = mkdtempSync(join(tmpdir(), "gmemsim-micro-"));
  const file = join(dir, "core.b64");
  writeFileSync(file, WASM_RELEASE_BASE64);
  const cold: Array<{ decode: number; compile: number; instantiate: number; bytes: number }> = [];
  try {
    for (let r = 0; r < runs; r++) {
      const out = execFileSync(process.execPath, ["--input-type=module", "-e", COLD_CHILD, file], { encoding: "utf8" });
      cold.push(JSON.parse(out));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  new EngineCore(); // compiles the module in this process, if nothing has yet
  const warm = withBenchmark(() => { new EngineCore(); }, budget);
  const ref = withBenchmark(() => { new ReferenceCore(); }, budget);
  const d = median(cold.map((c) => c.decode)), co = median(cold.map((c) => c.compile)), i = median(cold.map((c) => c.instantiate));
  return {
    wasm_bytes: cold[0]?.bytes ?? 0,
    cold_runs: runs,
    cold_decode_ms: d,
    cold_compile_ms: co,
    cold_instantiate_ms: i,
    cold_total_ms: median(cold.map((c) => c.decode + c.compile + c.instantiate)),
    warm_new_engine_us: 1e6 / warm.hz,
    warm_rme: warm.rme,
    reference_new_us: 1e6 / ref.hz,
  };
}

// ---------------------------------------------------------------- report

export function benchContext(): { node: string; cpu: string; cores: number; commit: string; dirty: boolean; date: string } {
  let commit = "unknown";
  let dirty = false;
  try {
    commit = execSync("git rev-parse --short HEAD", { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    dirty = execSync("git status --porcelain --untracked-files=no", { stdio: ["ignore", "pipe", "ignore"] }).toString().trim() !== "";
  } catch {}
  return { node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, commit, dirty, date: new Date().toISOString() };
}

interface CoreFigures {
  ops_per_s: number;
  ns_per_op: number;
  ns_per_page: number | null;
  rme: number;
  samples: number;
}

export interface MicroRow {
  group: string;
  name: string;
  method: "tinybench" | "timed batches";
  pages_per_op: number | null;
  ops_per_step: number;
  engine: CoreFigures;
  reference: CoreFigures;
  /** Engine ops/s over reference ops/s, measured in this run. */
  speedup: number;
}

function figures(c: Case, t: Timing): CoreFigures {
  const ops = t.hz * c.opsPerStep;
  return { ops_per_s: ops, ns_per_op: 1e9 / ops, ns_per_page: c.pagesPerOp === null ? null : 1e9 / (ops * c.pagesPerOp), rme: t.rme, samples: t.samples };
}

function si(x: number): string {
  if (x >= 1e9) return (x / 1e9).toFixed(2) + " G";
  if (x >= 1e6) return (x / 1e6).toFixed(2) + " M";
  if (x >= 1e3) return (x / 1e3).toFixed(1) + " k";
  return x.toFixed(1) + " ";
}

function ns(x: number | null): string {
  if (x === null) return "-";
  return x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3);
}

/** The flags of gmemsim bench --micro (declared in src/cli/commands.ts). */
export interface MicroOptions {
  json?: boolean;
  quick?: boolean;
  /** Where the JSON report is written. */
  out?: string;
}

/**
 * gmemsim bench --micro: validates then times
 * every micro case on both cores; prints a table (or JSON with --json), and
 * writes the JSON report to FILE with --out. Returns the exit code.
 */
export async function runMicro(values: MicroOptions): Promise<number> {
  const quick = !!values.quick;
  const budget: Budget = quick ? { maxTime: 0.05, minSamples: 2 } : { maxTime: 1, minSamples: 5 };
  const ctx = benchContext();
  const cases = microCases();
  const log = (s: string) => { if (!values.json) console.log(s); };
  log(`gmemsim bench --micro  (node ${ctx.node}, ${ctx.cpu} x${ctx.cores}, commit ${ctx.commit}${ctx.dirty ? "+dirty" : ""}${quick ? ", quick" : ""})`);

  // Validate every case before timing any.
  for (const c of cases) {
    try {
      validateCase(c, quick ? 1 : 3);
    } catch (e) {
      console.error(`bench --micro: validation failed, nothing timed: ${(e as Error).message}`);
      return 1;
    }
  }
  log(`validated ${cases.length} cases: engine and reference agree on every result and on the final state`);

  const startup = measureStartup(quick ? 2 : 10, budget);
  log(`\nstart-up (release wasm, ${startup.wasm_bytes.toLocaleString("en-US")} bytes):`);
  log(`  cold, fresh process (median of ${startup.cold_runs}): ${startup.cold_total_ms.toFixed(2)} ms = decode ${startup.cold_decode_ms.toFixed(2)} + compile ${startup.cold_compile_ms.toFixed(2)} + instantiate ${startup.cold_instantiate_ms.toFixed(2)}`);
  log(`  warm new EngineCore() (module compiled): ${startup.warm_new_engine_us.toFixed(1)} µs ±${startup.warm_rme.toFixed(1)}%;  new ReferenceCore(): ${startup.reference_new_us.toFixed(2)} µs`);

  const rows: MicroRow[] = [];
  for (const c of cases) {
    const e = timeCase(c, "wasm", budget);
    const r = timeCase(c, "reference", budget);
    const ef = figures(c, e), rf = figures(c, r);
    rows.push({ group: c.group, name: c.name, method: c.prepare ? "timed batches" : "tinybench", pages_per_op: c.pagesPerOp, ops_per_step: c.opsPerStep, engine: ef, reference: rf, speedup: ef.ops_per_s / rf.ops_per_s });
  }

  const report = { context: ctx, quick, startup, cases: rows };
  const out = values.out;
  if (out) writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  if (values.json) {
    console.log(JSON.stringify(report));
    return 0;
  }
  log("\nsteady state (ops/s of the core op; ns per page = ns per op / pages per op; speed-up = engine ops/s / reference ops/s, same run)");
  const columns = [
    { title: "case" },
    { title: "method" },
    ...["engine op/s", "ns/op", "ns/page", "±%", "ref op/s", "ref ns/page", "speed-up"].map((title) => ({ title, align: "right" as const })),
  ];
  log(
    renderTable(
      columns,
      rows.map((r) => [r.name, r.method, si(r.engine.ops_per_s).trim(), ns(r.engine.ns_per_op), ns(r.engine.ns_per_page), r.engine.rme.toFixed(1), si(r.reference.ops_per_s).trim(), ns(r.reference.ns_per_page ?? r.reference.ns_per_op), r.speedup.toFixed(1) + "x"]),
    ),
  );
  return 0;
}
