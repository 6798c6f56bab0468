/**
 * gmemsim fuzz [--against reference|kernel] [--seed N] [--ops N | --seconds S]
 *              [--workers N] [--policy FILE] [--kernel 6.18|7.2] [--out DIR]
 *
 * --against reference (the default): random traces over every operation of
 * SPEC §2 run on the engine and the reference model side by side; every op's
 * answers must agree, and after every op the engine invariants, the security
 * properties and the policy's own properties must hold (./check.ts). Worker
 * threads run independent seeds (seed, seed + 1, ...) and their totals are
 * summed.
 * --against kernel: random traces of the upstream ops on the engine and on the
 * live kernel through the oracle (./kernel.ts).
 *
 * The first failure is shrunk by fast-check to the fewest ops that still show it
 * and written as a replayable trace, with a paragraph that says what broke.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { die } from "../cli/args.js";
import type { FuzzOptions } from "../cli/fuzz.js";
import { Progress, redraw } from "../cli/progress.js";
import { loadPolicy } from "../policy/load.js";
import { explain, type TraceFailure } from "./check.js";
import { fuzzRun, type RunReport } from "./run.js";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** The worker entry: the bundled file next to the CLI, or the TypeScript source under tsx. */
function workerUrl(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  return here.endsWith(".ts") ? { url: new URL("./worker.ts", here), execArgv: ["--import", "tsx"] } : { url: new URL("./fuzz-worker.js", here), execArgv: [] };
}

async function inWorkers(n: number, base: { seed: number; ops: number; deadline?: number; kernel: string; policyFile?: string }, progress: Progress): Promise<RunReport> {
  const { url, execArgv } = workerUrl();
  const per = Math.ceil(base.ops / n);
  const live = new Map<number, { ops: number; traces: number }>();
  const workers: Worker[] = [];
  const reports = await new Promise<RunReport[]>((resolve, reject) => {
    const done: RunReport[] = [];
    for (let w = 0; w < n; w++) {
      const worker = new Worker(url, { execArgv, workerData: { ...base, seed: base.seed + w, ops: per, t0: Date.now() } });
      workers.push(worker);
      worker.on("message", (m: { kind: string; ops: number; traces: number; report: RunReport }) => {
        if (m.kind === "progress") {
          live.set(w, m);
          const sum = [...live.values()].reduce((a, b) => ({ ops: a.ops + b.ops, traces: a.traces + b.traces }), { ops: 0, traces: 0 });
          progress.update(sum.ops, sum.traces);
          return;
        }
        done.push(m.report);
        live.set(w, { ops: m.report.ops, traces: m.report.traces });
        // The first failure ends the campaign: the others' work would only be discarded.
        if (m.report.failure) {
          for (const o of workers) if (o !== worker) void o.terminate();
          resolve([m.report, ...done.filter((r) => r !== m.report)]);
        } else if (done.length === n) resolve(done);
      });
      worker.on("error", reject);
    }
  });
  for (const w of workers) void w.terminate();
  const failed = reports.find((r) => r.failure);
  const ops = [...live.values()].reduce((a, b) => a + b.ops, 0);
  const traces = [...live.values()].reduce((a, b) => a + b.traces, 0);
  return { ops, traces, failure: failed?.failure };
}

/** The flags are declared, read and checked in src/cli/commands.ts (--out is known writable). */
export async function runFuzz(values: FuzzOptions): Promise<number> {
  const seed = values.seed ?? Date.now() % 2 ** 31;
  const seconds = values.seconds;
  const budget = values.ops ?? (seconds !== undefined ? Infinity : 100_000);
  const workers = values.workers;
  const kernel = values.kernel;
  if (values.against === "kernel") {
    if (values.policy !== undefined) die("--policy applies to --against reference: the live kernel has no inode/file design to put a policy on");
    return kernelFuzz({ seed, ops: Number.isFinite(budget) ? budget : 100_000, kernel, out: values.out });
  }
  const policyFile = values.policy !== undefined ? String(values.policy) : undefined;
  let policy;
  try {
    policy = policyFile ? await loadPolicy(policyFile) : undefined;
  } catch (e) {
    die(`cannot load the policy: ${(e as Error).message}`);
  }
  const policyName = policy?.name ?? "default";
  const progress = new Progress(`fuzz (seed ${seed}, policy ${policyName}, ${workers} worker${workers > 1 ? "s" : ""})`, budget, seconds);
  const deadline = seconds !== undefined ? Date.now() + seconds * 1000 : undefined;
  const report =
    workers === 1
      ? fuzzRun({ seed, ops: budget, deadline: deadline === undefined ? undefined : performance.now() + seconds! * 1000, kernel, policy, onProgress: (p) => progress.update(p.ops, p.traces) })
      : await inWorkers(workers, { seed, ops: budget, deadline, kernel, policyFile }, progress);
  progress.update(report.ops, report.traces, true);
  const rate = report.ops / Math.max(progress.elapsed, 1e-9);
  if (!report.failure) {
    console.log(`fuzz: no divergence, no engine invariant and no security property failed in ${fmt(report.ops)} checked ops (${fmt(report.traces)} traces; seed ${seed}, policy ${policyName}); ${fmt(rate)} checked ops/s, ${fmt(rate / workers)} per worker`);
    return 0;
  }
  const { trace, failure, originalLength } = report.failure;
  const outDir = values.out;
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `fuzz-${seed}.jsonl`);
  const paragraph = explain(failure as TraceFailure, policyName);
  writeFileSync(file, [`# gmemsim fuzz --seed ${seed}${policyFile ? ` --policy ${policyFile}` : ""}: a ${originalLength}-op trace, shrunk to these ${trace.length}.`, `# ${paragraph}`, ...trace.map((op) => JSON.stringify(op))].join("\n") + "\n");
  console.log(`fuzz: FAILED after ${fmt(report.ops)} ops (seed ${seed}). Shrunk from ${originalLength} to ${trace.length} ops, written to ${file}.`);
  console.log(paragraph);
  const k = kernel === "6.18" ? "" : ` --kernel ${kernel}`;
  console.log(`Replay it with: gmemsim replay ${file} --check${policyFile ? ` --policy ${policyFile}` : ""}${k} (and --engine reference to compare the cores).`);
  return 1;
}

