/**
 * Differential fuzzing against the live kernel: random traces of the upstream
 * operations (kernelTraceArbitrary) run on the simulator's wasm engine and, in
 * a child process per trace, on /dev/kvm through the C oracle. The first op
 * whose result lines differ, as parsed objects, is a divergence; it is shrunk
 * with fast-check (each candidate runs on the kernel again) to the fewest ops
 * that still diverge.
 *
 * What counts as equal: the same keys and values, in any order. Ops that the
 * oracle answers {"unsupported": ...} are not compared. Two trace errors are
 * equal whatever their wording (the texts of the two readers differ by design);
 * a trace error on one side only is a divergence.
 *
 * Node only (it spawns the oracle).
 */
import fc from "fast-check";
import { availableParallelism } from "node:os";
import { Simulator } from "../api/simulator.js";
import { runOnKernel, type KernelResult } from "../oracle/driver.js";
import type { ResultLine } from "../trace/replay.js";
import { kernelTraceArbitrary } from "./arbitraries.js";
import { KERNEL_MIXES } from "./mixes.js";
import { stringifyJson } from "../trace/json.js";
import { LIVE_PROFILE } from "../kvm/profile.js";

export type TraceOp = Record<string, unknown>;

export interface KernelDivergence {
  /** Index of the op in the trace (its result's `i`). */
  index: number;
  op: TraceOp;
  simulator: ResultLine | undefined;
  kernel: KernelResult | undefined;
}

export interface KernelComparison {
  divergence: KernelDivergence | null;
  /** Ops whose results were compared (every op up to the divergence, minus unsupported ones). */
  compared: number;
  /** Ops the oracle answered "unsupported". */
  unsupported: number;
  /** Ops that were a trace error on both sides. */
  traceErrors: number;
  simulatorResults: ResultLine[];
  kernelResults: KernelResult[];
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, k) => deepEqual(x, b[k]));
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as never)[k], (b as never)[k]));
  }
  return false;
}

/** Whether two result lines agree (see the module comment). */
export function sameResult(sim: ResultLine | undefined, kernel: KernelResult | undefined): boolean {
  if (!sim || !kernel) return false;
  if ("error" in sim && "error" in kernel) return sim.i === kernel.i;
  return deepEqual(sim, kernel);
}

/** Compares the two sides' result lines op by op; stops at the first divergence. */
export function compareResults(trace: TraceOp[], sim: ResultLine[], kernel: KernelResult[]): Omit<KernelComparison, "simulatorResults" | "kernelResults"> {
  let compared = 0;
  let unsupported = 0;
  let traceErrors = 0;
  for (let k = 0; k < trace.length; k++) {
    const s = sim[k];
    const kr = kernel[k];
    if (kr && "unsupported" in kr) {
      unsupported++;
      continue;
    }
    if (!sameResult(s, kr)) return { divergence: { index: k, op: trace[k], simulator: s, kernel: kr }, compared, unsupported, traceErrors };
    compared++;
    if (s && "error" in s) traceErrors++;
  }
  return { divergence: null, compared, unsupported, traceErrors };
}

export function traceText(trace: TraceOp[]): string {
  return trace.map((op) => stringifyJson(op)).join("\n") + "\n";
}

/** The oracle failed on a trace (crash, bad exit): an error of the run, not a divergence. */
export class OracleRunError extends Error {
  constructor(
    message: string,
    readonly trace: TraceOp[],
  ) {
    super(message);
  }
}

/** Runs one trace on the simulator (wasm engine, the given profile) and on the live kernel, and compares them. */
export async function compareWithKernel(trace: TraceOp[], kernelProfile = LIVE_PROFILE): Promise<KernelComparison> {
  let kernelResults: KernelResult[];
  try {
    kernelResults = await runOnKernel(traceText(trace));
  } catch (e) {
    throw new OracleRunError((e as Error).message, trace);
  }
  const simulatorResults = new Simulator({ engine: "wasm", kernel: kernelProfile }).apply(trace);
  return { ...compareResults(trace, simulatorResults, kernelResults), simulatorResults, kernelResults };
}

/**
 * What makes two divergences the same bug while a trace shrinks: the op, and
 * the kind of each side's answer (errno, signal, exit, trace error), not its
 * values (a read's byte, a gpa).
 */
export function divergenceSignature(d: KernelDivergence): string {
  const kind = (r: Record<string, unknown> | undefined) =>
    r === undefined ? "none" : "error" in r ? "error" : [r.errno ?? "", r.signal ?? "", r.exit ?? "", "unsupported" in r ? "unsupported" : ""].join("/");
  return stringifyJson([d.op.op, kind(d.simulator), kind(d.kernel)]);
}

