/**
 * Fuzzing's checked rate as a worker runs: each measured in a worker thread of
 * its own, so that the rate is that of a heap holding the fuzzer alone, as a
 * `gmemsim fuzz` worker's does (a worker thread, src/fuzz/worker.ts, or with
 * one worker the CLI's process, which holds nothing else). Measured in the benchmark's
 * own thread, beside the other paths' inputs (the JSONL traces, the op objects,
 * the recorded command stream), a guided run read 120k-190k checked ops/s where
 * the same run in a clean heap read 230k: every major collection marked the
 * benchmark's data too.
 *
 * The worker's figure is CPU time over the process (user + system, garbage
 * collection included) while this thread waits in its event loop, which costs
 * nothing. One long run, measured over its second half in segments of `segment`
 * ops; the median segment's rate (a worker runs for minutes: its rate there is
 * what counts, and one busy moment of a shared machine does not make the figure).
 */
import { Worker } from "node:worker_threads";

export interface FuzzRateJob {
  kind: "blind" | "guided";
  seed: number;
  ops: number;
  segment: number;
}

/**
 * The worker: the bundled file beside this module's bundle, or, under tsx (the tests), the TypeScript source
 * imported once tsx's loader is registered in the worker (a worker does not inherit the loader, and Node 20 does
 * not apply `--import tsx` in a worker's execArgv).
 */
function startWorker(job: FuzzRateJob): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./fuzz-rate-worker.js", here), { workerData: job });
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const entry = JSON.stringify(new URL("./fuzz-rate-worker.ts", here).href);
  return new Worker(`import(${tsx}).then((m) => { m.register(); return import(${entry}); })`, { eval: true, workerData: job });
}

/** The median ns per checked op over the second half of one run of `job`, in a worker thread. */
export function fuzzNsPerOp(job: FuzzRateJob): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = startWorker(job);
    w.once("message", (m: { ns?: number; error?: string }) => {
      void w.terminate();
      if (m.error !== undefined) reject(new Error(`bench tiers: ${job.kind} fuzzing: ${m.error}`));
      else resolve(m.ns!);
    });
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`bench tiers: the ${job.kind} fuzzing worker exited (${code}) without a figure`)));
  });
}
