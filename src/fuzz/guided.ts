/**
 * A coverage-guided fuzzing run on one thread: each trace is either fresh (the
 * generator of ./arbitraries.ts, seeded) or a mutant of a corpus trace
 * (./mutate.ts), checked by checkTrace like any other. A trace that reaches a
 * semantic coverage key no earlier trace reached (./coverage.ts) joins the
 * corpus. The first failing trace is cut after its failing op and shrunk by
 * dropping ops while the same rule still breaks (dropOps).
 *
 * With guide: false the same loop runs fresh traces only (blind), still
 * counting coverage, so the two can be compared op for op. Same seed, budget
 * and options: same run (no clock decides anything but a deadline).
 */
import fc from "fast-check";
import { runTraceArbitrary } from "./arbitraries.js";
import { checkTrace, type TraceFailure } from "./check.js";
import { Corpus } from "./corpus.js";
import { checkWithKeys, Coverage } from "./coverage.js";
import { mutate, rng, type Trace } from "./mutate.js";
import { dropOps, type RunOptions } from "./run.js";

export interface GuidedOptions extends Omit<RunOptions, "onProgress"> {
  /** Mutate corpus traces as well as generating fresh ones (default true). */
  guide?: boolean;
  /** Count semantic coverage (default true; guidance needs it). */
  coverage?: boolean;
  onProgress?: (p: { ops: number; traces: number; coverage: number; corpus: number }) => void;
}

export interface GuidedReport {
  ops: number;
  traces: number;
  /** Traces that were mutants of corpus traces. */
  mutants: number;
  corpus: number;
  coverage: Coverage;
  failure?: { trace: Trace; failure: TraceFailure; originalLength: number };
}

const CHUNK = 64;
/**
 * The share of traces that are mutants once the corpus has any: 0.7 found the
 * shipped flawed policies fastest over seeds 6..30 (against 0.5 and 0.85: median
 * and worst ops to detection both lower), fresh traces still bringing new setups.
 */
const MUTANTS = 0.7;
/** Fresh traces as long as the blind generator's: the vm design's, or the system design's (with sw_protected VMs where the profile has them). */

export function guidedRun(o: GuidedOptions): GuidedReport {
  const guide = o.guide ?? true;
  const counting = guide || (o.coverage ?? true);
  const opts = { kernel: o.kernel, policy: o.policy, design: o.design };
  const fresh = runTraceArbitrary(o.design, o.kernel);
  const coverage = new Coverage();
  const corpus = new Corpus();
  // Mutation choices have their own stream, apart from the generator's seeds.
  const r = rng(Math.imul(o.seed, 0x85ebca6b) ^ 0x5bd1e995);
  let ops = 0;
  let traces = 0;
  let mutants = 0;
  // The ops that returned 0 in the coverage replays: mutation aims at links that worked.
  const succeeded = new WeakSet<object>();
  // Fresh traces come from batches of CHUNK, made only as they are used up: most traces of a guided run are
  // mutants, and a batch made per CHUNK traces run (most of it never run) cost ~5% of the run. The latest batch's
  // ops are what mutation inserts and splices.
  let batch: Trace[] = [];
  let freshOps: Trace = [];
  let taken = 0;
  let made = 0;
  const refill = () => {
    batch = fc.sample(fresh, { seed: (Math.imul(o.seed, 0x9e3779b1) + made++) | 0, numRuns: CHUNK });
    // The batch's ops in one list, by a plain loop (Array.prototype.flat is a slow generic path in V8: ~2% of a run).
    freshOps = [];
    for (const t of batch) for (const op of t) freshOps.push(op);
    taken = 0;
  };
  refill();
  while (ops < o.ops && (o.deadline === undefined || performance.now() < o.deadline)) {
    for (let k = 0; k < CHUNK && ops < o.ops; k++) {
      const mutant = guide && corpus.size > 0 && r() < MUTANTS;
      if (!mutant && taken === batch.length) refill();
      const trace = mutant ? mutate(corpus.pick(r()), r, freshOps, succeeded) : batch[taken++];
      if (mutant) mutants++;
      ops += trace.length;
      traces++;
      // Coverage is read from the checked run itself (no second replay).
      const { failure: f, keys } = counting ? checkWithKeys(trace, opts, succeeded) : { failure: checkTrace(trace, opts), keys: [] };
      if (f) {
        // Its keys are those of the ops up to the failing one (the run stopped there).
        if (counting) coverage.add(keys);
        const cut = trace.slice(0, f.index + 1);
        const shrunk = dropOps(cut, f, opts);
        const failure = checkTrace(shrunk, opts)!;
        return { ops, traces, mutants, corpus: corpus.size, coverage, failure: { trace: shrunk, failure, originalLength: trace.length } };
      }
      if (counting && coverage.add(keys) > 0 && guide) corpus.add(trace);
    }
    o.onProgress?.({ ops, traces, coverage: coverage.size, corpus: corpus.size });
  }
  return { ops, traces, mutants, corpus: corpus.size, coverage };
}
