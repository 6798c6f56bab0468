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
import { DEFAULT_SEQUENCE_WEIGHTS, DEFAULT_WEIGHTS, traceArbitrary } from "../src/fuzz/arbitraries.js";
import { checkTrace } from "../src/fuzz/check.js";

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

test("an op that sends the core nothing is not checked again, and the violation of the op after it is still found at that op", () => {
  const trace = [
    { op: "create_vm", as: "owner", type: "default" },
    { op: "create_vm", as: "guest", type: "default" },
    { op: "create_guest_memfd", vm: "owner", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
    { op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 65536 },
    { op: "gmem_link", fd: "g", vm: "guest", as: "lent", perm: ["r"], mode: "share" },
    // Trace errors and a read-only op: no core command, no recorded fact.
    { op: "fstat", fd: "nowhere" },
    { op: "fstat", fd: "lent" },
    { op: "fallocate", fd: "lent", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 65536 },
    { op: "stats" },
  ];
  const f = checkTrace(trace, { policy: flawed });
  assert.is(f?.index, 7);
  assert.match(f!.detail, /^2 owner control/);
  // The same op as a whole-state check after every op finds.
  assert.is(checkTrace(trace, { policy: flawed, incremental: false })?.index, 7);
});

test("a violation an op makes in the core alone (a guest access mapping a page prepared under another VM's key) is found at that op", async () => {
  const naive = await loadPolicy("examples/policies/naive-bind.mjs");
  const trace = [
    { op: "create_vm", as: "v0", type: "sw_protected" },
    { op: "create_vm", as: "v1", type: "sw_protected" },
    { op: "create_guest_memfd_system", as: "g0", size: 1048576, flags: 0 },
    { op: "gmem_bind", fd: "g0", vm: "v0", perm: ["r"] },
    { op: "set_user_memory_region2", vm: "v0", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, userspace_addr: 0, guest_memfd: "g0", guest_memfd_offset: 0 },
    { op: "set_memory_attributes", vm: "v0", address: 0, size: 65536, attributes: "PRIVATE" },
    { op: "gmem_bind", fd: "g0", vm: "v1", perm: ["r", "w"] },
    { op: "set_user_memory_region2", vm: "v1", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, userspace_addr: 0, guest_memfd: "g0", guest_memfd_offset: 0 },
    { op: "set_memory_attributes", vm: "v1", address: 0, size: 65536, attributes: "PRIVATE" },
    { op: "vcpu_access", vm: "v0", gpa: 4104, access: "read" },
    // Sends a guest access to the core and records no fact.
    { op: "vcpu_access", vm: "v1", gpa: 4104, access: "read" },
    { op: "fstat", fd: "nowhere" },
  ];
  const f = checkTrace(trace, { policy: naive, design: "system", kernel: "6.18+swprot" });
  assert.is(f?.index, 10);
  assert.match(f!.detail, /^6 right key/);
});

test("on random traces under the flawed policy, the per-op checks of a fuzz run fail at the op a whole-state check after every op fails at", () => {
  let failing = 0;
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 40, sequences: DEFAULT_SEQUENCE_WEIGHTS }), (trace) => {
      const step = checkTrace(trace, { policy: flawed });
      const whole = checkTrace(trace, { policy: flawed, incremental: false });
      assert.equal(step && [step.index, step.kind, step.detail], whole && [whole.index, whole.kind, whole.detail]);
      if (step) failing++;
    }),
    { numRuns: 150, seed: 12 },
  );
  assert.ok(failing >= 3, `traces that broke a property: ${failing}`);
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

test("checkTrace reads kernel, policy and design once for as long as they stay the same: a bad kernel is refused every time, and each trace runs under the options it is given", () => {
  for (let k = 0; k < 2; k++) assert.throws(() => checkTrace(PREFIX, { kernel: "7.3" }), /kernel/);
  const trace = [{ op: "create_guest_memfd_system", as: "s", size: 65536, flags: 0 }];
  const run = (design?: string) => {
    const out: unknown[] = [];
    assert.is(checkTrace(trace, { design, onOp: (_k, _op, r) => out.push(r) }), null);
    return out[0] as Record<string, unknown>;
  };
  for (let k = 0; k < 2; k++) {
    assert.is(run("system").ret, 0, "the system design runs its own op");
    assert.is.not(run().ret, 0, "the vm design refuses it");
  }
  const punch = [...PREFIX, { op: "fallocate", fd: "g0", mode: "KEEP_SIZE", offset: 0, len: 4096 }, { op: "gmem_link", fd: "g0", vm: "v1", as: "lent", perm: ["r"], mode: "share" }, { op: "fallocate", fd: "lent", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 4096 }];
  assert.is(checkTrace(punch), null);
  assert.is(checkTrace(punch, { policy: flawed })?.kind, "security property");
  assert.is(checkTrace(punch), null);
});

test.run();
