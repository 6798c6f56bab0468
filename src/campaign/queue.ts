/**
 * Campaigns over BullMQ (an optional dependency) and Redis: a campaign is a
 * BullMQ flow, one parent job (queue gmemsim-campaigns, id = the campaign's
 * name) whose children are the shards (queue gmemsim-shards). `gmemsim worker`
 * processes both queues: a shard runs in a worker thread (./thread.ts), so the
 * process's event loop stays free to renew the job's lock however long the
 * shard computes; the parent job runs once every shard is done and merges their
 * reports (./merge.ts) into its return value.
 *
 * A worker that dies mid-shard holds a lock that is no longer renewed: after
 * lockDuration BullMQ's stalled-job check puts the shard back in the queue and
 * another worker runs it again. Shards are deterministic, so the retried shard
 * reports exactly what the lost run would have. Redis must not evict keys
 * (maxmemory-policy noeviction), which the worker checks before it starts.
 */
import type { FlowProducer as FlowProducerT, Job, Queue as QueueT, Worker as WorkerT } from "bullmq";
import { mergeReports } from "./merge.js";
import { runShardInThread } from "./thread.js";
import type { CampaignReport, ShardSpec } from "./types.js";

export const SHARD_QUEUE = "gmemsim-shards";
export const CAMPAIGN_QUEUE = "gmemsim-campaigns";

type Bull = typeof import("bullmq");

async function bull(): Promise<Bull> {
  try {
    return await import("bullmq");
  } catch {
    throw new Error("campaigns over a queue need the optional dependency bullmq: npm install bullmq");
  }
}

/** Connection options from a redis://[:password@]host:port[/db] URL. */
export function redisOptions(url: string): { host: string; port: number; password?: string; db?: number; maxRetriesPerRequest: null } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue takes a URL redis://HOST:PORT, not "${url}"`);
  }
  if (u.protocol !== "redis:") throw new Error(`--queue takes a redis:// URL, not "${url}"`);
  const port = u.port ? Number(u.port) : 6379;
  const db = u.pathname && u.pathname !== "/" ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db)) throw new Error(`--queue: the database in "${url}" must be a number`);
  // Workers block on Redis between jobs: BullMQ requires unlimited retries per request.
  return { host: u.hostname, port, password: u.password ? decodeURIComponent(u.password) : undefined, db, maxRetriesPerRequest: null };
}

