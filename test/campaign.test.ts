/**
 * Fuzzing campaigns over BullMQ and Redis, for real: a campaign enqueued with
 * the CLI, three `gmemsim worker` processes, one of them killed (SIGKILL, its
 * threads with it) while it holds a shard. The campaign must still finish every
 * shard and report exactly what one process running the same shards reports:
 * the same seeds, totals, violations (shrunk traces included) and coverage.
 *
 * Needs a Redis server: GMEMSIM_REDIS_URL=redis://127.0.0.1:PORT (.ci/run
 * starts one with maxmemory-policy noeviction). Without it the test prints
 * "SKIPPED: campaign over Redis: ..." and is skipped, never passed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergeReports } from "../src/campaign/merge.js";
import { policySource, runShard } from "../src/campaign/shard.js";
import { shardsOf } from "../src/campaign/queue.js";
import type { CampaignReport } from "../src/campaign/types.js";

const url = process.env.GMEMSIM_REDIS_URL;
const POLICY = "examples/policies/flawed-window-end.mjs";
// Six seeds in shards of two; 6,000 ops per seed: seeds 2, 3, 5 and 6 catch the flaw, 1 and 4 run their whole budget.
const SEEDS = [1, 6] as const;
const OPS = 6000;

const cli = (args: string[]) => spawnSync(process.execPath, ["bin/gmemsim.js", ...args], { encoding: "utf8" });

/** Polls until `find` returns a value (or fails after ms, saying what it waited for). */
async function until<T>(what: string, find: () => T | null, ms: number): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const v = find();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

if (!url) {
  console.log("SKIPPED: campaign over Redis: GMEMSIM_REDIS_URL is not set (start redis-server --maxmemory-policy noeviction and set it to redis://127.0.0.1:PORT)");
  test.skip("a campaign over 3 worker processes, one killed mid-shard, finds exactly what one process finds", () => {});
} else {
  test("a campaign over 3 worker processes, one killed mid-shard, finds exactly what one process finds", async () => {
    const name = `test-${process.pid}-${Date.now()}`;
    const enq = cli(["fuzz", "--queue", url, "--campaign", name, "--seeds", `${SEEDS[0]}..${SEEDS[1]}`, "--shard", "2", "--ops", String(OPS), "--policy", POLICY]);
    assert.is(enq.status, 0, enq.stderr);
    assert.match(enq.stdout, /3 shard\(s\)/);

    const logs = [{ text: "" }, { text: "" }, { text: "" }];
    const workers = logs.map((log) => {
      const w = spawn(process.execPath, ["bin/gmemsim.js", "worker", "--queue", url, "--lock-seconds", "2"], { stdio: ["ignore", "pipe", "pipe"] });
      w.stdout!.setEncoding("utf8").on("data", (d: string) => (log.text += d));
      w.stderr!.setEncoding("utf8").on("data", (d: string) => (log.text += d));
      return w;
    });
    try {
      // The first worker to take a shard dies while computing it.
      const started = await until(
        "a worker to start a shard",
        () => {
          const k = logs.findIndex((l) => /shard \S+: started/.test(l.text));
          return k < 0 ? null : { k, shard: /shard (\S+): started/.exec(logs[k].text)![1] };
        },
        30_000,
      );
      workers[started.k].kill("SIGKILL");
      assert.not.match(logs[started.k].text, new RegExp(`shard ${started.shard}: done`), "the killed worker had not finished its shard");

      // The survivors finish every shard, the killed one's included, and merge them.
      let status = "";
      for (let t = 0; t < 100 && !/completed/.test(status); t++) {
        await new Promise((r) => setTimeout(r, 400));
        status = cli(["campaign", "status", name, "--queue", url]).stdout;
      }
      assert.match(status, /completed; shards: 3\/3 done, 0 running, 0 waiting, 0 failed/);
      // (Their output may still be in the pipes: the status checks above block this process.)
      const survivors = () => logs.filter((_, k) => k !== started.k).map((l) => l.text).join("");
      await until(`another worker to report the killed worker's shard done; their logs:\n${survivors()}`, () => (survivors().includes(`shard ${started.shard}: done`) ? true : null), 10_000);
      assert.match(survivors(), new RegExp(`shard ${started.shard}: started \\(attempt 2\\)`), "it was the shard's second attempt");

      const out = mkdtempSync(join(tmpdir(), "gmemsim-campaign-"));
      const rep = cli(["campaign", "report", name, "--queue", url, "--json", "--out", out]);
      assert.is(rep.status, 1, rep.stderr);
      const queued = JSON.parse(rep.stdout) as CampaignReport;

      // One process, the same shards.
      const base = { campaign: name, ops: OPS, kernel: "6.18", guide: true, policy: policySource(POLICY) };
      const local = mergeReports(await Promise.all(shardsOf(base, SEEDS[0], SEEDS[1], 2).map((s) => runShard(s))));
      assert.equal(queued.seeds, [1, 2, 3, 4, 5, 6], "no seed lost");
      assert.equal(queued, local);
      assert.ok(queued.violations.length >= 2, `the flawed policy is caught by several seeds (${queued.violations.map((v) => v.seed)})`);
      for (const v of queued.violations) assert.is(readFileSync(join(out, `fuzz-${v.seed}.jsonl`), "utf8"), v.repro);
    } finally {
      for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill("SIGTERM");
      await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null || w.signalCode !== null ? r(null) : w.once("exit", r)))));
    }
  });
}

test("a queue that cannot be reached is refused with a sentence, not endless reconnecting", () => {
  // Port 1 on the loopback: nothing listens there.
  const r = cli(["campaign", "status", "any", "--queue", "redis://127.0.0.1:1"]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 within 5 s/);
});

test.run();
