/**
 * gmemsim bench: the standard workloads (bench/workloads.ts); --micro, the
 * core's benchmark.js micro-suites (bench/micro.ts); --scale, the host growth
 * run with its SVG plot (bench/scale.ts); --check, what checking costs
 * (bench/check.ts).
 */
import { parse } from "./args.js";

export async function benchCommand(argv: string[]): Promise<number> {
  if (argv.includes("--micro")) return (await import("../../bench/micro.js")).runMicro(argv);
  if (argv.includes("--check")) return checkBench(argv);
  if (argv.includes("--scale")) return (await import("../../bench/scale.js")).runScale(argv);
  return (await import("../../bench/workloads.js")).runBench(argv);
}

/** gmemsim bench --check [--json] [--quick]: what checking costs (bench/check.ts measures, this prints). */
async function checkBench(argv: string[]): Promise<number> {
  const { values } = parse(argv, { check: { type: "boolean" }, json: { type: "boolean" }, quick: { type: "boolean" } }, "gmemsim bench --check [--json] [--quick]");
  const { measureCheck, checkBenchLines } = await import("../../bench/check.js");
  const b = measureCheck(values.quick === true);
  console.log(values.json ? JSON.stringify(b) : checkBenchLines(b).join("\n"));
  return 0;
}
