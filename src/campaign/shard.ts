/**
 * A campaign's unit of work: a shard is a seed range [first, last] and an op
 * budget per seed, under one policy and kernel profile. Each seed is one
 * coverage-guided run (src/fuzz/guided.ts) that stops at its budget or at its
 * first failure; everything a shard reports is a function of its spec, so a
 * shard run twice (a retried job, another machine) reports the same.
 *
 * The policy travels as its source text, so that a worker on another machine
 * needs no copy of the file: it is written once to the temporary directory,
 * under a name made from its hash, and imported from there. A campaign's
 * policy module must therefore be self-contained (no relative imports).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { explain } from "../fuzz/check.js";
import { guidedRun } from "../fuzz/guided.js";
import { LIVE_PROFILE, profileByName } from "../kvm/profile.js";
import { designByName } from "../kvm/design.js";
import { defaultPolicyFor } from "../kvm/host.js";
import { loadPolicy } from "../policy/load.js";
import type { Policy } from "../policy/types.js";
import { startPolicyCoverage, takePolicyCoverage } from "./policy-coverage.js";
import { REPORT_FORMAT, type CampaignReport, type ShardSpec, type Violation } from "./types.js";

/** Reads a policy file into the form a shard carries. */
export function policySource(file: string): { file: string; source: string } {
  return { file, source: readFileSync(file, "utf8") };
}

/** The temporary copy of a policy's source that a shard imports (same source, same file). */
function materialize(source: string): string {
  const path = join(tmpdir(), `gmemsim-policy-${createHash("sha256").update(source).digest("hex").slice(0, 20)}.mjs`);
  if (!existsSync(path)) writeFileSync(path, source);
  return path;
}

/** Checks a shard spec: every field present, whole numbers where counts are meant, a known profile. */
export function validateSpec(spec: ShardSpec): string | null {
  const known = new Set(["campaign", "seeds", "ops", "kernel", "guide", "design", "policy"]);
  const extra = Object.keys(spec).filter((k) => !known.has(k));
  if (extra.length) return `unknown shard field ${extra.join(", ")}`;
  if (typeof spec.campaign !== "string" || !spec.campaign) return "campaign must be a non-empty name";
  if (!Array.isArray(spec.seeds) || spec.seeds.length !== 2 || !spec.seeds.every(Number.isSafeInteger) || spec.seeds[0] > spec.seeds[1]) return "seeds must be [first, last], whole numbers with first <= last";
  if (!Number.isSafeInteger(spec.ops) || spec.ops < 1) return "ops must be a whole number of at least 1";
  try {
    profileByName(spec.kernel);
  } catch (e) {
    return `kernel: ${(e as Error).message}`;
  }
  if (spec.design !== undefined) {
    try {
      designByName(spec.design);
    } catch (e) {
      return `design: ${(e as Error).message}`;
    }
  }
  if (spec.policy !== undefined && (typeof spec.policy.file !== "string" || typeof spec.policy.source !== "string")) return "policy must be {file, source}";
  return null;
}

/** The one-paragraph repro file of a violation, replayable with gmemsim replay --check. */
function reproText(v: Omit<Violation, "repro">, spec: ShardSpec, policyName: string): string {
  const p = spec.policy ? ` --policy ${spec.policy.file}` : "";
  // The trace names its kernel profile and design itself (# replay-args), so that replay needs only the policy.
  const k = (spec.kernel === LIVE_PROFILE ? "" : ` --kernel ${spec.kernel}`) + (spec.design && spec.design !== "vm" ? ` --design ${spec.design}` : "");
  const head = `# gmemsim fuzz --seed ${v.seed} --ops ${spec.ops}${p}${k}${spec.guide ? "" : " --blind"}: caught after ${v.ops} ops; a ${v.originalLength}-op trace, shrunk to these ${v.trace.length}.`;
  const paragraph = explain({ kind: v.kind, index: v.index, op: v.trace[v.index] ?? {}, detail: v.detail }, policyName);
  return [head, `# ${paragraph}`, ...(k ? [`# replay-args:${k}`] : []), ...v.trace.map((op) => JSON.stringify(op))].join("\n") + "\n";
}

/**
 * Runs a shard in this thread. With a policy, its module's V8 coverage is
 * taken over the shard (which of its branches never ran).
 */
export async function runShard(spec: ShardSpec, onSeed?: (seed: number, ops: number) => void): Promise<CampaignReport> {
  const bad = validateSpec(spec);
  if (bad) throw new Error(`invalid shard: ${bad}`);
  let policy: Policy | undefined;
  let url = "";
  if (spec.policy) {
    const path = materialize(spec.policy.source);
    url = pathToFileURL(path).href;
    await startPolicyCoverage();
    policy = await loadPolicy(path);
    // Counters start at this shard (taking coverage resets them).
    await takePolicyCoverage(url);
  }
  const name = (policy ?? defaultPolicyFor(designByName(spec.design ?? "vm"))).name;
  const report = emptyReport(spec, name);
  const counts = new Map<string, number>();
  for (let seed = spec.seeds[0]; seed <= spec.seeds[1]; seed++) {
    const r = guidedRun({ seed, ops: spec.ops, kernel: spec.kernel, policy, guide: spec.guide, design: spec.design });
    report.seeds.push(seed);
    report.ops += r.ops;
    report.traces += r.traces;
    for (const [k, n] of r.coverage.counts) counts.set(k, (counts.get(k) ?? 0) + n);
    if (r.failure) {
      const f = r.failure;
      // Reports are plain JSON data, as they travel through Redis and files (fast-check's records have no prototype).
      const trace = JSON.parse(JSON.stringify(f.trace)) as Violation["trace"];
      const v = { seed, ops: r.ops, kind: f.failure.kind, index: f.failure.index, detail: f.failure.detail, originalLength: f.originalLength, trace };
      report.violations.push({ ...v, repro: reproText(v, spec, name) });
    }
    onSeed?.(seed, r.ops);
  }
  report.coverage = [...counts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (spec.policy) report.policyCoverage = { file: spec.policy.file, source: spec.policy.source, uncovered: await takePolicyCoverage(url) };
  return report;
}

export function emptyReport(spec: Pick<ShardSpec, "campaign" | "kernel" | "ops" | "guide" | "design">, policy: string): CampaignReport {
  const design = spec.design && spec.design !== "vm" ? { design: spec.design } : {};
  return { format: REPORT_FORMAT, campaign: spec.campaign, kernel: spec.kernel, ...design, policy, opsPerSeed: spec.ops, guided: spec.guide, seeds: [], ops: 0, traces: 0, violations: [], coverage: [], policyCoverage: null };
}
