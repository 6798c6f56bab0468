/**
 * Merging campaign reports (shards, or the report files of a Kubernetes
 * Indexed Job): totals summed, violations and seeds in seed order, coverage
 * counts summed per key, and the policy's never-run ranges intersected (a
 * branch counts as exercised if any shard ran it). Merging is order-free: the
 * same reports in any order give the same merged report.
 */
import { intersectRanges } from "./policy-coverage.js";
import { REPORT_FORMAT, type CampaignReport } from "./types.js";

/** Why a parsed JSON value is not a campaign report of this format (the fields merging relies on), or null. */
export function checkReport(r: unknown): string | null {
  if (!r || typeof r !== "object" || Array.isArray(r)) return "expected an object";
  const o = r as Record<string, unknown>;
  if (o.format !== REPORT_FORMAT) return `format is ${JSON.stringify(o.format)}, expected "${REPORT_FORMAT}"`;
  for (const k of ["campaign", "kernel", "policy"]) if (typeof o[k] !== "string") return `${k} must be a string`;
  if (o.design !== undefined && typeof o.design !== "string") return "design must be a string when given";
  for (const k of ["opsPerSeed", "ops", "traces"]) if (!Number.isSafeInteger(o[k])) return `${k} must be a whole number`;
  if (typeof o.guided !== "boolean") return "guided must be true or false";
  if (!Array.isArray(o.seeds) || !o.seeds.every(Number.isSafeInteger)) return "seeds must be a list of whole numbers";
  if (!Array.isArray(o.violations)) return "violations must be a list";
  if (!Array.isArray(o.coverage) || !o.coverage.every((c) => Array.isArray(c) && typeof c[0] === "string" && Number.isSafeInteger(c[1]))) return "coverage must be a list of [key, count]";
  if (o.policyCoverage !== null && (typeof o.policyCoverage !== "object" || !Array.isArray((o.policyCoverage as { uncovered?: unknown }).uncovered))) return "policyCoverage must be null or {file, source, uncovered}";
  return null;
}

/** Why two reports cannot be merged (they belong to different campaigns), or null. */
function mismatch(a: CampaignReport, b: CampaignReport): string | null {
  for (const k of ["format", "campaign", "kernel", "policy", "opsPerSeed", "guided"] as const) {
    if (a[k] !== b[k]) return `${k} differs (${JSON.stringify(a[k])} and ${JSON.stringify(b[k])})`;
  }
  if ((a.design ?? "vm") !== (b.design ?? "vm")) return `design differs (${a.design ?? "vm"} and ${b.design ?? "vm"})`;
  if ((a.policyCoverage?.source ?? null) !== (b.policyCoverage?.source ?? null)) return "the policy's source differs";
  return null;
}

export function mergeReports(reports: readonly CampaignReport[]): CampaignReport {
  if (!reports.length) throw new Error("no reports to merge");
  const first = reports[0];
  const seen = new Set<number>();
  const counts = new Map<string, number>();
  const out: CampaignReport = { ...first, seeds: [], ops: 0, traces: 0, violations: [], coverage: [], policyCoverage: first.policyCoverage ? { ...first.policyCoverage } : null };
  for (const r of reports) {
    const why = mismatch(first, r);
    if (why) throw new Error(`these reports are not of one campaign: ${why}`);
    for (const s of r.seeds) {
      if (seen.has(s)) throw new Error(`seed ${s} is in more than one report`);
      seen.add(s);
    }
    out.seeds.push(...r.seeds);
    out.ops += r.ops;
    out.traces += r.traces;
    out.violations.push(...r.violations);
    for (const [k, n] of r.coverage) counts.set(k, (counts.get(k) ?? 0) + n);
    if (out.policyCoverage && r.policyCoverage) out.policyCoverage.uncovered = intersectRanges(out.policyCoverage.uncovered, r.policyCoverage.uncovered);
  }
  out.seeds.sort((a, b) => a - b);
  out.violations.sort((a, b) => a.seed - b.seed);
  out.coverage = [...counts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}
