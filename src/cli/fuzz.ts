/**
 * gmemsim fuzz [--against reference|kernel] [--seed N] [--ops N | --seconds S]
 *              [--workers N] [--policy FILE] [--kernel VERSION[+OPTION...]] [--out DIR] [--blind]
 *              [--mix MIX] (--against kernel)
 * gmemsim fuzz --seeds A..B [--shard K] [--campaign NAME] [--report FILE] [--json] ...
 * gmemsim fuzz --queue redis://HOST:PORT --campaign NAME --seeds A..B ...
 * gmemsim fuzz --compare [--policy FILE ...] [--seeds A..B] [--ops N]
 *
 * --against reference (the default): random traces over every operation of
 * SPEC §2 run on the engine and the reference model side by side; every op's
 * answers must agree, and after every op the engine invariants, the security
 * properties and the policy's own properties must hold (./check.ts). Traces are
 * coverage-guided (./guided.ts): fresh ones and mutants of those that reached
 * something new; --blind generates fresh ones only. Worker threads run
 * independent seeds (seed, seed + 1, ...) and their totals are summed. The run
 * ends with the semantic coverage reached and the policy module's lines that
 * never ran.
 * --seeds (or --report, or --campaign): a campaign of shards, one seed run each
 * (src/campaign): run here and merged, or with --queue enqueued for gmemsim
 * worker processes.
 * --compare: ops to detection guided against blind on the shipped flawed policies.
 * --against kernel: random traces of the upstream ops on the engine and on the
 * live kernel through the oracle (./kernel.ts).
 *
 * The first failure is shrunk to the fewest ops that still show it and written
 * as a replayable trace, with a paragraph that says what broke.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { die } from "./args.js";
import { Progress, redraw } from "./progress.js";
import { mergeReports } from "../campaign/merge.js";
import { intersectRanges, startPolicyCoverage, takePolicyCoverage } from "../campaign/policy-coverage.js";
import { checkCampaignName, enqueueCampaign, shardsOf } from "../campaign/queue.js";
import { policySource, runShard } from "../campaign/shard.js";
import { coverageText, reportText } from "../campaign/text.js";
import { runShardInThread } from "../campaign/thread.js";
import type { CampaignReport, ShardSpec } from "../campaign/types.js";
import { LIVE_PROFILE } from "../kvm/profile.js";
import { designByName } from "../kvm/design.js";
import { defaultPolicyFor } from "../kvm/host.js";
import { loadPolicy } from "../policy/load.js";
import { explain, type TraceFailure } from "../fuzz/check.js";
import { compareGuidance, medianOps } from "../fuzz/compare.js";
import { guidedRun, type GuidedReport } from "../fuzz/guided.js";

const USAGE =
  "gmemsim fuzz [--against reference|kernel] [--seed N] [--ops N | --seconds S] [--workers N] [--policy FILE] [--kernel VERSION[+OPTION...]] [--out DIR] [--blind] [--design vm|system|system+implicit] [--mix MIX]\n" +
  "       gmemsim fuzz --seeds A..B [--shard K] [--campaign NAME] [--report FILE] [--json] [--queue redis://HOST:PORT] [--ops N] [--policy FILE] [--kernel P] [--workers N]\n" +
  "       gmemsim fuzz --compare [--policy FILE ...] [--seeds A..B] [--ops N] [--json]";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");


/** The worker entry: the bundled file next to the CLI, or the TypeScript source under tsx. */
function workerUrl(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  return here.endsWith(".ts") ? { url: new URL("../fuzz/worker.ts", here), execArgv: ["--import", "tsx"] } : { url: new URL("./fuzz-worker.js", here), execArgv: [] };
}

/** What one run (a thread's, or the sum of the threads') comes back with. */
interface ThreadReport {
  ops: number;
  traces: number;
  failure?: GuidedReport["failure"];
  coverage: Array<[string, number]>;
  /** The policy module's never-run ranges, or null without a --policy module. */
  uncovered: Array<[number, number]> | null;
}