/**
 * Removes ops (halves, then quarters, ... then single ops) while the trace still
 * shows a divergence with the same signature: the last step after fast-check's
 * shrinking, which cannot drop below the arbitrary's minimum length or rename
 * objects.
 */
export async function minimizeTrace(trace: TraceOp[], signature: string, kernelProfile = LIVE_PROFILE, deadline = Infinity): Promise<{ trace: TraceOp[]; cmp: KernelComparison } | null> {
  let best = null as { trace: TraceOp[]; cmp: KernelComparison } | null;
  const test = async (t: TraceOp[]) => {
    const cmp = await compareWithKernel(t, kernelProfile);
    if (cmp.divergence && divergenceSignature(cmp.divergence) === signature) {
      best = { trace: t, cmp };
      return true;
    }
    return false;
  };
  if (!(await test(trace))) return null;
  let cur = trace;
  const pass = async (chunk: number) => {
    let removed = false;
    for (let end = cur.length; end > 0 && performance.now() < deadline; end -= chunk) {
      const start = Math.max(0, end - chunk);
      const cand = [...cur.slice(0, start), ...cur.slice(end)];
      if (cand.length && (await test(cand))) {
        cur = cand;
        removed = true;
      }
    }
    return removed;
  };
  for (let chunk = cur.length >> 1; chunk > 1; chunk >>= 1) await pass(chunk);
  while ((await pass(1)) && performance.now() < deadline);
  return best;
}

const show = (r: unknown) => (r === undefined ? "no result line at all" : stringifyJson(r));

/** One paragraph: which op diverged and what each side answered. */
export function explainDivergence(d: KernelDivergence, kernelProfile = LIVE_PROFILE): string {
  return (
    `Op ${d.index} of the trace (${String(d.op.op)}: ${stringifyJson(d.op)}) gives different results: ` +
    `the simulator (wasm engine, profile ${kernelProfile}) answers ${show(d.simulator)}, ` +
    `the live kernel (through the oracle) answers ${show(d.kernel)}. ` +
    `Every earlier op agreed on both sides (ops the oracle cannot answer are not compared).`
  );
}

/**
 * A replayable trace of a divergence: the paragraph as # comments, then the
 * ops, each (up to the divergence) with the kernel's answer as its `expect`,
 * so that `gmemsim replay FILE --check` stops at the op that diverges.
 */
