/** gmemsim bench: see bench/ for the workloads. */
export async function benchCommand(argv: string[]): Promise<number> {
  const { runBench } = await import("../../bench/workloads.js");
  return runBench(argv);
}
