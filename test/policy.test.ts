/**
 * Policies: the default follows the 2023 discussion; user policies load as ES
 * modules; a flawed policy's decisions are enforced by the engine and caught
 * by the security properties, with the op that showed it.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Simulator } from "../src/api/simulator.js";
import { checkSecurity } from "../src/check/checker.js";
import { loadPolicy } from "../src/policy/load.js";
import type { Policy } from "../src/policy/types.js";
import type { SecurityState } from "../src/check/security.js";
import { defaultPolicy } from "../src/policy/default.js";
import { fuzzRun } from "../src/fuzz/run.js";

const FLAWED_TRACE = new URL("./policy/flawed-punch.jsonl", import.meta.url).pathname;
const flawed = await loadPolicy("examples/policies/flawed.mjs");
const sound = await loadPolicy("examples/policies/sound.mjs");

function run(policy: Policy | undefined, text: string, kernel?: string) {
  const sim = new Simulator({ engine: "reference", policy, kernel });
  const results = sim.apply(text.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#")));
  return { sim, results, flaws: checkSecurity(sim.host) };
}

test("under the default policy a read-only sharer's punch is EPERM, with the policy's reason", () => {
  const sim = new Simulator({ engine: "reference" });
  const r = sim.apply(readFileSync(FLAWED_TRACE, "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#")));
  assert.equal(r[5], { i: 5, errno: "EPERM" });
  assert.equal(checkSecurity(sim.host), []);
});

for (const engine of ["wasm", "reference"] as const)
  test(`the default policy's allow for a whole file is asked again once the file donates a window (${engine})`, () => {
    // Its answer is kept per file view: a donation changes the view, so the donor's punch there is EPERM (through the
    // object API, apply() and the typed tier alike) where the same punch was allowed before.
    const sim = new Simulator({ engine });
    const ops = (i: number) => [
      { op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 4096, len: 4096 },
      { op: "fallocate", fd: "g", mode: 3, offset: 8192, len: 4096 },
      { op: "fallocate", fd: "g", mode: 1, offset: 4096 * i, len: 4096 },
    ];
    sim.apply([
      { op: "create_vm", as: "a", type: "default" },
      { op: "create_vm", as: "b", type: "default" },
      { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP"] },
    ]);
    assert.equal(sim.apply(ops(0)).map((r) => r.errno ?? r.ret), [0, 0, 0]);
    sim.apply([{ op: "gmem_link", fd: "g", vm: "b", as: "gb", perm: ["r", "w"], offset: 0, len: 16384, mode: "donate" }]);
    assert.equal(sim.apply(ops(1)).map((r) => r.errno ?? r.ret), ["EPERM", "EPERM", "EPERM"]);
    // Past the window the donor still allocates and punches.
    assert.equal(sim.apply([{ op: "fallocate", fd: "g", mode: 1, offset: 16384, len: 4096 }, { op: "fallocate", fd: "g", mode: 3, offset: 16384, len: 4096 }]).map((r) => r.errno ?? r.ret), [0, 0]);
  });

test("the flawed example policy lets the punch through, and owner control catches it", () => {
  const { results, flaws } = run(flawed, readFileSync(FLAWED_TRACE, "utf8"));
  assert.equal(results[5], { i: 5, ret: 0 });
  assert.is(flaws.length, 1);
  assert.match(flaws[0], /^2 owner control: file 1 \(vm 1\) punched pages \[0, 16\) without a punch right granted by the owner/);
});

test("the sound example policy refuses the punch and refuses writable shares; its own property holds", () => {
  const { results, flaws } = run(sound, readFileSync(FLAWED_TRACE, "utf8"));
  assert.equal(results[5], { i: 5, errno: "EPERM" });
  assert.equal(flaws, []);
  const w = run(sound, readFileSync(FLAWED_TRACE, "utf8").replace('"perm": ["r"]', '"perm": ["r", "w"]'));
  assert.equal(w.results[4], { i: 4, errno: "EPERM" });
});

/** The owner shares with b, and b's file is linked on to a: a chain of two grants. */
const RELINK = [
  '{"op":"create_vm","as":"a","type":"default"}',
  '{"op":"create_vm","as":"b","type":"default"}',
  '{"op":"create_guest_memfd","vm":"a","as":"g","size":65536,"flags":0}',
  '{"op":"gmem_link","fd":"g","vm":"b","as":"r1","perm":["r"],"mode":"share"}',
  '{"op":"gmem_link","fd":"r1","vm":"a","as":"r2","perm":["r"],"mode":"share"}',
].join("\n");

