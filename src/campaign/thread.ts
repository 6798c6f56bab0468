/**
 * Running a shard in a worker thread: the caller's event loop stays free while
 * the shard computes (a BullMQ worker must keep renewing its job's lock), and a
 * process can run several shards at once. The thread is the fuzzing worker
 * entry (src/fuzz/worker.ts), as bundled next to the CLI or as TypeScript
 * source under tsx.
 */
import { Worker } from "node:worker_threads";
import type { CampaignReport, ShardSpec } from "./types.js";

export function workerEntry(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  return here.endsWith(".ts") ? { url: new URL("../fuzz/worker.ts", here), execArgv: ["--import", "tsx"] } : { url: new URL("./fuzz-worker.js", here), execArgv: [] };
}

export function runShardInThread(spec: ShardSpec): Promise<CampaignReport> {
  const { url, execArgv } = workerEntry();
  return new Promise((resolve, reject) => {
    const w = new Worker(url, { execArgv, workerData: { kind: "shard", spec } });
    let settled = false;
    w.on("message", (m: { kind: string; report?: CampaignReport; error?: string }) => {
      if (m.kind === "shard-done") {
        settled = true;
        resolve(m.report!);
      } else if (m.kind === "shard-error") {
        settled = true;
        reject(new Error(m.error));
      }
    });
    w.on("error", (e) => {
      settled = true;
      reject(e);
    });
    w.on("exit", (code) => {
      if (!settled) reject(new Error(`the shard's thread exited with code ${code} before reporting`));
    });
  });
}
