/** A worker thread of bench/clean-heap.ts: one measurement, its figures posted back. */
import { parentPort, workerData } from "node:worker_threads";
import { fuzzRun } from "../src/fuzz/run.js";
import { guidedRun } from "../src/fuzz/guided.js";
import { measureCheck } from "./check.js";
import { measureTracePaths } from "./trace-paths.js";
import type { CleanHeapJob, FuzzJob } from "./clean-heap.js";

function fuzzNs(job: FuzzJob): number {
  // The second half in segments of about `segment` ops (a segment ends where the next begins).
  const segments: number[] = [];
  let from = -1;
  let t0 = 0;
  const onProgress = (p: { ops: number }) => {
    if (p.ops < job.ops / 2 || (from >= 0 && p.ops - from < job.segment)) return;
    const u = process.cpuUsage();
    const t = (u.user + u.system) * 1000;
    if (from >= 0) segments.push((t - t0) / (p.ops - from));
    from = p.ops;
    t0 = t;
  };
  const rep = job.kind === "blind" ? fuzzRun({ seed: job.seed, ops: job.ops, onProgress }) : guidedRun({ seed: job.seed, ops: job.ops, onProgress });
  if (rep.failure) throw new Error("it found a failure under the default policy");
  if (!segments.length) throw new Error(`its second half held no segment of ${job.segment} ops`);
  segments.sort((a, b) => a - b);
  return segments[segments.length >> 1];
}

const job = workerData as CleanHeapJob;
try {
  const value = job.kind === "check" ? measureCheck(job.quick) : job.kind === "traces" ? measureTracePaths(job.n, job.rounds) : fuzzNs(job);
  parentPort!.postMessage({ value });
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
}
