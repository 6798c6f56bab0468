/** The benchmarks' entry, bundled apart from the CLI (build/bench/bench.js): see src/cli/bench.ts. */
export { runBench } from "./workloads.js";
export { runMicro } from "./micro.js";
export { runScale } from "./scale.js";

/** gmemsim bench --check [--json] [--quick]: what checking costs (bench/check.ts measures, this prints). */
export async function runCheck(o: { json?: boolean; quick?: boolean }): Promise<number> {
  const { measureCheck, checkBenchLines } = await import("./check.js");
  const b = measureCheck(o.quick === true);
  console.log(o.json ? JSON.stringify(b) : checkBenchLines(b).join("\n"));
  return 0;
}
