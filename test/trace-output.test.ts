/**
 * What replay writes (SPEC §5, §6): exact integers in JSON result lines and in
 * the text output, exact --check comparisons, pure JSON Lines on standard
 * output under --json (--stats on standard error), and a quiet end on a closed
 * pipe. These run the real CLI.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernelAvailability, runOnKernel } from "../src/oracle/driver.js";
import { Simulator } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "gmemsim-output-"));
function traceFile(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}
const replay = (...args: string[]) => spawnSync(process.execPath, ["bin/gmemsim.js", "replay", ...args], { encoding: "utf8" });

const BIG = [
  '{"op":"create_vm","as":"v","type":"default"}',
  '{"op":"create_guest_memfd","vm":"v","as":"g","size":"0x4000000000000000","flags":0}',
  '{"op":"fstat","fd":"g"}',
  '{"op":"vcpu_access","vm":"v","gpa":"0xffffffffffffffff","access":"read"}',
];

test("JSON result lines print every integer as its exact decimal digits: 2^62 is 4611686018427387904, 2^64-1 is 18446744073709551615", () => {
  for (const engine of ["wasm", "reference"]) {
    const p = replay(traceFile("big.jsonl", BIG), "--json", "--engine", engine);
    assert.is(p.status, 0, p.stderr);
    const lines = p.stdout.trimEnd().split("\n");
    assert.is(lines[2], '{"i":2,"ret":0,"size":4611686018427387904,"blocks":0}');
    assert.is(lines[3], '{"i":3,"ret":0,"exit":"mmio","gpa":18446744073709551615}');
  }
});

test("the text output prints exact values and exact hex", () => {
  const p = replay(traceFile("big.jsonl", BIG));
  assert.is(p.status, 0, p.stderr);
  assert.match(p.stdout, /size=4611686018427387904 /);
  assert.match(p.stdout, /exit mmio at gpa 0xffffffffffffffff/);
});

test("--check compares integers exactly: the double-rounded 4611686018427388000 fails, the exact value passes", () => {
  const withExpect = (size: string) => traceFile(`expect-${size}.jsonl`, [BIG[0], BIG[1], `{"op":"fstat","fd":"g","expect":{"ret":0,"size":${size}}}`]);
  const rounded = replay(withExpect("4611686018427388000"), "--check");
  assert.is(rounded.status, 1);
  assert.match(rounded.stderr, /check failed at line 3 .*expected \{"ret":0,"size":4611686018427388000\}, got \{"i":2,"ret":0,"size":4611686018427387904,"blocks":0\}/);
  const exact = replay(withExpect("4611686018427387904"), "--check");
  assert.is(exact.status, 0, exact.stderr);
  const typo = replay(traceFile("expekt.jsonl", [BIG[0], '{"op":"fstat","fd":"v","expekt":{"ret":1}}']), "--check");
  assert.is(typo.status, 1, "a misspelt expect is an error, not a check switched off");
  assert.match(typo.stderr, /expekt: unknown field of fstat \(did you mean expect\?\)/);
});

test("under --json, standard output is exactly one JSON result line per counted line, and --stats is one JSON object on standard error", () => {
  const lines = [...BIG, "# a comment", "", "not json", '{"op":"toString"}', "[".repeat(100) + "]".repeat(100), '{"op":"stats","vm":"v"}'];
  const p = replay(traceFile("mixed.jsonl", lines), "--json", "--stats");
  assert.is(p.status, 0, p.stderr);
  const out = p.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(out.map((r) => r.i), [0, 1, 2, 3, 4, 5, 6, 7]);
  const stats = JSON.parse(p.stderr.trim());
  assert.equal(stats, { stats: { host_pages: 0, vms: [{ vm: "v", sptes: 0, faults: 0, zaps: 0, exits: 1 }], inodes: [{ files: ["g"], pages: 0, poisoned: 0 }] } }, "objects by the trace's names");
});

test("a closed pipe ends the run quietly: replay | head exits 0 with nothing on standard error", () => {
  const many = [BIG[0], ...Array.from({ length: 20_000 }, () => '{"op":"check_extension","cap":"GUEST_MEMFD"}')];
  const file = traceFile("many.jsonl", many);
  for (const flags of ["--json", ""]) {
    const p = spawnSync("bash", ["-c", `set -o pipefail; "${process.execPath}" bin/gmemsim.js replay "${file}" ${flags} | head -n 2 >/dev/null`], { encoding: "utf8" });
    assert.is(p.stderr, "", `replay ${flags}: ${p.stderr}`);
    assert.is(p.status, 0);
  }
});

test("a policy that throws never crashes replay: its hook's throw is an EPERM line, its property's throw a reported violation (exit 1, no stack)", () => {
  const policy = join(dir, "thrower.mjs");
  writeFileSync(policy, 'export default { name: "thrower", fallocate() { throw new Error("nope"); }, properties: { boom() { throw new Error("prop boom"); } } };\n');
  const trace = traceFile("thrower.jsonl", [BIG[0], '{"op":"create_guest_memfd","vm":"v","as":"g","size":65536,"flags":0}', '{"op":"fallocate","fd":"g","mode":"KEEP_SIZE","offset":0,"len":4096}']);
  const plain = replay(trace, "--json", "--policy", policy);
  assert.is(plain.status, 0, plain.stderr);
  assert.is(plain.stdout.trim().split("\n")[2], '{"i":2,"errno":"EPERM"}');
  const checked = replay(trace, "--check", "--policy", policy);
  assert.is(checked.status, 1);
  assert.match(checked.stderr, /security property violated after line 1 .*\n.*prop boom/);
  assert.not.match(checked.stderr, /\n\s+at /, "no stack trace");
});

const avail = kernelAvailability();
const kernelTest = avail.ok ? test : test.skip;
if (!avail.ok) console.log(`SKIPPED: exact integers on the live kernel: ${avail.reason}`);
kernelTest("the live kernel and the simulator agree exactly on a 2^62-byte file's fstat (the oracle's output is read without rounding)", async () => {
  const trace = BIG.slice(0, 3).join("\n") + "\n";
  const kernel = await runOnKernel(trace);
  assert.equal(kernel[2], { i: 2, ret: 0, size: 4611686018427387904n, blocks: 0 });
  assert.equal(new Simulator().apply(trace)[2], kernel[2]);
});

kernelTest("a set_user_memory_region2 that fails creates no {anon: NAME} region, on the live kernel (through the oracle) as in the simulator", async () => {
  const trace = [
    '{"op":"create_vm","as":"v0","type":"default"}',
    '{"op":"set_user_memory_region2","vm":"v0","slot":0,"guest_phys_addr":4096,"memory_size":0,"userspace_addr":{"anon":"a0"}}',
    '{"op":"set_user_memory_region2","vm":"v0","slot":0,"guest_phys_addr":0,"memory_size":65536,"userspace_addr":{"anon":"a0"}}',
    '{"op":"vcpu_access","vm":"v0","gpa":40960,"access":"read"}',
  ].join("\n");
  const kernel = await runOnKernel(trace);
  assert.equal(kernel, [{ i: 0, ret: 0 }, { i: 1, errno: "EINVAL" }, { i: 2, ret: 0 }, { i: 3, ret: 0, value: 0 }], "the region was made 64 KiB by the op that succeeded");
  for (const engine of ["wasm", "reference"] as const) assert.equal(JSON.parse(JSON.stringify(new Simulator({ engine }).apply(trace))), kernel, engine);
});

kernelTest("a line the trace reader refuses (a misspelt field, __proto__, an unknown op) never reaches the live kernel: both sides give the reader's error, and nothing ran", async () => {
  const trace = [
    '{"op":"create_vm","as":"v","type":"default"}',
    '{"op":"create_guest_memfd","vm":"v","as":"g","size":65536,"flags":0}',
    '{"op":"set_user_memory_region2","vm":"v","slot":0,"flags":"GUEST_MEMFD","memory_size":4096,"guest_memfd":"g","guest_memfd_ofset":8192}',
    '{"op":"create_vm","as":"w","type":"default","__proto__":{"x":1}}',
    '{"op":"toString"}',
    '{"op":"set_user_memory_region2","vm":"v","slot":0,"flags":"GUEST_MEMFD","memory_size":4096,"guest_memfd":"g","guest_memfd_offset":8192}',
    '{"op":"fstat","fd":"w"}',
  ].join("\n");
  const kernel = await runOnKernel(trace);
  const sim = JSON.parse(JSON.stringify(new Simulator().apply(trace)));
  // Errors are compared as errors (the oracle words its own), the reader's refusals word for word.
  const kinds = (rs: Array<Record<string, unknown>>) => rs.map((r, k) => (k >= 2 && k <= 4) || !("error" in r) ? r : { i: r.i, error: true });
  assert.equal(kinds(kernel), kinds(sim));
  assert.equal(kernel[5], { i: 5, ret: 0 }, "slot 0 was free: the misspelt line created nothing on the kernel");
  assert.match(kernel[6].error as string, /unknown name "w"/);
});

test.run();
