/**
 * A fuzzing worker thread: one independent run (its own seed and share of the
 * budget), reporting progress and its result to the main thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadPolicy } from "../policy/load.js";
import { fuzzRun } from "./run.js";

const d = workerData as { seed: number; ops: number; deadline?: number; kernel: string; policyFile?: string; design?: string; t0: number };
const policy = d.policyFile ? await loadPolicy(d.policyFile) : undefined;
// performance.now() is per thread: the deadline comes as a Unix time.
const deadline = d.deadline === undefined ? undefined : performance.now() + (d.deadline - Date.now());
let last = 0;
const report = fuzzRun({
  seed: d.seed,
  ops: d.ops,
  deadline,
  kernel: d.kernel,
  policy,
  design: d.design,
  onProgress: (p) => {
    const now = performance.now();
    if (now - last > 200) {
      last = now;
      parentPort!.postMessage({ kind: "progress", ...p });
    }
  },
});
parentPort!.postMessage({ kind: "done", report });