/** Waits until the queue's Redis connection is up; a sentence instead of endless reconnecting if it is not. */
async function reach(q: QueueT, url: string, ms = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cannot reach Redis at ${url} within ${ms / 1000} s (is redis-server running there?)`)), ms);
  });
  try {
    await Promise.race([q.waitUntilReady(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A campaign name is a job id: letters, digits, '.', '_' and '-'. */
export function checkCampaignName(name: string): void {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new Error(`--campaign takes a name of letters, digits, '.', '_' and '-' (at most 100), not "${name}"`);
}

const shardId = (campaign: string, s: ShardSpec) => `${campaign}-seeds-${s.seeds[0]}-${s.seeds[1]}`;

/** Splits seeds [first, last] into shards of `perShard` seeds. */
export function shardsOf(base: Omit<ShardSpec, "seeds">, first: number, last: number, perShard: number): ShardSpec[] {
  const out: ShardSpec[] = [];
  for (let a = first; a <= last; a += perShard) out.push({ ...base, seeds: [a, Math.min(last, a + perShard - 1)] });
  return out;
}

/** Enqueues a campaign as one flow; fails if a campaign of that name exists. */
export async function enqueueCampaign(url: string, shards: ShardSpec[]): Promise<{ campaign: string; shards: number }> {
  const { FlowProducer, Queue } = await bull();
  const connection = redisOptions(url);
  const campaign = shards[0].campaign;
  const parents: QueueT = new Queue(CAMPAIGN_QUEUE, { connection });
  const flow: FlowProducerT = new FlowProducer({ connection });
  try {
    await reach(parents, url);
    const existing = await parents.getJob(campaign);
    if (existing) throw new Error(`a campaign named "${campaign}" is already in the queue (${await existing.getState()}): pick another name`);
    await flow.add({
      name: "campaign",
      queueName: CAMPAIGN_QUEUE,
      data: { campaign, shards: shards.map((s) => s.seeds) },
      opts: { jobId: campaign },
      children: shards.map((s) => ({
        name: "shard",
        queueName: SHARD_QUEUE,
        data: s,
        // A shard that throws is tried again; one that fails for good fails the campaign.
        opts: { jobId: shardId(campaign, s), attempts: 3, backoff: { type: "fixed", delay: 1000 }, failParentOnFailure: true },
      })),
    });
    return { campaign, shards: shards.length };
  } finally {
    await flow.close();
    await parents.close();
  }
}

export interface WorkerOptions {
  queue: string;
  /** Shards run at once by this process (each in its own thread). */
  concurrency: number;
  /** How long a shard's lock lasts without renewal: how soon a dead worker's shard is retried. */
  lockMs: number;
  onEvent?: (text: string) => void;
}

/** Starts a worker on both queues; resolves with a function that closes it. */
export async function startWorker(o: WorkerOptions): Promise<() => Promise<void>> {
  const { Worker, Queue } = await bull();
  const connection = redisOptions(o.queue);
  const probe: QueueT = new Queue(SHARD_QUEUE, { connection });
  try {
    await reach(probe, o.queue);
    const client = (await probe.client) as unknown as { config(a: "GET", b: string): Promise<string[]> };
    const policy = (await client.config("GET", "maxmemory-policy"))[1];
    if (policy !== "noeviction") throw new Error(`Redis at ${o.queue} has maxmemory-policy ${policy}; BullMQ needs noeviction (redis-server --maxmemory-policy noeviction)`);
  } finally {
    await probe.close();
  }
  const say = o.onEvent ?? (() => {});
  const shards: WorkerT = new Worker(
    SHARD_QUEUE,
    async (job: Job<ShardSpec>) => {
      say(`shard ${job.id}: started (attempt ${job.attemptsStarted})`);
      const report = await runShardInThread(job.data);
      say(`shard ${job.id}: done, ${report.ops} ops, ${report.violations.length} violation(s)`);
      return report;
    },
    // Stalled jobs are checked twice per lock period; a shard may stall (its worker die) several times and still finish.
    { connection, concurrency: o.concurrency, lockDuration: o.lockMs, stalledInterval: Math.max(500, Math.floor(o.lockMs / 2)), maxStalledCount: 10 },
  );
  const parents: WorkerT = new Worker(
    CAMPAIGN_QUEUE,
    async (job: Job) => {
      const values = await job.getChildrenValues<CampaignReport>();
      const merged = mergeReports(Object.values(values));
      say(`campaign ${job.id}: merged ${Object.keys(values).length} shards`);
      return merged;
    },
    { connection, lockDuration: o.lockMs, stalledInterval: Math.max(500, Math.floor(o.lockMs / 2)), maxStalledCount: 10 },
  );
  shards.on("failed", (job, err) => say(`shard ${job?.id}: failed: ${err.message}`));
  return async () => {
    await Promise.all([shards.close(), parents.close()]);
  };
}

export interface CampaignStatus {
  campaign: string;
  state: string;
  shards: { total: number; done: number; active: number; waiting: number; failed: number };
  /** Merged report of the shards done so far (the final one once the campaign completed). */
  report: CampaignReport | null;
  failures: string[];
}

/** Progress and the merged report so far. */
export async function campaignStatus(url: string, campaign: string): Promise<CampaignStatus> {
  const { Queue, Job: JobClass } = await bull();
  const connection = redisOptions(url);
  const parents: QueueT = new Queue(CAMPAIGN_QUEUE, { connection });
  const shardsQ: QueueT = new Queue(SHARD_QUEUE, { connection });
  try {
    await reach(parents, url);
    const parent = await parents.getJob(campaign);
    if (!parent) throw new Error(`no campaign named "${campaign}" in the queue at ${url}`);
    const state = await parent.getState();
    const specs = (parent.data as { shards: Array<[number, number]> }).shards;
    const counts = { total: specs.length, done: 0, active: 0, waiting: 0, failed: 0 };
    const done: CampaignReport[] = [];
    const failures: string[] = [];
    for (const seeds of specs) {
      const job = await JobClass.fromId(shardsQ, `${campaign}-seeds-${seeds[0]}-${seeds[1]}`);
      const s = job ? await job.getState() : "unknown";
      if (s === "completed") {
        counts.done++;
        done.push(job!.returnvalue as CampaignReport);
      } else if (s === "active") counts.active++;
      else if (s === "failed") {
        counts.failed++;
        failures.push(`seeds ${seeds[0]}..${seeds[1]}: ${job!.failedReason}`);
      } else counts.waiting++;
    }
    const report = state === "completed" ? (parent.returnvalue as CampaignReport) : done.length ? mergeReports(done) : null;
    return { campaign, state, shards: counts, report, failures };
  } finally {
    await shardsQ.close();
    await parents.close();
  }
}
