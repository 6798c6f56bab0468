/** gmemsim fuzz: random traces, engine against the reference model (or the kernel), invariants after every op. */
export interface FuzzOptions {
  against: "reference" | "kernel";
  /** Default: from the clock. */
  seed?: number;
  ops?: number;
  seconds?: number;
  workers: number;
  policy?: string;
  kernel: string;
  /** Checked writable before the run starts (./flags.ts writableDir). */
  out: string;
}

export async function fuzzCommand(o: FuzzOptions): Promise<number> {
  const { runFuzz } = await import("../fuzz/campaign.js");
  return runFuzz(o);
}
