/**
 * The engine against the reference model: seeded random traces must give the
 * same result line for every op and the same core state (snapshot digest),
 * including halfway through, and the engine's final state must satisfy every
 * engine invariant.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Simulator } from "../src/api/simulator.js";
import { checkInvariants } from "../src/check/checker.js";
import { checkSecurity } from "../src/check/checker.js";
import { digestSnapshot } from "../src/core/digest.js";
import { traceArbitrary } from "../src/fuzz/arbitraries.js";

const RUNS = Number(process.env.GMEMSIM_DIFF_RUNS ?? 10_000);

function run(engine: "wasm" | "reference", ops: object[]) {
  const sim = new Simulator({ engine });
  const half = ops.length >> 1;
  const first = sim.apply(ops.slice(0, half));
  const mid = digestSnapshot(sim.snapshot());
  const second = sim.apply(ops.slice(half));
  return { sim, results: [...first, ...second], mid, end: digestSnapshot(sim.snapshot()) };
}

test(`the engine and the reference model agree on ${RUNS} random traces (results, state, invariants, security under the default policy)`, () => {
  let ops = 0;
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 48 }), (trace) => {
      ops += trace.length;
      const e = run("wasm", trace);
      const r = run("reference", trace);
      assert.equal(e.results, r.results, "result lines differ");
      assert.is(e.mid, r.mid, "state differs halfway");
      assert.is(e.end, r.end, "final state differs");
      assert.equal(checkInvariants(e.sim.host), [], "engine invariants");
      assert.equal(checkSecurity(e.sim.host), [], "the default policy never breaks a security property");
    }),
    { numRuns: RUNS, seed: Number(process.env.GMEMSIM_SEED ?? 20261125) },
  );
  assert.ok(ops > RUNS * 10, `traces were non-trivial (${ops} ops)`);
});

test("random traces do reach the interesting paths (guest exits, EACCES from file permissions, EIO after a move, SIGBUS)", () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 48 }), (trace) => {
      const sim = new Simulator({ engine: "reference" });
      for (const r of sim.apply(trace)) {
        if (r.exit) seen.add(`exit:${r.exit}:${r.errno ?? "ok"}`);
        if (r.signal) seen.add(`signal:${r.signal}`);
        if (r.errno && !r.exit) seen.add(`errno:${r.errno}`);
        if (typeof r.zaps === "number" && r.zaps > 0) seen.add("zaps");
        if (r.value !== undefined && (r.value as number) > 0) seen.add("nonzero read");
      }
    }),
    { numRuns: 3000, seed: 7 },
  );
  for (const k of ["exit:mmio:ok", "exit:memory_fault:EFAULT", "exit:memory_fault:EHWPOISON", "exit:memory_fault:EACCES", "signal:SIGBUS", "errno:EINVAL", "errno:EEXIST", "errno:EBADF", "errno:EPERM", "errno:EIO", "nonzero read"]) {
    assert.ok(seen.has(k), `random traces never produced ${k}; seen: ${[...seen].join(", ")}`);
  }
});

test.run();
