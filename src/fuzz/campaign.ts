/**
 * gmemsim fuzz [--against reference|kernel] [--seed N] [--ops N] [--kernel 6.18|7.2] [--out DIR]
 *
 * --against reference (the default): random traces run on the engine and the
 * reference model side by side; every op's result must agree, and the final
 * state must agree and satisfy every engine invariant.
 * --against kernel: random traces of the upstream ops run on the engine and on
 * the live kernel through the oracle (./kernel.ts); every op's result must agree.
 *
 * The first failure is shrunk by fast-check to the fewest ops that still show it
 * and written as a replayable trace.
 */
import fc from "fast-check";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Simulator } from "../api/simulator.js";
import { checkInvariants } from "../check/invariants.js";
import { digestSnapshot } from "../core/digest.js";
import { die, parse } from "../cli/args.js";
import { profileByName } from "../kvm/profile.js";
import { traceArbitrary } from "./arbitraries.js";

const USAGE = "gmemsim fuzz [--against reference|kernel] [--seed N] [--ops N] [--kernel 6.18|7.2] [--out DIR]";

export interface FuzzFailure {
  trace: object[];
  reason: string;
}

/** Runs one trace on both cores; a sentence describing the first disagreement, or null. */
export function checkTrace(trace: object[], kernel?: string): string | null {
  const e = new Simulator({ engine: "wasm", kernel });
  const r = new Simulator({ engine: "reference", kernel });
  for (let k = 0; k < trace.length; k++) {
    const [a] = e.apply([trace[k]]);
    const [b] = r.apply([trace[k]]);
    if (JSON.stringify(a) !== JSON.stringify(b))
      return `op ${k} (${(trace[k] as { op: string }).op}): the engine answered ${JSON.stringify(a)}, the reference model ${JSON.stringify(b)}`;
  }
  if (digestSnapshot(e.snapshot()) !== digestSnapshot(r.snapshot())) return "after the last op the engine's state differs from the reference model's";
  const bad = checkInvariants(e.host);
  if (bad.length) return `after the last op an engine invariant fails: ${bad[0]}`;
  return null;
}

export async function runFuzz(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      seed: { type: "string" },
      ops: { type: "string", default: "100000" },
      out: { type: "string", default: "fuzz-out" },
      against: { type: "string", default: "reference" },
      kernel: { type: "string", default: "6.18" },
    },
    USAGE,
  );
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
  const budget = Number(values.ops);
  if (!Number.isFinite(seed) || !Number.isFinite(budget) || budget <= 0) die(`--seed and --ops take numbers\nusage: ${USAGE}`);
  const kernel = String(values.kernel);
  try {
    profileByName(kernel);
  } catch (e) {
    die(`--kernel: ${(e as Error).message}\nusage: ${USAGE}`);
  }
  if (values.against === "kernel") {
    return kernelFuzz({ seed, ops: budget, kernel, out: String(values.out) });
  }
  if (values.against !== "reference") die(`--against takes reference or kernel, not "${values.against}"\nusage: ${USAGE}`);
  let ops = 0;
  let traces = 0;
  const t0 = performance.now();
  let lastReport = t0;
  const tty = process.stderr.isTTY;
  const report = (final = false) => {
    const s = (performance.now() - t0) / 1000;
    const line = `fuzz: seed ${seed}: ${ops.toLocaleString("en-US")} ops in ${traces.toLocaleString("en-US")} traces, ${Math.round(ops / Math.max(s, 1e-9)).toLocaleString("en-US")} ops/s`;
    if (tty && !final) process.stderr.write(`\r${line}   `);
    else process.stderr.write(`${tty ? "\r" : ""}${line}\n`);
  };
  const numRuns = Math.max(1, Math.ceil(budget / 20));
  const result = fc.check(
    fc.property(traceArbitrary({ maxLength: 40 }), (trace) => {
      if (ops >= budget) return true;
      ops += trace.length;
      traces++;
      const now = performance.now();
      if (now - lastReport > (tty ? 200 : 5000)) {
        lastReport = now;
        report();
      }
      return checkTrace(trace, kernel) === null;
    }),
    { seed, numRuns, endOnFailure: false },
  );
  report(true);
  if (!result.failed || !result.counterexample) {
    console.log(`fuzz: no divergence and no invariant failure in ${ops.toLocaleString("en-US")} ops (seed ${seed})`);
    return 0;
  }
  const trace = result.counterexample[0] as object[];
  const reason = checkTrace(trace, kernel) ?? "the failure did not reproduce on replay";
  const outDir = String(values.out);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `fuzz-${seed}.jsonl`);
  writeFileSync(file, trace.map((op) => JSON.stringify(op)).join("\n") + "\n");
  console.log(`fuzz: FAILED (seed ${seed}). Shrunk to ${trace.length} ops, written to ${file}.`);
  const k = kernel === "6.18" ? "" : ` --kernel ${kernel}`;
  console.log(`fuzz: ${reason}. Replay it with: gmemsim replay ${file} --check --engine reference${k}, and again with --engine wasm.`);
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
        process.stderr.write(tty ? `\r${line(p)}   ` : `${line(p)}\n`);
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
