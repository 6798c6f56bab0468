/**
 * gmemsim bench: the standard workloads (bench/workloads.ts); --micro, the
 * core's benchmark.js micro-suites (bench/micro.ts); --scale, the host growth
 * run with its SVG plot (bench/scale.ts).
 */
export async function benchCommand(argv: string[]): Promise<number> {
  if (argv.includes("--micro")) return (await import("../../bench/micro.js")).runMicro(argv);
  if (argv.includes("--check")) return (await import("../../bench/check.js")).runCheckBench(argv);
  if (argv.includes("--scale")) return (await import("../../bench/scale.js")).runScale(argv);
  return (await import("../../bench/workloads.js")).runBench(argv);
}
