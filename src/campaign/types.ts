/**
 * The data of a fuzzing campaign: what a shard is asked to do, and the report
 * every shard, seed run and merge produces (one shape, so reports merge).
 */
import type { FailureKind } from "../fuzz/check.js";

/** The report format this version writes and merges. */
export const REPORT_FORMAT = "gmemsim-campaign/1";

export interface ShardSpec {
  /** The campaign's name (a queue's parent job, a report's title). */
  campaign: string;
  /** Seeds [first, last], inclusive. */
  seeds: [number, number];
  /** Op budget of each seed's run. */
  ops: number;
  /** Kernel profile name ("6.18", "7.2"). */
  kernel: string;
  /** Coverage-guided (true) or blind generation. */
  guide: boolean;
  /** The design (SPEC §2.3): absent for "vm", else "system" or "system+implicit". */
  design?: string;
  /** The policy module's path (for people) and its source (what runs). */
  policy?: { file: string; source: string };
}

/** One seed's first failure, shrunk. */
export interface Violation {
  seed: number;
  /** Ops checked up to and including the failing trace. */
  ops: number;
  kind: FailureKind;
  /** The failing op's index in the shrunk trace. */
  index: number;
  detail: string;
  originalLength: number;
  trace: Array<Record<string, unknown>>;
  /** The repro file's text: replayable with gmemsim replay --check. */
  repro: string;
}

export interface CampaignReport {
  format: string;
  campaign: string;
  kernel: string;
  /** The design, when not "vm" (reports without it are the vm design's). */
  design?: string;
  /** The policy's name. */
  policy: string;
  opsPerSeed: number;
  guided: boolean;
  /** The seeds run, ascending. */
  seeds: number[];
  ops: number;
  traces: number;
  /** By seed. */
  violations: Violation[];
  /** Semantic coverage keys (src/fuzz/coverage.ts) and how many ops reached each, sorted by key. */
  coverage: Array<[string, number]>;
  /** Character ranges of the policy module that never ran in any seed. */
  policyCoverage: { file: string; source: string; uncovered: Array<[number, number]> } | null;
}
