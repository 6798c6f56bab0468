/** gmemsim fuzz: random traces, engine against the reference model (or the kernel), invariants after every op. */
export async function fuzzCommand(argv: string[]): Promise<number> {
  const { runFuzz } = await import("../fuzz/campaign.js");
  return runFuzz(argv);
}
