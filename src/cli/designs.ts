/**
 * gmemsim designs [--json] [--policy FILE]: the 2023 debate run both ways
 * (SPEC §2.3). Each scenario under the vm design and the system design: the
 * uAPI calls it takes, the properties that hold under each design's default
 * policy, and the shortest trace that breaks one under a naive policy (the
 * built-in "bind anywhere" one, or --policy FILE).
 */
import { compareDesigns, PROPERTIES, type Cell, type DesignsReport } from "../designs/compare.js";
import { loadPolicy } from "../policy/load.js";
import { die } from "./args.js";

function holds(c: Cell): string {
  const all = Object.keys(PROPERTIES).length;
  return c.holds.length === all ? `all ${all}` : c.holds.join(", ") || "none";
}

function breaks(c: Cell): string {
  if (!c.breaches.length) return "none found";
  return c.breaches.map((b) => `${b.property} ${b.name} (${b.trace.length} ops)`).join("; ");
}

/** The side-by-side table, as Markdown (it reads as well in a terminal as in the README). */
export function designsTable(r: DesignsReport): string {
  const policy = r.scenarios.flatMap((s) => Object.values(s.cells).flatMap((c) => c.breaches)).find(Boolean)?.policy ?? "naive";
  const rows = [
    `| scenario | design | uAPI calls | default policy: works, properties that hold | ${policy}: properties broken (shortest trace) |`,
    "| --- | --- | --- | --- | --- |",
  ];
  for (const s of r.scenarios) {
    for (const d of r.designs) {
      const c = s.cells[d];
      rows.push(`| ${d === r.designs[0] ? s.title : ""} | ${d} | ${c.calls.join(", ")} | ${c.works ? "yes" : "NO"}; ${holds(c)} | ${breaks(c)} |`);
    }
  }
  return rows.join("\n");
}

/** The options as ./commands.ts read and checked them. */
export interface DesignsOptions {
  json?: boolean;
  policy?: string;
}

export async function designsCommand(values: DesignsOptions): Promise<number> {
  let policy;
  if (values.policy !== undefined) {
    try {
      policy = await loadPolicy(values.policy);
    } catch (e) {
      die(`cannot load the policy: ${(e as Error).message}`);
    }
  }
  const report = compareDesigns(policy);
  if (values.json) {
    console.log(JSON.stringify(report));
    return 0;
  }
  console.log(`gmemsim designs: the same scenarios under the vm design (create_guest_memfd, gmem_link) and the system design (create_guest_memfd_system, gmem_bind),`);
  console.log(`confidential (sw_protected) VMs under kernel profile ${report.kernel}; properties (SPEC §4): ${Object.entries(PROPERTIES).map(([n, name]) => `${n} ${name}`).join(", ")}.\n`);
  console.log(designsTable(report));
  console.log(`\nShortest breaking traces (each names its kernel and design: replay one with gmemsim replay FILE --check --policy examples/policies/naive-bind.mjs):`);
  for (const s of report.scenarios) {
    for (const d of report.designs) {
      for (const b of s.cells[d].breaches) {
        console.log(`\n# ${s.title}, ${d} design: ${b.detail}`);
        console.log(`# replay-args: --kernel ${report.kernel} --design ${d}`);
        for (const op of b.trace) console.log(JSON.stringify(op));
      }
    }
  }
  return 0;
}
