/** The benchmarks' entry, bundled apart from the CLI (build/bench/bench.js): see src/cli/bench.ts. */
export { runBench } from "./workloads.js";
export { runMicro } from "./micro.js";
export { runScale } from "./scale.js";

/** gmemsim bench --check [--json] [--quick]: what checking costs (bench/check.ts measures; the CLI prints this text). */
export async function checkText(o: { json?: boolean; quick?: boolean }): Promise<string> {
  const { measureCheck, checkBenchLines } = await import("./check.js");
  const b = measureCheck(o.quick === true);
  return o.json ? JSON.stringify(b) : checkBenchLines(b).join("\n");
}

/** gmemsim bench --probes [--json] [--quick]: traces that grow one kind of object 8x (bench/probes.ts). */
export async function probesText(o: { json?: boolean; quick?: boolean }): Promise<string> {
  const { measureProbes, probeLines } = await import("./probes.js");
  const rows = measureProbes(o.quick ? 100 : 1000, o.quick ? 1 : 3);
  return o.json ? JSON.stringify({ probes: rows }) : probeLines(rows).join("\n");
}
