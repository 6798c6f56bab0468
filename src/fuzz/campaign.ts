/**
 * gmemsim fuzz [--seed N] [--ops N] [--out DIR]: random traces run on the engine
 * and the reference model side by side; every op's result must agree, and the
 * final state must agree and satisfy every engine invariant. The first failure
 * is shrunk by fast-check to the fewest ops that still show it and written as a
 * replayable trace.
 */
import fc from "fast-check";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Simulator } from "../api/simulator.js";
import { checkInvariants } from "../check/invariants.js";
import { digestSnapshot } from "../core/digest.js";
import { die, parse } from "../cli/args.js";
import { traceArbitrary } from "./arbitraries.js";

const USAGE = "gmemsim fuzz [--seed N] [--ops N] [--out DIR]";

export interface FuzzFailure {
  trace: object[];
  reason: string;
}

/** Runs one trace on both cores; a sentence describing the first disagreement, or null. */
export function checkTrace(trace: object[]): string | null {
  const e = new Simulator({ engine: "wasm" });
  const r = new Simulator({ engine: "reference" });
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
  const { values } = parse(argv, { seed: { type: "string" }, ops: { type: "string", default: "100000" }, out: { type: "string", default: "fuzz-out" } }, USAGE);
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
  const budget = Number(values.ops);
  if (!Number.isFinite(seed) || !Number.isFinite(budget) || budget <= 0) die(`--seed and --ops take numbers\nusage: ${USAGE}`);
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
      return checkTrace(trace) === null;
    }),
    { seed, numRuns, endOnFailure: false },
  );
  report(true);
  if (!result.failed || !result.counterexample) {
    console.log(`fuzz: no divergence and no invariant failure in ${ops.toLocaleString("en-US")} ops (seed ${seed})`);
    return 0;
  }
  const trace = result.counterexample[0] as object[];
  const reason = checkTrace(trace) ?? "the failure did not reproduce on replay";
  const outDir = String(values.out);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `fuzz-${seed}.jsonl`);
  writeFileSync(file, trace.map((op) => JSON.stringify(op)).join("\n") + "\n");
  console.log(`fuzz: FAILED (seed ${seed}). Shrunk to ${trace.length} ops, written to ${file}.`);
  console.log(`fuzz: ${reason}. Replay it with: gmemsim replay ${file} --check --engine reference, and again with --engine wasm.`);
  return 1;
}
