/**
 * Measurements that each take a heap of their own, run by bench --tiers in a
 * worker thread each: fuzzing's checked rate, as a `gmemsim fuzz` worker's
 * heap holds the fuzzer alone (a worker thread, src/fuzz/worker.ts, or with
 * one worker the CLI's process, which holds nothing else); the trace paths
 * (bench/trace-paths.ts) and `replay --check` against `replay`
 * (bench/check.ts), as a replaying process's heap holds its trace alone.
 * Measured in the benchmark's own thread, beside the other paths' inputs (the
 * JSONL traces, the op objects, the recorded command stream), every major
 * collection marked the benchmark's data too: three runs at b5ada7a read
 * guided fuzzing at 158k to 233k checked ops/s (README, bench --tiers).
 *
 * Times are CPU time over the process (user + system, garbage collection
 * included) or wall time, as each measurement takes them, while this thread
 * waits in its event loop, which costs nothing.
 */
import { Worker } from "node:worker_threads";
import type { CheckBench } from "./check.js";

/**
 * One long fuzzing run, measured over its second half in segments of `segment` ops: the median segment's ns per
 * checked op (a worker runs for minutes: its rate there is what counts, and one busy moment of a shared machine
 * does not make the figure).
 */
export interface FuzzJob {
  kind: "blind" | "guided";
  seed: number;
  ops: number;
  segment: number;
}

/** bench --check's measurements (measureCheck()). */
export interface CheckJob {
  kind: "check";
  quick: boolean;
}

/** The trace paths (measureTracePaths()). */
export interface TracesJob {
  kind: "traces";
  n: number;
  rounds: number;
}

export type CleanHeapJob = FuzzJob | CheckJob | TracesJob;

/**
 * The worker: the bundled file beside this module's bundle, or, under tsx (the tests), the TypeScript source
 * imported once tsx's loader is registered in the worker (a worker does not inherit the loader, and Node 20 does
 * not apply `--import tsx` in a worker's execArgv).
 */
function startWorker(job: CleanHeapJob): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./clean-heap-worker.js", here), { workerData: job });
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const entry = JSON.stringify(new URL("./clean-heap-worker.ts", here).href);
  return new Worker(`import(${tsx}).then((m) => { m.register(); return import(${entry}); })`, { eval: true, workerData: job });
}

function inWorker<T>(job: CleanHeapJob): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = startWorker(job);
    w.once("message", (m: { value?: T; error?: string }) => {
      void w.terminate();
      if (m.error !== undefined) reject(new Error(`bench tiers: ${job.kind} in its worker: ${m.error}`));
      else resolve(m.value!);
    });
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`bench tiers: the ${job.kind} worker exited (${code}) without its figures`)));
  });
}

/** The median ns per checked op over the second half of one fuzzing run, in a worker thread. */
export const fuzzNsPerOp = (job: FuzzJob) => inWorker<number>(job);

/** bench --check's figures, in a worker thread. */
export const checkInWorker = (quick: boolean) => inWorker<CheckBench>({ kind: "check", quick });

/** The trace paths' best times, in a worker thread. */
export const tracePathsInWorker = (n: number, rounds: number) => inWorker<Record<string, number>>({ kind: "traces", n, rounds });
