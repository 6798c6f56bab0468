/**
 * gmemsim fuzz: the sound example policy survives a CI-sized run; the flawed one
 * is caught fast with a short shrunk trace that replays; runs are reproducible;
 * and the model-based command set works in a user's own property test.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPolicy } from "../src/policy/load.js";
import { fuzzRun } from "../src/fuzz/run.js";
import { gmemCommands, gmemSetup } from "../src/fuzz/model.js";
import { DEFAULT_WEIGHTS } from "../src/fuzz/arbitraries.js";

const sound = await loadPolicy("examples/policies/sound.mjs");
/** A user narrowing the command set to the operations the policy under test is about. */
const ONLY_LINK_AND_FALLOCATE = Object.fromEntries(Object.keys(DEFAULT_WEIGHTS).map((k) => [k, k === "gmem_link" || k === "fallocate" ? 1 : 0]));
const PREFIX = [
  { op: "create_vm", as: "v0", type: "default" },
  { op: "create_vm", as: "v1", type: "default" },
  { op: "create_guest_memfd", vm: "v0", as: "g0", size: 1048576, flags: ["MMAP", "INIT_SHARED"] },
];
const flawed = await loadPolicy("examples/policies/flawed.mjs");

test("the sound example policy survives a CI-sized run (engine = reference, invariants and properties after every op)", () => {
  const r = fuzzRun({ seed: 11, ops: 4000, policy: sound });
  assert.is(r.failure, undefined, r.failure && JSON.stringify(r.failure.failure));
  assert.ok(r.ops >= 4000);
});

test("the flawed example policy is caught in under 10,000 ops, shrunk to at most 10 ops, by owner control", () => {
  for (const seed of [1, 2, 3]) {
    const r = fuzzRun({ seed, ops: 10_000, policy: flawed });
    assert.ok(r.failure, `seed ${seed}: not caught in ${r.ops} ops`);
    assert.ok(r.ops < 10_000, `seed ${seed}: caught after ${r.ops} ops`);
    assert.ok(r.failure!.trace.length <= 10, `seed ${seed}: shrunk trace has ${r.failure!.trace.length} ops`);
    assert.is(r.failure!.failure.kind, "security property");
    assert.match(r.failure!.failure.detail, /^2 owner control/);
  }
});

test("same seed, same run", () => {
  const a = fuzzRun({ seed: 5, ops: 1500, policy: flawed });
  const b = fuzzRun({ seed: 5, ops: 1500, policy: flawed });
  assert.equal(JSON.stringify(a), JSON.stringify(b));
});

test("the CLI writes the shrunk trace, and replaying it under the same policy shows the same violation", () => {
  const out = mkdtempSync(join(tmpdir(), "gmemsim-fuzz-"));
  const f = spawnSync(process.execPath, ["bin/gmemsim.js", "fuzz", "--seed", "1", "--ops", "10000", "--policy", "examples/policies/flawed.mjs", "--out", out], { encoding: "utf8" });
  assert.is(f.status, 1, f.stderr);
  const file = join(out, "fuzz-1.jsonl");
  assert.match(f.stdout, /security property fails under policy "flawed-punch-anywhere"/);
  assert.match(readFileSync(file, "utf8"), /^# gmemsim fuzz --seed 1/);
  const r = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", file, "--check", "--policy", "examples/policies/flawed.mjs"], { encoding: "utf8" });
  assert.is(r.status, 1);
  assert.match(r.stderr, /2 owner control/);
  const ok = spawnSync(process.execPath, ["bin/gmemsim.js", "fuzz", "--seed", "2", "--ops", "2000", "--workers", "2"], { encoding: "utf8" });
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /no divergence, no engine invariant and no security property failed in [\d,]+ checked ops/);
});

test("the model-based command set drives fc.modelRun, and finds a flawed policy's violation", () => {
  fc.assert(fc.property(gmemCommands({ maxCommands: 40 }), (cmds) => fc.modelRun(gmemSetup(), cmds)), { numRuns: 60, seed: 3 });
  const r = fc.check(
    fc.property(gmemCommands({ maxCommands: 40, weights: ONLY_LINK_AND_FALLOCATE }), (cmds) => fc.modelRun(gmemSetup({ policy: flawed, engines: ["reference"], prefix: PREFIX }), cmds)),
    { numRuns: 500, seed: 4 },
  );
  assert.ok(r.failed, "a flawed policy is found by a user's own model-based test");
  assert.match(String(r.errorInstance), /owner control/);
});

test.run();
