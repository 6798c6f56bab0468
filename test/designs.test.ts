/**
 * gmemsim designs (SPEC §2.3): every cell of the side-by-side table is checked
 * against its scenario's trace replayed here: the calls it lists are the trace's,
 * the scenario's expectations hold and no property breaks under the design's
 * default policy, and each shortest breaking trace breaks exactly the property it
 * names at its last op, on both cores, and not one op earlier.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { checkInvariants, checkSecurity } from "../src/check/checker.js";
import { Simulator } from "../src/api/simulator.js";
import { compareDesigns, callsOf, PROPERTIES, type DesignName } from "../src/designs/compare.js";
import { SCENARIOS, type Line } from "../src/designs/scenarios.js";
import { naivePolicy } from "../src/designs/naive.js";
import { loadPolicy } from "../src/policy/load.js";
import { expectMismatch, Replayer } from "../src/trace/replay.js";
import type { Policy } from "../src/policy/types.js";

const report = compareDesigns();
const DESIGNS: DesignName[] = ["vm", "system"];

/** Replays a trace on one core; returns the properties broken after each op. */
function replay(trace: Line[], design: DesignName, policy: Policy | undefined, engine: "wasm" | "reference") {
  const sim = new Simulator({ engine, design, policy });
  const rp = new Replayer(sim.host);
  const perOp: number[][] = [];
  const mismatches: string[] = [];
  trace.forEach((op, k) => {
    const rec = rp.op(op as never, k + 1);
    sim.host.sync();
    if (expectMismatch(rec).length || "error" in rec.result) mismatches.push(`op ${k} ${String(op.op)}: ${JSON.stringify(rec.result)}`);
    assert.equal(checkInvariants(sim.host), [], `engine invariants after op ${k}`);
    perOp.push(checkSecurity(sim.host).map((f) => Number(f.split(" ")[0])));
  });
  return { perOp, mismatches };
}

test("the report covers the six scenarios of the debate under both designs", () => {
  assert.equal(report.designs, DESIGNS);
  assert.equal(report.scenarios.map((s) => s.id), ["share-readonly", "donate", "migrate", "outlive", "punch-while-shared", "bind-anywhere"]);
});

for (const s of SCENARIOS) {
  for (const d of DESIGNS) {
    const cell = report.scenarios.find((r) => r.id === s.id)!.cells[d];
    test(`${s.id}, ${d} design: the calls cell lists the trace's calls, and under the default policy the scenario works and every property the cell claims holds`, () => {
      assert.equal(cell.calls, callsOf(s[d].steps));
      for (const engine of ["reference", "wasm"] as const) {
        const { perOp, mismatches } = replay([...s[d].steps, ...s[d].attack], d, undefined, engine);
        assert.equal(mismatches.filter((m) => Number(/^op (\d+)/.exec(m)![1]) < s[d].steps.length), [], `${engine}: the scenario's expectations`);
        const broken = new Set(perOp.flat());
        assert.equal(cell.holds, Object.keys(PROPERTIES).map(Number).filter((p) => !broken.has(p)), engine);
      }
      assert.ok(cell.works);
    });
    for (const b of cell.breaches) {
      test(`${s.id}, ${d} design: the naive policy's ${b.trace.length}-op trace breaks ${b.property} ${b.name} at its last op and no sooner, on both cores; the default policy holds on it`, () => {
        for (const engine of ["reference", "wasm"] as const) {
          const { perOp } = replay(b.trace, d, naivePolicy, engine);
          assert.ok(perOp[perOp.length - 1].includes(b.property), `${engine}: broken at the last op`);
          assert.ok(perOp.slice(0, -1).every((ps) => !ps.includes(b.property)), `${engine}: not before`);
          assert.equal(replay(b.trace, d, undefined, engine).perOp.flat(), [], `${engine}: the default policy`);
        }
        // Shortest: dropping any single op loses the breach.
        for (let k = 0; k < b.trace.length; k++) {
          const { perOp } = replay([...b.trace.slice(0, k), ...b.trace.slice(k + 1)], d, naivePolicy, "reference");
          assert.not.ok(perOp.flat().includes(b.property), `still broken without op ${k}`);
        }
      });
    }
  }
}

test("the naive policy rediscovers the right-key hazard in the system design, and the system design cannot express a sharer's punch", () => {
  const system = report.scenarios.map((s) => s.cells.system);
  assert.ok(system.some((c) => c.breaches.some((b) => b.property === 6)));
  assert.equal(report.scenarios.find((s) => s.id === "punch-while-shared")!.cells.system.breaches, []);
  assert.ok(report.scenarios.find((s) => s.id === "punch-while-shared")!.cells.vm.breaches.some((b) => b.property === 2));
});

test("examples/policies/naive-bind.mjs is the built-in naive policy: the same report", async () => {
  const loaded = await loadPolicy("examples/policies/naive-bind.mjs");
  assert.equal(compareDesigns(loaded), report);
});

test("gmemsim designs --json prints the report as data; without it, the table", () => {
  const json = spawnSync(process.execPath, ["bin/gmemsim.js", "designs", "--json"], { encoding: "utf8" });
  assert.is(json.status, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout), JSON.parse(JSON.stringify(report)));
  const text = spawnSync(process.execPath, ["bin/gmemsim.js", "designs"], { encoding: "utf8" });
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /\| share read-only at another gfn \| vm \| create_guest_memfd, set_user_memory_region2 x2, gmem_link\(share\) \| yes; all 6 \| 6 right key \(10 ops\) \|/);
  const bad = spawnSync(process.execPath, ["bin/gmemsim.js", "designs", "--jsno"], { encoding: "utf8" });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--jsno/);
});

test.run();