async function inWorkers(n: number, base: { seed: number; ops: number; deadline?: number; kernel: string; policyFile?: string; guide: boolean; design?: string }, progress: Progress): Promise<ThreadReport> {
  const { url, execArgv } = workerUrl();
  const per = Math.ceil(base.ops / n);
  const live = new Map<number, { ops: number; traces: number }>();
  const workers: Worker[] = [];
  const reports = await new Promise<ThreadReport[]>((resolve, reject) => {
    const done: ThreadReport[] = [];
    for (let w = 0; w < n; w++) {
      const worker = new Worker(url, { execArgv, workerData: { ...base, seed: base.seed + w, ops: per, t0: Date.now() } });
      workers.push(worker);
      worker.on("message", (m: { kind: string; ops: number; traces: number; report: ThreadReport }) => {
        if (m.kind === "progress") {
          live.set(w, m);
          const sum = [...live.values()].reduce((a, b) => ({ ops: a.ops + b.ops, traces: a.traces + b.traces }), { ops: 0, traces: 0 });
          progress.update(sum.ops, sum.traces);
          return;
        }
        done.push(m.report);
        live.set(w, { ops: m.report.ops, traces: m.report.traces });
        // The first failure ends the run: the others' work would only be discarded.
        if (m.report.failure) {
          for (const o of workers) if (o !== worker) void o.terminate();
          resolve([m.report, ...done.filter((r) => r !== m.report)]);
        } else if (done.length === n) resolve(done);
      });
      worker.on("error", reject);
    }
  });
  for (const w of workers) void w.terminate();
  const failed = reports.find((r) => r.failure);
  const ops = [...live.values()].reduce((a, b) => a + b.ops, 0);
  const traces = [...live.values()].reduce((a, b) => a + b.traces, 0);
  const counts = new Map<string, number>();
  for (const r of reports) for (const [k, c] of r.coverage) counts.set(k, (counts.get(k) ?? 0) + c);
  const withRanges = reports.filter((r) => r.uncovered);
  const uncovered = withRanges.length ? withRanges.map((r) => r.uncovered!).reduce(intersectRanges) : null;
  return { ops, traces, failure: failed?.failure, coverage: [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1)), uncovered };
}

/** The options as the declaration (./commands.ts) read and checked them, one by one. */
export interface FuzzOptions {
  against: "reference" | "kernel";
  seed?: number;
  ops?: number;
  seconds?: number;
  workers: number;
  policy?: string[];
  kernel: string;
  out: string;
  blind?: boolean;
  mix: string;
  design: string;
  compare?: boolean;
  seeds?: [number, number];
  shard?: number;
  campaign?: string;
  queue?: string;
  report?: string;
  json?: boolean;
}

/**
 * gmemsim fuzz: which run the flags ask for. Each flag's value is checked by
 * its reader in ./commands.ts; the rules here are those that join several flags.
 */
