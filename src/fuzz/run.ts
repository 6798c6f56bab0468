/**
 * One fuzzing run on one thread: random traces (seeded, in chunks so that a run
 * can stop at an op count or a deadline), each checked by checkTrace; the first
 * failing trace is shrunk by fast-check to the fewest ops that still fail the
 * same way. Same seed and budget, same run.
 */
import fc from "fast-check";
import type { Policy } from "../policy/types.js";
import { DEFAULT_SEQUENCE_WEIGHTS, runTraceArbitrary } from "./arbitraries.js";
import { checkTrace, type TraceFailure } from "./check.js";

export interface RunOptions {
  seed: number;
  /** Stop after this many ops (checked at trace boundaries). */
  ops: number;
  /** Or at this time (performance.now() ms), whichever comes first. */
  deadline?: number;
  kernel?: string;
  policy?: Policy;
  /** The design (SPEC §2.3): "vm" (default) or "system" / "system+implicit", with traces of its own ops. */
  design?: string;
  onProgress?: (p: { ops: number; traces: number }) => void;
}

export interface RunReport {
  ops: number;
  traces: number;
  failure?: { trace: Array<Record<string, unknown>>; failure: TraceFailure; originalLength: number };
}

const CHUNK = 64;

export function fuzzRun(o: RunOptions): RunReport {
  let ops = 0;
  let traces = 0;
  const opts = { kernel: o.kernel, policy: o.policy, design: o.design };
  const arb = runTraceArbitrary(o.design, o.kernel, DEFAULT_SEQUENCE_WEIGHTS);
  for (let chunk = 0; ops < o.ops && (o.deadline === undefined || performance.now() < o.deadline); chunk++) {
    let failedLength = 0;
    const result = fc.check(
      fc.property(arb, (trace) => {
        // Shrinking runs come after the first failure and are not counted.
        if (!failedLength) ops += trace.length;
        const f = checkTrace(trace, opts);
        if (f && !failedLength) failedLength = trace.length;
        return f === null;
      }),
      // A seed per chunk, derived from the run's: chunks are independent and reproducible.
      { seed: (Math.imul(o.seed, 0x9e3779b1) + chunk) | 0, numRuns: CHUNK, endOnFailure: false },
    );
    if (result.failed && result.counterexample) {
      const shrunk = result.counterexample[0] as Array<Record<string, unknown>>;
      const first = checkTrace(shrunk, opts);
      if (first) {
        const trace = dropOps(shrunk.slice(0, first.index + 1), first, opts);
        const failure = checkTrace(trace, opts)!;
        return { ops, traces: traces + result.numRuns, failure: { trace, failure, originalLength: failedLength } };
      }
    }
    traces += result.numRuns;
    o.onProgress?.({ ops, traces });
  }
  return { ops, traces };
}

/** The rule a failure names: its kind and the invariant or property number (or the divergence). */
function sameFailure(a: TraceFailure, b: TraceFailure | null): boolean {
  return b !== null && a.kind === b.kind && a.detail.split(" ")[0] === b.detail.split(" ")[0];
}

/**
 * After fast-check's shrinking (which keeps the setup's structure), drop single
 * ops while the same failure still shows, to a trace where every op matters.
 */
export function dropOps(trace: Array<Record<string, unknown>>, failure: TraceFailure, opts: { kernel?: string; policy?: Policy; design?: string }): Array<Record<string, unknown>> {
  let cur = trace;
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = cur.length - 1; k >= 0; k--) {
      const next = [...cur.slice(0, k), ...cur.slice(k + 1)];
      const f = checkTrace(next, opts);
      if (sameFailure(failure, f)) {
        cur = next.slice(0, f!.index + 1);
        changed = true;
      }
    }
  }
  return cur;
}
