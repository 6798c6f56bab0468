/**
 * A fuzzing worker thread. Two jobs:
 * - kind "shard": one campaign shard (src/campaign/shard.ts), its report posted back;
 * - otherwise: one independent coverage-guided run (its own seed and share of
 *   the budget) for gmemsim fuzz --workers, reporting progress and its result,
 *   with the coverage and the policy module's never-run ranges.
 */
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { startPolicyCoverage, takePolicyCoverage } from "../campaign/policy-coverage.js";
import { runShard } from "../campaign/shard.js";
import { loadPolicy } from "../policy/load.js";
import { guidedRun } from "./guided.js";

const d = workerData as { kind?: "shard"; spec?: never; seed: number; ops: number; deadline?: number; kernel: string; policyFile?: string; guide: boolean; design?: string; t0: number };
if (d.kind === "shard") {
  try {
    parentPort!.postMessage({ kind: "shard-done", report: await runShard(d.spec!) });
  } catch (e) {
    parentPort!.postMessage({ kind: "shard-error", error: (e as Error).message });
  }
} else {
  const url = d.policyFile ? pathToFileURL(resolve(d.policyFile)).href : "";
  if (d.policyFile) await startPolicyCoverage();
  const policy = d.policyFile ? await loadPolicy(d.policyFile) : undefined;
  // performance.now() is per thread: the deadline comes as a Unix time.
  const deadline = d.deadline === undefined ? undefined : performance.now() + (d.deadline - Date.now());
  let last = 0;
  const r = guidedRun({
    seed: d.seed,
    ops: d.ops,
    deadline,
    kernel: d.kernel,
    policy,
    design: d.design,
    guide: d.guide,
    onProgress: (p) => {
      const now = performance.now();
      if (now - last > 200) {
        last = now;
        parentPort!.postMessage({ kind: "progress", ...p });
      }
    },
  });
  const uncovered = d.policyFile ? await takePolicyCoverage(url) : null;
  const report = { ops: r.ops, traces: r.traces, failure: r.failure, coverage: r.coverage.toJSON(), uncovered };
  parentPort!.postMessage({ kind: "done", report });
}