export async function fuzzCommand(values: FuzzOptions): Promise<number> {
  const kernel = values.kernel;
  // The design (SPEC §2.3): the system design's runs use its own traces, in one process or its threads.
  const design = values.design;
  if (design !== "vm" && (values.against === "kernel" || values.compare))
    die(`--design ${design} applies to runs against the reference model and their campaigns (the live kernel and --compare run the vm design)\nusage: ${USAGE}`);
  const policies = values.policy ?? [];
  if (values.compare) {
    for (const k of ["seed", "seconds", "queue", "campaign", "report", "shard"] as const) if (values[k] !== undefined) die(`--compare takes --policy, --seeds, --ops, --kernel and --json, not --${k}\nusage: ${USAGE}`);
    return compareRun({ policyFiles: policies, seeds: values.seeds ?? [1, 5], ops: values.ops ?? 50_000, kernel, json: values.json === true });
  }
  if (policies.length > 1) die(`--policy is given once (several only with --compare)\nusage: ${USAGE}`);
  const policyFile = policies[0];
  const campaignMode = values.queue !== undefined || values.seeds !== undefined || values.report !== undefined || values.campaign !== undefined;
  if (values.mix !== "default" && values.against !== "kernel")
    die(`--mix ${values.mix} applies to --against kernel: runs against the reference model draw from every op and are guided by coverage\nusage: ${USAGE}`);
  if (values.against === "kernel") {
    if (policyFile !== undefined) die("--policy applies to --against reference: the live kernel has no inode/file design to put a policy on");
    if (campaignMode || values.blind) die("--queue, --seeds, --campaign, --report and --blind apply to --against reference");
    // Only the build the live kernel is can agree with it op by op.
    if (kernel !== LIVE_PROFILE) die(`--against kernel compares with the live kernel, which is the ${LIVE_PROFILE} build: --kernel ${kernel} would differ by design (fuzz that profile against the reference model)\nusage: ${USAGE}`);
    return kernelFuzz({ seed: values.seed ?? Date.now() % 2 ** 31, ops: values.ops ?? 100_000, kernel, out: values.out, mix: values.mix });
  }
  // Guidance mutates toward the inode/file design's windows and links; on the system design it found the naive
  // bind policy's flaw later than blind runs (seeds 1..3: 20,303 / 10,734 / 28,925 ops against 1,267 / 10,773 /
  // 3,177), so system-design runs are blind (the same loop, coverage still counted).
  const guide = values.blind !== true && design === "vm";
  if (campaignMode) {
    if (values.seconds !== undefined) die(`a campaign's shards have an op budget, not a time budget: --seconds does not apply with --seeds, --queue or --report\nusage: ${USAGE}`);
    if (values.seed !== undefined && values.seeds !== undefined) die(`give --seed N or --seeds A..B, not both\nusage: ${USAGE}`);
    const seeds: [number, number] = values.seeds ?? (values.seed !== undefined ? [values.seed, values.seed] : die(`a campaign needs --seeds A..B (or --seed N)\nusage: ${USAGE}`));
    if (values.queue !== undefined && values.campaign === undefined) die(`--queue needs --campaign NAME: the campaign's name is how workers, status and report find it\nusage: ${USAGE}`);
    const name = values.campaign ?? "fuzz";
    try {
      checkCampaignName(name);
    } catch (e) {
      die((e as Error).message);
    }
    const base = { campaign: name, ops: values.ops ?? 100_000, kernel, guide, ...(design !== "vm" ? { design } : {}), ...(policyFile ? { policy: policySource(policyFile) } : {}) };
    const shards = shardsOf(base, seeds[0], seeds[1], values.shard ?? 1);
    if (values.queue !== undefined) {
      if (values.report !== undefined) die("--report writes a local run's report; a queued campaign's is read with gmemsim campaign report NAME");
      try {
        const r = await enqueueCampaign(values.queue, shards);
        console.log(`campaign ${r.campaign}: ${r.shards} shard(s) (seeds ${seeds[0]}..${seeds[1]}, ${fmt(base.ops)} ops per seed) enqueued on ${values.queue}.`);
        console.log(`Run workers with: gmemsim worker --queue ${values.queue}   (any number, on any machine)`);
        console.log(`Follow it with:   gmemsim campaign status ${r.campaign} --queue ${values.queue}`);
        return 0;
      } catch (e) {
        die((e as Error).message);
      }
    }
    return localCampaign(shards, { workers: values.workers, report: values.report, json: values.json === true, out: values.out });
  }
  if (values.json) die(`--json applies to --seeds, --report and --compare runs\nusage: ${USAGE}`);
  const seed = values.seed ?? Date.now() % 2 ** 31;
  const seconds = values.seconds;
  const budget = values.ops ?? (seconds !== undefined ? Infinity : 100_000);
  const workers = values.workers;
  let policy;
  const policyUrl = policyFile ? pathToFileURL(resolve(policyFile)).href : "";
  try {
    // Counted from the module's first call: V8 coverage of the policy starts before it loads.
    if (policyFile && workers === 1) await startPolicyCoverage();
    policy = policyFile ? await loadPolicy(policyFile) : undefined;
  } catch (e) {
    die(`cannot load the policy: ${(e as Error).message}`);
  }
  const policyName = (policy ?? defaultPolicyFor(designByName(design))).name;
  const progress = new Progress(`fuzz (seed ${seed}${design === "vm" ? "" : `, design ${design}`}, policy ${policyName}, ${guide ? "guided" : "blind"}, ${workers} worker${workers > 1 ? "s" : ""})`, budget, seconds);
  const deadline = seconds !== undefined ? Date.now() + seconds * 1000 : undefined;
  let report: ThreadReport;
  if (workers === 1) {
    const r = guidedRun({ seed, ops: budget, guide, deadline: deadline === undefined ? undefined : performance.now() + seconds! * 1000, kernel, policy, design, onProgress: (p) => progress.update(p.ops, p.traces) });
    report = { ops: r.ops, traces: r.traces, failure: r.failure, coverage: r.coverage.toJSON(), uncovered: policyFile ? await takePolicyCoverage(policyUrl) : null };
  } else report = await inWorkers(workers, { seed, ops: budget, deadline, kernel, policyFile, guide, design }, progress);
  progress.update(report.ops, report.traces, true);
  const rate = report.ops / Math.max(progress.elapsed, 1e-9);
  const coverage = coverageText(report.coverage, report.uncovered && policyFile ? { file: policyFile, source: readFileSync(policyFile, "utf8"), uncovered: report.uncovered } : null, policyName);
  if (!report.failure) {
    console.log(`fuzz: no divergence, no engine invariant and no security property failed in ${fmt(report.ops)} checked ops (${fmt(report.traces)} traces; seed ${seed}${design === "vm" ? "" : `, design ${design}`}, policy ${policyName}); ${fmt(rate)} checked ops/s, ${fmt(rate / workers)} per worker`);
    if (coverage.length) console.log(coverage.join("\n"));
    return 0;
  }
  const { trace, failure, originalLength } = report.failure;
  const outDir = values.out;
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `fuzz-${seed}.jsonl`);
  const paragraph = explain(failure as TraceFailure, policyName);
  // The trace names its kernel profile and design itself, so that replay needs neither on its command line.
  const k = (kernel === LIVE_PROFILE ? "" : ` --kernel ${kernel}`) + (design === "vm" ? "" : ` --design ${design}`);
  const header = [`# gmemsim fuzz --seed ${seed}${k}${policyFile ? ` --policy ${policyFile}` : ""}${guide ? "" : " --blind"}: a ${originalLength}-op trace, shrunk to these ${trace.length}.`, `# ${paragraph}`];
  if (k) header.push(`# replay-args:${k}`);
  writeFileSync(file, [...header, ...trace.map((op) => JSON.stringify(op))].join("\n") + "\n");
  console.log(`fuzz: FAILED after ${fmt(report.ops)} ops (seed ${seed}). Shrunk from ${originalLength} to ${trace.length} ops, written to ${file}.`);
  console.log(paragraph);
  console.log(`Replay it with: gmemsim replay ${file} --check${policyFile ? ` --policy ${policyFile}` : ""} (and --engine reference to compare the cores).`);
  if (coverage.length) console.log(coverage.join("\n"));
  return 1;
}