export function divergenceFile(cmp: KernelComparison, trace: TraceOp[], header: string[]): string {
  const lines = header.flatMap((h) => wrap(h, 100)).map((l) => `# ${l}`);
  const last = cmp.divergence ? cmp.divergence.index : trace.length - 1;
  for (let k = 0; k < trace.length; k++) {
    const kr = cmp.kernelResults[k];
    if (k <= last && kr && !("error" in kr) && !("unsupported" in kr)) {
      const { i: _i, ...expect } = kr;
      lines.push(stringifyJson({ ...trace[k], expect }));
    } else lines.push(stringifyJson(trace[k]));
  }
  return lines.join("\n") + "\n";
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

export interface KernelFuzzOptions {
  seed: number;
  /** Stop after this many ops have been run (whole traces). */
  ops: number;
  /** The simulator's kernel profile (default "6.18", the live kernel). */
  kernel?: string;
  /** Longest random body of a trace (after its setup). Default 40. */
  maxLength?: number;
  /** The op mix, by name (KERNEL_MIXES in ./mixes.ts). Default "default". */
  mix?: string;
  /** Oracle processes in flight at once. Default: the number of CPUs, 2 to 4. */
  concurrency?: number;
  /** Shrinking stops after this long and keeps the smallest trace found. Default 120 s. */
  shrinkTimeLimitMs?: number;
  /**
   * Known divergences to step over (for exploring past a bug already reported):
   * a trace whose first divergence this accepts counts as `known` and the
   * campaign goes on. The CLI does not set it.
   */
  ignore?: (d: KernelDivergence) => boolean;
  /** Called now and then with the running totals. */
  onProgress?: (p: KernelFuzzProgress) => void;
  /** Called once shrinking starts. */
  onShrinkStart?: (found: { traceIndex: number; ops: number; divergence: KernelDivergence }) => void;
}

export interface KernelFuzzProgress {
  ops: number;
  traces: number;
  compared: number;
  seconds: number;
}

export interface KernelFuzzReport extends KernelFuzzProgress {
  seed: number;
  kernel: string;
  unsupported: number;
  traceErrors: number;
  /** Traces whose divergence `ignore` accepted. */
  known: number;
  /** Present when a divergence was found: the shrunk trace and its comparison. */
  failure?: {
    /** Index (in generation order) of the first trace that diverged, and its length. */
    traceIndex: number;
    originalLength: number;
    trace: TraceOp[];
    comparison: KernelComparison;
    divergence: KernelDivergence;
    shrinkSeconds: number;
  };
}

/**
 * Generates the campaign's traces in fast-check's order for this seed (so that
 * fc.check's `path` option replays trace k), up to `ops` ops in all.
 */
function generate(arb: fc.Arbitrary<TraceOp[]>, seed: number, budget: number, minLength: number): TraceOp[][] {
  const traces: TraceOp[][] = [];
  let ops = 0;
  fc.check(
    fc.property(arb, (t) => {
      if (ops < budget) {
        traces.push(t);
        ops += t.length;
      }
      return true;
    }),
    { seed, numRuns: Math.ceil(budget / minLength) + 1 },
  );
  return traces;
}

/** A campaign: random kernel-safe traces on both sides until a divergence (shrunk) or the op budget is spent. */
export async function runKernelFuzz(opts: KernelFuzzOptions): Promise<KernelFuzzReport> {
  const profile = opts.kernel ?? LIVE_PROFILE;
  const maxLength = opts.maxLength ?? 40;
  const minLength = 8;
  const weights = KERNEL_MIXES[opts.mix ?? "default"];
  if (!weights) throw new RangeError(`mix: "${opts.mix}" is none of ${Object.keys(KERNEL_MIXES).join(", ")}`);
  const arb = kernelTraceArbitrary({ minLength, maxLength, weights });
  const traces = generate(arb, opts.seed, opts.ops, minLength);
  const concurrency = Math.max(1, opts.concurrency ?? Math.min(4, Math.max(2, availableParallelism())));
  const t0 = performance.now();
  const totals = { ops: 0, traces: 0, compared: 0, unsupported: 0, traceErrors: 0, known: 0 };
  const failing: Array<{ index: number; cmp: KernelComparison }> = [];
  let next = 0;
  let lastProgress = t0;

  const worker = async () => {
    while (failing.length === 0 && next < traces.length) {
      const index = next++;
      const trace = traces[index];
      const cmp = await compareWithKernel(trace, profile);
      totals.traces++;
      totals.ops += trace.length;
      totals.compared += cmp.compared;
      totals.unsupported += cmp.unsupported;
      totals.traceErrors += cmp.traceErrors;
      if (cmp.divergence && opts.ignore?.(cmp.divergence)) totals.known++;
      else if (cmp.divergence) failing.push({ index, cmp });
      const now = performance.now();
      if (opts.onProgress && now - lastProgress > 200) {
        lastProgress = now;
        opts.onProgress({ ops: totals.ops, traces: totals.traces, compared: totals.compared, seconds: (now - t0) / 1000 });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const report: KernelFuzzReport = { seed: opts.seed, kernel: profile, ...totals, seconds };
  if (failing.length === 0) return report;

  // The first divergent trace in generation order (every earlier one has finished and agreed).
  failing.sort((a, b) => a.index - b.index);
  const first = failing[0];
  opts.onShrinkStart?.({ traceIndex: first.index, ops: traces[first.index].length, divergence: first.cmp.divergence! });
  const s0 = performance.now();
  const signature = divergenceSignature(first.cmp.divergence!);
  let best: { trace: TraceOp[]; cmp: KernelComparison } = { trace: traces[first.index], cmp: first.cmp };
  const result = await fc.check(
    fc.asyncProperty(arb, async (trace) => {
      const cmp = await compareWithKernel(trace, profile);
      const same = cmp.divergence !== null && divergenceSignature(cmp.divergence) === signature;
      if (same && trace.length <= best.trace.length) best = { trace, cmp };
      return !same;
    }),
    { seed: opts.seed, path: String(first.index), numRuns: traces.length, interruptAfterTimeLimit: opts.shrinkTimeLimitMs ?? 120_000, markInterruptAsFailure: false },
  );
  if (result.failed && result.counterexample) {
    const trace = result.counterexample[0] as TraceOp[];
    const cmp = await compareWithKernel(trace, profile);
    if (cmp.divergence && divergenceSignature(cmp.divergence) === signature) best = { trace, cmp };
  }
  // Last, drop single ops and runs of ops that the arbitrary's shape kept.
  const min = await minimizeTrace(best.trace, signature, profile, performance.now() + (opts.shrinkTimeLimitMs ?? 120_000));
  if (min) best = min;
  report.failure = {
    traceIndex: first.index,
    originalLength: traces[first.index].length,
    trace: best.trace,
    comparison: best.cmp,
    divergence: best.cmp.divergence!,
    shrinkSeconds: (performance.now() - s0) / 1000,
  };
  return report;
}
