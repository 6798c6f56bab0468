/**
 * The engine against the reference model under the profiles that change the
 * memory model: sw_protected VMs (privateness derived from the attribute) and
 * next's in-place conversion (attributes in the inode, pins, SIGBUS on private
 * pages). Seeded random traces must give the same result lines and the same
 * core state, and satisfy every engine invariant and security property.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Simulator } from "../src/api/simulator.js";
import { checkInvariants } from "../src/check/checker.js";
import { checkSecurity } from "../src/check/checker.js";
import { digestSnapshot } from "../src/core/digest.js";
import { traceArbitrary } from "../src/fuzz/arbitraries.js";

/** The ops these profiles change come often. */
const WEIGHTS = { set_memory_attributes: 6, set_memory_attributes2: 10, pin: 6, unpin: 3, mmap: 5, store: 5, load: 5 };

const RUNS = Number(process.env.GMEMSIM_PROFILE_DIFF_RUNS ?? 500);

function run(engine: "wasm" | "reference", kernel: string, ops: object[]) {
  const sim = new Simulator({ engine, kernel });
  const half = ops.length >> 1;
  const first = sim.apply(ops.slice(0, half));
  const mid = digestSnapshot(sim.snapshot());
  const second = sim.apply(ops.slice(half));
  return { sim, results: [...first, ...second], mid, end: digestSnapshot(sim.snapshot()) };
}

const PROFILES: Array<[string, string[]]> = [
  ["6.18+swprot", ["exit:memory_fault:EFAULT:PRIVATE"]],
  ["next+swprot", ["errno:EAGAIN", "signal:SIGBUS", "converted", "exit:memory_fault:EFAULT"]],
  ["next+swprot+vmattr", ["errno:ENOTTY"]],
  ["next+swprot+vmattr+inplace", ["converted"]],
];

for (const [kernel, mustSee] of PROFILES) {
  test(`${kernel}: the engine and the reference model agree on ${RUNS} random traces (results, state, invariants, security)`, () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(traceArbitrary({ maxLength: 48, swProtected: true, weights: WEIGHTS }), (trace) => {
        const e = run("wasm", kernel, trace);
        const r = run("reference", kernel, trace);
        assert.equal(e.results, r.results, "result lines differ");
        assert.is(e.mid, r.mid, "state differs halfway");
        assert.is(e.end, r.end, "final state differs");
        assert.equal(checkInvariants(e.sim.host), [], "engine invariants");
        assert.equal(checkSecurity(e.sim.host), [], "security properties under the default policy");
        e.results.forEach((res, k) => {
          const op = (trace[k] as { op: string }).op;
          if (res.errno && !res.exit) seen.add(`errno:${res.errno}`);
          if (res.signal) seen.add(`signal:${res.signal}`);
          if (res.exit) seen.add(`exit:${res.exit}:${res.errno ?? "ok"}${Array.isArray(res.flags) && res.flags.length ? ":PRIVATE" : ""}`);
          if (op === "set_memory_attributes2" && res.ret === 0) seen.add("converted");
        });
      }),
      { numRuns: RUNS, seed: 20261201 },
    );
    for (const k of mustSee) assert.ok(seen.has(k), `${kernel}: random traces never produced ${k}; seen: ${[...seen].join(", ")}`);
  });
}

test.run();
