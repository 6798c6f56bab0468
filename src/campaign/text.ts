/**
 * A campaign report as text for people: totals, each violation with its seed
 * and the ops it took to find, the semantic coverage reached, the policy
 * decisions seen, and the lines of the policy module that never ran.
 */
import { summarize } from "../fuzz/coverage.js";
import { uncoveredLines } from "./policy-coverage.js";
import type { CampaignReport } from "./types.js";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** "1..4, 7, 9..10" */
export function seedRanges(seeds: readonly number[]): string {
  const parts: string[] = [];
  for (let k = 0; k < seeds.length; ) {
    let j = k;
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j] + 1) j++;
    parts.push(j === k ? `${seeds[k]}` : `${seeds[k]}..${seeds[j]}`);
    k = j + 1;
  }
  return parts.join(", ");
}

/** The coverage part of a report: keys, keys per op, the policy's decisions and its never-run lines. */
export function coverageText(coverage: CampaignReport["coverage"], policyCoverage: CampaignReport["policyCoverage"], policyName: string): string[] {
  const s = summarize(coverage);
  const out = [`coverage: ${fmt(s.keys)} semantic keys (op x result x rule x policy decision x window edge)`];
  out.push(`  keys per op: ${s.perOp.map(([op, n]) => `${op} ${n}`).join(", ")}`);
  out.push(`  policy decisions reached (with the ops that asked):`);
  for (const [d, n] of s.decisions) out.push(`    ${fmt(n).padStart(9)}  ${d}`);
  if (policyCoverage) {
    const lines = uncoveredLines(policyCoverage.source, policyCoverage.uncovered);
    out.push(lines.length ? `  never run in ${policyCoverage.file} (V8 block coverage), ${lines.length} line(s):` : `  every branch of ${policyCoverage.file} ran (V8 block coverage)`);
    for (const l of lines) out.push(`    ${l}`);
  } else out.push(`  (policy "${policyName}" is built in: V8 coverage is reported for a --policy module)`);
  return out;
}

export function reportText(r: CampaignReport, o: { partial?: boolean } = {}): string[] {
  const out: string[] = [];
  const mode = r.guided ? "coverage-guided" : "blind";
  out.push(`campaign ${r.campaign}${o.partial ? " (partial: shards still running)" : ""}: policy ${r.policy}, kernel ${r.kernel}${r.design ? `, design ${r.design}` : ""}, ${mode}, ${fmt(r.opsPerSeed)} ops per seed`);
  out.push(`seeds ${seedRanges(r.seeds) || "none"}: ${fmt(r.ops)} checked ops in ${fmt(r.traces)} traces; ${r.violations.length} seed(s) found a violation`);
  for (const v of r.violations) {
    out.push(`  seed ${v.seed}: ${v.kind} after ${fmt(v.ops)} ops, shrunk from ${v.originalLength} to ${v.trace.length} ops: ${v.detail}`);
  }
  out.push(...coverageText(r.coverage, r.policyCoverage, r.policy));
  return out;
}