/**
 * A campaign on this machine: the same shards a queue would get, run here (in
 * worker threads when --workers > 1), merged into one report. With --report
 * the report is also written as JSON (what gmemsim campaign merge combines).
 */
async function localCampaign(shards: ShardSpec[], o: { workers: number; report?: string; json: boolean; out: string }): Promise<number> {
  const reports: CampaignReport[] = new Array(shards.length);
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const lane = async () => {
    for (let k = next++; k < shards.length; k = next++) {
      reports[k] = o.workers > 1 ? await runShardInThread(shards[k]) : await runShard(shards[k]);
      done++;
      process.stderr.write(`fuzz: seeds ${shards[k].seeds[0]}..${shards[k].seeds[1]} done (${done}/${shards.length} shards), ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.workers, shards.length) }, lane));
  const merged = mergeReports(reports);
  if (o.report) {
    mkdirSync(dirname(resolve(o.report)), { recursive: true });
    writeFileSync(o.report, JSON.stringify(merged) + "\n");
  }
  const files = writeRepros(merged, o.out);
  if (o.json) console.log(JSON.stringify(merged));
  else {
    console.log(reportText(merged).join("\n"));
    if (files.length) console.log(`repro files: ${files.join(", ")}`);
    if (o.report) console.log(`report written to ${o.report}`);
  }
  return merged.violations.length ? 1 : 0;
}

/** Each violation's repro file, in dir: fuzz-SEED.jsonl. */
export function writeRepros(r: CampaignReport, dir: string): string[] {
  if (!r.violations.length) return [];
  mkdirSync(dir, { recursive: true });
  return r.violations.map((v) => {
    const file = join(dir, `fuzz-${v.seed}.jsonl`);
    writeFileSync(file, v.repro);
    return file;
  });
}

/** The shipped flawed example policies (examples/policies/flawed*.mjs), from the package root. */
function shippedFlawed(): string[] {
  const dir = fileURLToPath(new URL("../../examples/policies/", import.meta.url));
  return readdirSync(dir)
    .filter((f) => /^flawed.*\.mjs$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

async function compareRun(o: { policyFiles: string[]; seeds: [number, number]; ops: number; kernel: string; json: boolean }): Promise<number> {
  const files = o.policyFiles.length ? o.policyFiles : shippedFlawed();
  const policies = [];
  for (const f of files) {
    try {
      policies.push(await loadPolicy(f));
    } catch (e) {
      die(`cannot load the policy: ${(e as Error).message}`);
    }
  }
  const seeds = Array.from({ length: o.seeds[1] - o.seeds[0] + 1 }, (_, k) => o.seeds[0] + k);
  const cell = (n: number | null) => (n === null ? `> ${fmt(o.ops)}` : fmt(n));
  if (!o.json) console.log(`ops to detection, coverage-guided vs blind (same loop, mutation off), ${fmt(o.ops)} ops per run, seeds ${o.seeds[0]}..${o.seeds[1]}:\n${"policy".padEnd(28)} ${"seed".padStart(4)} ${"guided".padStart(10)} ${"blind".padStart(10)} ${"shrunk".padStart(6)}`);
  const rows = compareGuidance(policies, seeds, o.ops, o.kernel, (r) => {
    if (!o.json) console.log(`${r.policy.padEnd(28)} ${String(r.seed).padStart(4)} ${cell(r.guided).padStart(10)} ${cell(r.blind).padStart(10)} ${String(r.shrunk ?? "-").padStart(6)}`);
  });
  const summary = policies.map((p) => {
    const mine = rows.filter((r) => r.policy === p.name);
    return {
      policy: p.name,
      caughtGuided: mine.filter((r) => r.guided !== null).length,
      caughtBlind: mine.filter((r) => r.blind !== null).length,
      medianGuided: medianOps(mine.map((r) => r.guided), o.ops),
      medianBlind: medianOps(mine.map((r) => r.blind), o.ops),
    };
  });
  if (o.json) console.log(JSON.stringify({ ops: o.ops, seeds, rows, summary }));
  else {
    console.log(`median ops to detection (a seed not caught counts as ${fmt(o.ops)}):`);
    for (const s of summary)
      console.log(`  ${s.policy.padEnd(28)} guided ${fmt(s.medianGuided).padStart(8)} (caught ${s.caughtGuided}/${seeds.length}), blind ${fmt(s.medianBlind).padStart(8)} (caught ${s.caughtBlind}/${seeds.length}): ${(s.medianBlind / Math.max(1, s.medianGuided)).toFixed(1)}x`);
  }
  return 0;
}

/**
 * --against kernel: exit 0 when every op agreed, 1 on a divergence (the shrunk
 * trace written to outDir), 3 when the kernel cannot be used here.
 */
async function kernelFuzz(o: { seed: number; ops: number; kernel: string; out: string; mix: string }): Promise<number> {
  const { kernelAvailability } = await import("../oracle/driver.js");
  const { runKernelFuzz, explainDivergence, divergenceFile, OracleRunError, traceText } = await import("../fuzz/kernel.js");
  const avail = kernelAvailability();
  if (!avail.ok) die(`fuzz --against kernel needs the live kernel, which is not available here: ${avail.reason}`, 3);
  const tty = process.stderr.isTTY;
  let lastReport = 0;
  const fmt = (n: number) => n.toLocaleString("en-US");
  const mixNote = o.mix === "default" ? "" : `, mix ${o.mix}`;
  const mixFlag = o.mix === "default" ? "" : ` --mix ${o.mix}`;
  const line = (p: { ops: number; traces: number; compared: number; seconds: number }) =>
    `fuzz --against kernel: seed ${o.seed}${mixNote}: ${fmt(p.ops)} ops in ${fmt(p.traces)} traces (${fmt(p.compared)} compared with the kernel), ${fmt(Math.round(p.ops / Math.max(p.seconds, 1e-9)))} ops/s`;
  let report;
  try {
    report = await runKernelFuzz({
      seed: o.seed,
      ops: o.ops,
      kernel: o.kernel,
      mix: o.mix,
      onProgress: (p) => {
        const now = performance.now();
        if (!tty && now - lastReport < 5000) return;
        lastReport = now;
        process.stderr.write(tty ? redraw(line(p)) : `${line(p)}\n`);
      },
      onShrinkStart: (f) => {
        process.stderr.write(`${tty ? "\n" : ""}fuzz --against kernel: trace ${f.traceIndex} (${f.ops} ops) diverges at op ${f.divergence.index}; shrinking it on the kernel...\n`);
      },
    });
  } catch (e) {
    if (e instanceof OracleRunError) {
      mkdirSync(o.out, { recursive: true });
      const file = join(o.out, `kernel-oracle-failure-${o.seed}.jsonl`);
      writeFileSync(file, traceText(e.trace as Record<string, unknown>[]));
      console.error(`gmemsim: the kernel oracle failed on a trace (written to ${file}): ${e.message}`);
      return 2;
    }
    throw e;
  }
  process.stderr.write(`${tty ? "\r" : ""}${line(report)}\n`);
  if (!report.failure) {
    console.log(
      `fuzz --against kernel: no divergence in ${fmt(report.ops)} ops (${fmt(report.compared)} compared with the kernel, ${fmt(report.traceErrors)} of them trace errors on both sides; ${fmt(report.unsupported)} unsupported) in ${fmt(report.traces)} traces, ${report.seconds.toFixed(1)} s (seed ${o.seed}${mixNote}, profile ${o.kernel})`,
    );
    return 0;
  }
  const f = report.failure;
  const paragraph = explainDivergence(f.divergence, o.kernel);
  mkdirSync(o.out, { recursive: true });
  const file = join(o.out, `kernel-fuzz-${o.seed}.jsonl`);
  const header = [
    `gmemsim fuzz --against kernel --seed ${o.seed}${mixFlag}${o.kernel === LIVE_PROFILE ? "" : ` --kernel ${o.kernel}`}: trace ${f.traceIndex} of the campaign (${f.originalLength} ops) diverged; fast-check shrank it to these ${f.trace.length} ops in ${f.shrinkSeconds.toFixed(1)} s.`,
    paragraph,
    `Each op up to the divergent one carries the kernel's answer as its expect.`,
  ];
  writeFileSync(file, divergenceFile(f.comparison, f.trace, header));
  const k = o.kernel === LIVE_PROFILE ? "" : ` --kernel ${o.kernel}`;
  console.log(`fuzz --against kernel: DIVERGENCE (seed ${o.seed}${mixNote}, after ${fmt(report.ops)} ops). Shrunk to ${f.trace.length} ops, written to ${file}.`);
  console.log(paragraph);
  console.log(`Replay it with: gmemsim replay ${file} --check${k} (the simulator), and gmemsim kernel ${file} (the kernel).`);
  return 1;
}