/**
 * --against kernel: exit 0 when every op agreed, 1 on a divergence (the shrunk
 * trace written to outDir), 3 when the kernel cannot be used here.
 */
async function kernelFuzz(o: { seed: number; ops: number; kernel: string; out: string }): Promise<number> {
  const { kernelAvailability } = await import("../oracle/driver.js");
  const { runKernelFuzz, explainDivergence, divergenceFile, OracleRunError, traceText } = await import("./kernel.js");
  const avail = kernelAvailability();
  if (!avail.ok) die(`fuzz --against kernel needs the live kernel, which is not available here: ${avail.reason}`, 3);
  const tty = process.stderr.isTTY;
  let lastReport = 0;
  const fmt = (n: number) => n.toLocaleString("en-US");
  const line = (p: { ops: number; traces: number; compared: number; seconds: number }) =>
    `fuzz --against kernel: seed ${o.seed}: ${fmt(p.ops)} ops in ${fmt(p.traces)} traces (${fmt(p.compared)} compared with the kernel), ${fmt(Math.round(p.ops / Math.max(p.seconds, 1e-9)))} ops/s`;
  let report;
  try {
    report = await runKernelFuzz({
      seed: o.seed,
      ops: o.ops,
      kernel: o.kernel,
      onProgress: (p) => {
        const now = performance.now();
        if (!tty && now - lastReport < 5000) return;
        lastReport = now;
        process.stderr.write(tty ? redraw(line(p)) : `${line(p)}\n`);
      },
      onShrinkStart: (f) => {
        process.stderr.write(`${tty ? "\n" : ""}fuzz --against kernel: trace ${f.traceIndex} (${f.ops} ops) diverges at op ${f.divergence.index}; shrinking it on the kernel...\n`);
      },
    });
  } catch (e) {
    if (e instanceof OracleRunError) {
      mkdirSync(o.out, { recursive: true });
      const file = join(o.out, `kernel-oracle-failure-${o.seed}.jsonl`);
      writeFileSync(file, traceText(e.trace as Record<string, unknown>[]));
      console.error(`gmemsim: the kernel oracle failed on a trace (written to ${file}): ${e.message}`);
      return 2;
    }
    throw e;
  }
  process.stderr.write(`${tty ? "\r" : ""}${line(report)}\n`);
  if (!report.failure) {
    console.log(
      `fuzz --against kernel: no divergence in ${fmt(report.ops)} ops (${fmt(report.compared)} compared with the kernel, ${fmt(report.traceErrors)} of them trace errors on both sides; ${fmt(report.unsupported)} unsupported) in ${fmt(report.traces)} traces, ${report.seconds.toFixed(1)} s (seed ${o.seed}, profile ${o.kernel})`,
    );
    return 0;
  }
  const f = report.failure;
  const paragraph = explainDivergence(f.divergence, o.kernel);
  mkdirSync(o.out, { recursive: true });
  const file = join(o.out, `kernel-fuzz-${o.seed}.jsonl`);
  const header = [
    `gmemsim fuzz --against kernel --seed ${o.seed}${o.kernel === "6.18" ? "" : ` --kernel ${o.kernel}`}: trace ${f.traceIndex} of the campaign (${f.originalLength} ops) diverged; fast-check shrank it to these ${f.trace.length} ops in ${f.shrinkSeconds.toFixed(1)} s.`,
    paragraph,
    `Each op up to the divergent one carries the kernel's answer as its expect.`,
  ];
  writeFileSync(file, divergenceFile(f.comparison, f.trace, header));
  const k = o.kernel === "6.18" ? "" : ` --kernel ${o.kernel}`;
  console.log(`fuzz --against kernel: DIVERGENCE (seed ${o.seed}, after ${fmt(report.ops)} ops). Shrunk to ${f.trace.length} ops, written to ${file}.`);
  console.log(paragraph);
  console.log(`Replay it with: gmemsim replay ${file} --check${k} (the simulator), and gmemsim kernel ${file} (the kernel).`);
  return 1;
}