test("a policy that grants more than the source holds is caught by no escalation", () => {
  const escalating: Policy = { name: "escalating", link: () => ({ allow: true, perm: ["r", "w", "x", "alloc", "punch"] }) };
  const { flaws } = run(escalating, RELINK);
  assert.is(flaws.length, 0, "granting a subset of the owner's rights is no escalation");
  const stingy: Policy = { name: "stingy", link: (req) => ({ allow: true, perm: req.source.owner ? ["r"] : ["r", "w"] }) };
  const s = run(stingy, RELINK);
  assert.is(s.results[4].ret, 0);
  assert.match(s.flaws[0], /^1 no escalation: file 2 \(vm 0\) was linked from file 1 with \[r,w\], but file 1 held only \[r\]/);
});

test("a policy that maps a private page into another context is caught by right key; the default refuses the fault", () => {
  const mapsForeign: Policy = { ...defaultPolicy, name: "maps-foreign", foreign: () => "map" };
  // sw_protected VMs need the swprot option; their accesses' privateness is derived from the gfn's attribute.
  const refused = run(undefined, RIGHT_KEY, "6.18+swprot");
  assert.equal(refused.results[9], { i: 9, errno: "EACCES", exit: "memory_fault", gpa: 0, size: 4096, flags: ["PRIVATE"] });
  assert.equal(refused.flaws, []);
  const { flaws } = run(mapsForeign, RIGHT_KEY, "6.18+swprot");
  assert.is(flaws.length, 1);
  assert.match(flaws[0], /^6 right key: vm 1 \(context 2\) maps gfn 0x0 private, a page of inode 0 prepared private under context 1/);
});

/** a prepares a page private; b, linked to it, faults it privately. */
const RIGHT_KEY = [
  '{"op":"create_vm","as":"a","type":"sw_protected"}',
  '{"op":"create_vm","as":"b","type":"sw_protected"}',
  '{"op":"create_guest_memfd","vm":"a","as":"g","size":65536,"flags":0}',
  '{"op":"set_user_memory_region2","vm":"a","slot":0,"flags":"GUEST_MEMFD","guest_phys_addr":0,"memory_size":65536,"guest_memfd":"g"}',
  '{"op":"set_memory_attributes","vm":"a","address":0,"size":65536,"attributes":"PRIVATE"}',
  '{"op":"vcpu_access","vm":"a","gpa":0,"access":"write","private":true,"value":1}',
  '{"op":"gmem_link","fd":"g","vm":"b","as":"gb","perm":["r"],"mode":"share"}',
  '{"op":"set_user_memory_region2","vm":"b","slot":0,"flags":"GUEST_MEMFD","guest_phys_addr":0,"memory_size":65536,"guest_memfd":"gb"}',
  '{"op":"set_memory_attributes","vm":"b","address":0,"size":65536,"attributes":"PRIVATE"}',
  '{"op":"vcpu_access","vm":"b","gpa":0,"access":"read","private":true}',
].join("\n");

test("gmemsim replay --policy flawed.mjs --check exits 1 naming the property and the op", () => {
  const p = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", FLAWED_TRACE, "--check", "--policy", "examples/policies/flawed.mjs"], { encoding: "utf8" });
  assert.is(p.status, 1, p.stderr);
  assert.match(p.stderr, /security property violated after line 8 \(op 5, fallocate\) under policy flawed-punch-anywhere/);
  assert.match(p.stderr, /2 owner control/);
  const ok = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", FLAWED_TRACE, "--check", "--policy", "examples/policies/sound.mjs"], { encoding: "utf8" });
  assert.is(ok.status, 0, ok.stderr);
});

test("a policy property that throws, or answers a truthy non-sentence, is a violation of that property saying so, never a crash, in a full check and in a fuzz run's per-op check", () => {
  const props = {
    fragile: (st: SecurityState) => (st.snapshot ? (null as unknown as { x: string }).x : null),
    numeric: (st: SecurityState) => (st.snapshot ? (42 as unknown as string) : null),
    idiom: (st: SecurityState) => st.events.length > 1000 && "never",
  };
  const policy: Policy = { ...defaultPolicy, name: "props", properties: props };
  const sim = new Simulator({ policy });
  sim.apply([
    { op: "create_vm", as: "v", type: "default" },
    { op: "create_guest_memfd", vm: "v", as: "g", size: 65536 },
    { op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 4096 },
  ]);
  const flaws = checkSecurity(sim.host);
  assert.is(flaws.length, 2, flaws.join("\n"));
  assert.match(flaws[0], /^policy property fragile: the property threw: Cannot read properties of null/);
  assert.match(flaws[1], /^policy property numeric: the property returned number 42 instead of a sentence or null/);
  const r = fuzzRun({ seed: 1, ops: 2000, policy: { name: "thrower", properties: { fragile: props.fragile } } });
  assert.ok(r.failure, "the fuzz run stops at the throw");
  assert.match(JSON.stringify(r.failure), /policy property fragile: the property threw/);
});

test.run();
