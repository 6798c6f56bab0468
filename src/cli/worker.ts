/**
 * gmemsim worker --queue redis://HOST:PORT [--concurrency N] [--lock-seconds S]
 *
 * Processes campaign shards from the queue until stopped (SIGINT or SIGTERM
 * finish the shards in hand' locks cleanly; a killed worker's shards are
 * retried elsewhere after the lock period). Run as many as you like, on as many
 * machines as you like: each is one process, each shard runs in a thread of it.
 */
import { die } from "./args.js";

/** The options as ./commands.ts read and checked them. */
export interface WorkerCommandOptions {
  queue: string;
  /** Shards processed at once (threads). */
  concurrency: number;
  /** Lock duration: how soon a dead worker's shard goes back to the queue. */
  lockSeconds: number;
}

export async function runWorker(o: WorkerCommandOptions): Promise<number> {
  const { startWorker } = await import("../campaign/queue.js");
  let close: () => Promise<void>;
  try {
    close = await startWorker({ queue: o.queue, concurrency: o.concurrency, lockMs: Math.round(o.lockSeconds * 1000), onEvent: (t) => console.log(`worker ${process.pid}: ${t}`) });
  } catch (e) {
    die((e as Error).message);
  }
  console.log(`worker ${process.pid}: waiting for shards on ${o.queue} (concurrency ${o.concurrency}, lock ${o.lockSeconds} s)`);
  await new Promise<void>((resolve) => {
    const stop = () => void close().then(resolve);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  console.log(`worker ${process.pid}: stopped`);
  return 0;
}
