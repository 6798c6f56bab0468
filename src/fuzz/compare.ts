/**
 * Ops to detection with and without guidance: for each policy and seed, the
 * same budget run coverage-guided and blind (./guided.ts, the same loop with
 * mutation off), counting the checked ops up to the first violation. Ops, not
 * seconds: the count does not depend on the machine or its load.
 */
import type { Policy } from "../policy/types.js";
import { guidedRun } from "./guided.js";

export interface CompareRow {
  policy: string;
  seed: number;
  /** Ops to the first violation, or null if none within the budget. */
  guided: number | null;
  blind: number | null;
  /** Length of the shrunk trace (guided run). */
  shrunk: number | null;
}

export function compareGuidance(policies: readonly Policy[], seeds: readonly number[], ops: number, kernel?: string, onRow?: (r: CompareRow) => void): CompareRow[] {
  const rows: CompareRow[] = [];
  for (const policy of policies) {
    for (const seed of seeds) {
      const g = guidedRun({ seed, ops, policy, kernel, guide: true });
      const b = guidedRun({ seed, ops, policy, kernel, guide: false, coverage: false });
      const row = { policy: policy.name, seed, guided: g.failure ? g.ops : null, blind: b.failure ? b.ops : null, shrunk: g.failure ? g.failure.trace.length : null };
      rows.push(row);
      onRow?.(row);
    }
  }
  return rows;
}

/** The median of the ops to detection, a seed not caught counting as the budget (so a lower bound). */
export function medianOps(xs: ReadonlyArray<number | null>, budget: number): number {
  const v = xs.map((x) => x ?? budget).sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
