/**
 * bench --tiers at a small size: every path (the plain-JS model, the core
 * alone, the C limit where a compiler exists, typed, apply, handles) is
 * checked against the model before it is timed, and the report carries a row
 * and a ratio for each. Timing is printed by the bench, never asserted here.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { benchTiers, tiersLines } from "../bench/tiers.js";

test("every tier of the guest-traffic bench agrees with the plain-JS model and is reported", async () => {
  const r = await benchTiers(2000, 1);
  assert.equal(r.rows.map((x) => x.name.split(" ")[0]), ["plain-JS", "core", "C", "typed", "apply", "handles", "handles", "JSONL", "only", "binary", "fuzzing", "fuzzing,"]);
  for (const row of r.rows) if (!row.name.startsWith("C ")) assert.ok(row.ns_per_op! > 0, row.name);
  // The tiers and the trace paths also ran at 10x the ops (the ratios take each at its best of the two).
  for (const row of r.rows.slice(3, 10)) assert.ok(row.ns_per_op_10x! > 0, `${row.name} at 10x`);
  for (const k of ["typed_speedup_over_model", "typed_over_core", "apply_speed_vs_model", "handles_speed_vs_model", "typed_flat_10x", "apply_flat_10x", "handles_flat_10x", "jsonl_over_parse", "binary_speedup_over_jsonl", "checked_over_unchecked", "fuzz_checked_ops_per_s", "guided_checked_ops_per_s"]) assert.ok(r.ratios[k]! > 0, k);
  // Every target has its figure from this run (timing never gates the test: only that each was measured).
  for (const g of r.targets) if (!g.measure.includes("C limit")) assert.ok(typeof g.value === "number" && g.value > 0 && typeof g.met === "boolean", g.measure);
  // The header carries the machine's context: the steal over the run where the machine reports one.
  const ctx = { node: "v20", cpu: "cpu", cores: 2, load: 0.5, commit: "abc" };
  assert.match(tiersLines(r, { ...ctx, steal: 3.25 })[0], /load 0\.5, steal 3\.3%, commit abc\)$/);
  assert.match(tiersLines(r, { ...ctx, steal: null })[0], /load 0\.5, commit abc\)$/);
});

test.run();
