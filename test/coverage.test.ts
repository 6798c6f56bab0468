/**
 * Coverage-guided fuzzing: the semantic coverage keys (rule keys, window edge
 * classes, policy decisions), the guided loop's reach (the shipped flawed
 * policies caught within 50,000 ops and shrunk to at most 12), its
 * determinism, the policy module's V8 coverage, and the campaign reports that
 * shards, Kubernetes pods and queues produce (merge, and the CLI around them).
 */
import { test } from "uvu";
import fc from "fast-check";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergeReports } from "../src/campaign/merge.js";
import { intersectRanges, uncoveredLines } from "../src/campaign/policy-coverage.js";
import { policySource, runShard } from "../src/campaign/shard.js";
import { checkWithKeys, edgeClass, recordingPolicy, ruleKey, traceKeys, withoutLinePrefix } from "../src/fuzz/coverage.js";
import { askedAsDefault } from "../src/kvm/own-policy.js";
import type { Policy } from "../src/policy/types.js";
import { naivePolicy } from "../src/designs/naive.js";
import { defaultPolicy } from "../src/policy/default.js";
import type { VmBindRequest } from "../src/policy/types.js";
import { guidedRun } from "../src/fuzz/guided.js";
import { mutate, rng } from "../src/fuzz/mutate.js";
import { checkTrace } from "../src/fuzz/check.js";
import { loadPolicy } from "../src/policy/load.js";

const cli = (args: string[]) => spawnSync(process.execPath, ["bin/gmemsim.js", ...args], { encoding: "utf8" });

/** A trace that asks the link hook once. */
const LINK_TRACE = [
  { op: "create_vm", as: "a", type: "default" },
  { op: "create_vm", as: "b", type: "default" },
  { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: 0 },
  { op: "gmem_link", fd: "g", vm: "b", as: "h", perm: ["r"], mode: "share" },
];

test("a checked run hands mutation the gmem_link ops that returned 0, and no other op", () => {
  const trace = [...LINK_TRACE, { op: "gmem_link", fd: "g", vm: "b", as: "h", perm: ["r"], mode: "share" }, { op: "fallocate", fd: "g", mode: 1, offset: 0, len: 4096 }];
  const ok = new WeakSet<object>();
  traceKeys(trace, {}, ok);
  // The first link succeeded; the second binds a live name again (a trace error); the creates and the fallocate succeeded but are no links.
  assert.equal(trace.map((o) => ok.has(o)), [false, false, false, true, false, false]);
});

test("the fuzzer's decision recorder is asked as the default policy only around it: a user's policy is still shown frozen requests", () => {
  const frozen: boolean[] = [];
  const foreign: boolean[] = [];
  const user: Policy = {
    name: "user",
    link(req) {
      frozen.push(Object.isFrozen(req) && Object.isFrozen(req.source) && Object.isFrozen(req.perm));
      return { allow: true };
    },
    foreign(req) {
      foreign.push(Object.isFrozen(req.file) && Object.isFrozen(req.file.window) && Object.isFrozen(req.vm));
      return "map";
    },
  };
  const keys = traceKeys(LINK_TRACE, { policy: user });
  assert.equal(frozen, [true], "the user's policy saw its request deeply frozen under the recorder");
  assert.ok(foreign.length > 0 && foreign.every((f) => f), `its foreign hook saw frozen views: ${foreign}`);
  assert.ok(keys.some((k) => k.startsWith("gmem_link|ok||link share")), keys.join("\n"));
  // A wrapper marked askedAsDefault() is asked as the default policy is: its request unfrozen (no freeze per ask).
  const seen: boolean[] = [];
  const wrapper = (mark: boolean): Policy => {
    const p: Policy = { name: defaultPolicy.name, link: (req) => (seen.push(Object.isFrozen(req)), defaultPolicy.link!(req)) };
    return mark ? askedAsDefault(p) : p;
  };
  for (const mark of [false, true]) checkTrace(LINK_TRACE, { policy: wrapper(mark) });
  assert.equal(seen, [true, false]);
});

test("the recording policy decides exactly as the policy: every hook passes through, a system-design bind included", () => {
  const sink: string[] = [];
  const rec = recordingPolicy(naivePolicy, sink);
  for (const h of ["link", "fallocate", "bind", "migrate", "convert", "foreign"] as const) assert.is(typeof rec[h], typeof naivePolicy[h], h);
  const req: VmBindRequest = { kind: "vm", file: { id: 3, inode: 1, flags: 0, bound: [{ vm: 0, perm: ["r", "w"] }], unbound: [] }, vm: { id: 1, type: 4, ctx: 2, contextMovedAway: false }, perm: ["r", "w"], implicit: false };
  assert.equal(rec.bind!(req), naivePolicy.bind!(req));
  assert.equal(sink, ["bind vm new explicit shared: allow"]);
  // The default policy's in-place conversion rule (only the owner converts) survives the wrapper.
  assert.is(recordingPolicy(defaultPolicy, []).convert !== undefined, defaultPolicy.convert !== undefined);
});

test("a system-design run counts coverage from its checked run and catches the naive bind policy's right-key flaw", () => {
  const r = guidedRun({ seed: 10, ops: 5000, design: "system", kernel: "6.18+swprot", policy: naivePolicy, guide: false });
  assert.ok(r.failure, "caught within 5,000 ops");
  assert.match(r.failure!.failure.detail, /^6 right key/);
  assert.ok([...r.coverage.counts.keys()].some((k) => k.startsWith("gmem_bind|ok||bind vm")), "system binds counted with their decisions");
});

test("a system-design campaign shard runs its design, names it in its report and repro, and does not merge with a vm-design report", async () => {
  const spec = { campaign: "sys", seeds: [10, 10] as [number, number], ops: 3000, kernel: "6.18+swprot", guide: false, design: "system", policy: policySource("examples/policies/naive-bind.mjs") };
  const r = await runShard(spec);
  assert.is(r.design, "system");
  assert.is(r.violations.length, 1);
  assert.match(r.violations[0].detail, /^6 right key/);
  assert.match(r.violations[0].repro, /\n# replay-args: --kernel 6\.18\+swprot --design system\n/);
  const vm = await runShard({ ...spec, design: undefined, seeds: [2, 2], kernel: "6.18", policy: spec.policy });
  assert.throws(() => mergeReports([r, { ...vm, kernel: "6.18+swprot" }]), /design differs \(system and vm\)/);
  let refused = "";
  try {
    await runShard({ ...spec, design: "galaxy" });
  } catch (e) {
    refused = (e as Error).message;
  }
  assert.match(refused, /invalid shard: design: /);
});

test("a rule key is the explanation sentence without its numbers and names", () => {
  assert.is(ruleKey("offset 8192 and len 100 must be multiples of 4096"), ruleKey("offset 0 and len 3 must be multiples of 4096"));
  assert.is(ruleKey("pages [3, 9) lie outside the file's window [0, 4)"), "pages [#, #) lie outside the file's window [#, #)");
  assert.is(ruleKey("mode 0x40 has unknown bits"), "mode # has unknown bits");
  assert.is.not(ruleKey("fd is not open"), ruleKey("vm is not an open VM fd"));
  // Every policy denial is one rule of the kernel layer; its reason is the decision's part of the key.
  assert.is(ruleKey("policy default: the file lacks the punch permission"), "policy");
});

test("a trace error's key drops exactly its `line N: op: ` prefix", () => {
  const cases = ["line 12: fallocate: fd: unknown name \"g9\"", "line 1: x_2: y", "line 7: unreadable op: boom", "line : fallocate: a", "line 3:fallocate: a", "line 3: Fallocate: a", "line 3: : a", "line 3: fallocate:a", "lines 3: fallocate: a", "line 3: fallocate: ", "line 3: fallocate", "line 45", "", "fallocate: fd: x"];
  for (const e of cases) assert.is(withoutLinePrefix(e), e.replace(/^line \d+: [a-z_0-9]+: /, ""), e);
  fc.assert(
    fc.property(fc.stringMatching(/^(line )?[0-9]{0,3}:? ?[a-zA-Z_0-9 :]{0,12}$/), (e) => withoutLinePrefix(e) === e.replace(/^line \d+: [a-z_0-9]+: /, "")),
    { numRuns: 2000, seed: 3 },
  );
});

test("edge classes tell the first and last page of a window from its inside and its neighbours", () => {
  const w = [4, 8] as const;
  assert.is(edgeClass(4, 5, ...w), "first-page");
  assert.is(edgeClass(7, 8, ...w), "last-page");
  assert.is(edgeClass(5, 7, ...w), "inside");
  assert.is(edgeClass(4, 8, ...w), "whole");
  assert.is(edgeClass(3, 5, ...w), "across-start");
  assert.is(edgeClass(7, 9, ...w), "across-end");
  assert.is(edgeClass(2, 10, ...w), "covers");
  assert.is(edgeClass(3, 4, ...w), "just-before");
  assert.is(edgeClass(8, 9, ...w), "just-after");
  assert.is(edgeClass(0, 2, ...w), "apart");
});

test("a trace's coverage keys name the op, the result, the rule and the policy decision with its window edge", () => {
  const trace = [
    { op: "create_vm", as: "v0", type: "default" },
    { op: "create_vm", as: "v1", type: "default" },
    { op: "create_guest_memfd", vm: "v0", as: "g0", size: 65536, flags: 0 },
    { op: "gmem_link", fd: "g0", vm: "v1", as: "g1", perm: ["r"], offset: 0, len: 16384, mode: "donate" },
    { op: "fallocate", fd: "g0", mode: "KEEP_SIZE", offset: 12288, len: 4096 },
    { op: "fallocate", fd: "g0", mode: "KEEP_SIZE", offset: 100, len: 4096 },
  ];
  const keys = traceKeys(trace);
  assert.is(keys.length, trace.length);
  assert.is(keys[0], "create_vm|ok||");
  assert.match(keys[3], /^gmem_link\|ok\|\|link donate from-owner asks-within own:first-page: allow grant-within$/);
  // The donor at the last page of the window it donated: denied by the default policy (function fallocate of src/policy/default.ts).
  assert.is(keys[4], "fallocate|EPERM|policy|fallocate alloc owner own:inside,donated:last-page: deny the range lies in a window this file donated away");
  assert.is(keys[5], "fallocate|EINVAL|offset # and len # must be multiples of #|");
});

const FLAWED = ["flawed-reshare", "flawed-donor-allocates", "flawed-window-end"];
for (const name of FLAWED) {
  test(`the flawed policy ${name} is caught within 50,000 ops by a default guided run, and shrunk to at most 12 ops`, async () => {
    const policy = await loadPolicy(`examples/policies/${name}.mjs`);
    for (const seed of [1, 2]) {
      const r = guidedRun({ seed, ops: 50_000, policy });
      assert.ok(r.failure, `seed ${seed}: not caught in ${r.ops} ops`);
      assert.is(r.failure!.failure.kind, "security property");
      assert.ok(r.failure!.trace.length <= 12, `seed ${seed}: the shrunk trace has ${r.failure!.trace.length} ops`);
      // The shrunk trace shows the same violation when checked again from scratch.
      assert.is(checkTrace(r.failure!.trace, { policy })?.detail, r.failure!.failure.detail);
    }
  });
}

test("the off-by-one at a donated window's end is caught by aiming at the window's last page", async () => {
  const policy = await loadPolicy("examples/policies/flawed-window-end.mjs");
  const r = guidedRun({ seed: 1, ops: 50_000, policy });
  assert.match(r.failure!.failure.detail, /^3 donation is final/);
  const at = r.failure!.trace[r.failure!.failure.index];
  const link = r.failure!.trace.find((o) => o.op === "gmem_link" && o.mode === "donate")!;
  // The violating op starts at the last page of the donated window (the link without offset and len donates the whole 1 MiB file).
  const end = link.len === undefined ? 256 : (Number(link.offset) + Number(link.len)) / 4096;
  assert.is(Number(at.offset) / 4096, end - 1, JSON.stringify(r.failure!.trace));
});

test("the decision recorder kept per policy gives a trace after a failed one the keys a recorder of its own gives", async () => {
  const policy = await loadPolicy("examples/policies/flawed-window-end.mjs");
  const failed = guidedRun({ seed: 1, ops: 50_000, policy }).failure!.trace;
  const clean = [...LINK_TRACE, { op: "fallocate", fd: "g", mode: 1, offset: 0, len: 4096 }];
  // The same policy's kept recorder, right after a trace that stopped at a violating op, against a recorder of its own.
  assert.ok(checkWithKeys(failed, { policy }).failure, "the shrunk trace fails again");
  assert.equal(traceKeys(clean, { policy }), traceKeys(clean, { policy: { ...policy } }));
});

test("same seed, same guided run; guidance changes the traces, blind runs keep none in a corpus", () => {
  const a = guidedRun({ seed: 7, ops: 3000 });
  const b = guidedRun({ seed: 7, ops: 3000 });
  assert.equal(a.coverage.toJSON(), b.coverage.toJSON());
  assert.is(a.ops, b.ops);
  assert.ok(a.mutants > 0 && a.corpus > 0);
  const blind = guidedRun({ seed: 7, ops: 3000, guide: false });
  assert.is(blind.mutants, 0);
  assert.is(blind.corpus, 0);
});

test("mutations keep the corpus trace's setup and are reproducible from their seed", () => {
  const trace = [
    { op: "create_vm", as: "v0", type: "default" },
    { op: "create_guest_memfd", vm: "v0", as: "g0", size: 1048576, flags: 0 },
    { op: "gmem_link", fd: "g0", vm: "v0", as: "g3", perm: ["r"], offset: 8192, len: 8192, mode: "donate" },
  ];
  const fresh = [{ op: "stats" }, { op: "fstat", fd: "g1" }];
  const m1 = Array.from({ length: 50 }, (_, k) => mutate(trace, rng(k), fresh));
  const m2 = Array.from({ length: 50 }, (_, k) => mutate(trace, rng(k), fresh));
  assert.equal(m1, m2);
  // Some mutant aims a fallocate at the donated window's last page (page 3) or just past it.
  assert.ok(m1.some((t) => t.some((o) => o.op === "fallocate" && (o.offset === 3 * 4096 || o.offset === 4 * 4096))));
});

test("V8 coverage of the policy module lists the branches that never ran, and only those", async () => {
  const report = await runShard({ campaign: "cov", seeds: [1, 1], ops: 3000, kernel: "6.18", guide: true, policy: policySource("examples/policies/sound.mjs") });
  const lines = uncoveredLines(report.policyCoverage!.source, report.policyCoverage!.uncovered).join("\n");
  // Re-links from linked files happen (a mutation makes them), so link()'s owner check denied some
  // and is not listed; a sound policy never violates its own property, so that branch never ran.
  assert.not.match(lines, /only the owner links"\);$/m);
  assert.match(lines, /`file \$\{bad\.file\} was shared with w`/);
  assert.equal(intersectRanges([[0, 10], [20, 30]], [[5, 25]]), [[5, 10], [20, 25]]);
});

test("merging reports is order-free and refuses reports of different campaigns or a seed twice", async () => {
  const policy = policySource("examples/policies/flawed-donor-allocates.mjs");
  const base = { campaign: "m", ops: 2000, kernel: "6.18", guide: true, policy };
  const a = await runShard({ ...base, seeds: [1, 2] });
  const b = await runShard({ ...base, seeds: [3, 3] });
  assert.equal(mergeReports([a, b]), mergeReports([b, a]));
  assert.equal(mergeReports([a, b]).seeds, [1, 2, 3]);
  assert.throws(() => mergeReports([a, a]), /seed 1 is in more than one report/);
  const other = await runShard({ ...base, ops: 1000, seeds: [4, 4] });
  assert.throws(() => mergeReports([a, other]), /not of one campaign: opsPerSeed differs/);
});

test("Kubernetes-style: one report file per seed (--seed N --report), merged by campaign merge, equals one --seeds run", () => {
  const dir = mkdtempSync(join(tmpdir(), "gmemsim-k8s-"));
  const common = ["--ops", "2000", "--policy", "examples/policies/flawed-reshare.mjs", "--campaign", "nightly"];
  for (const index of [0, 1, 2]) {
    const r = cli(["fuzz", "--seed", String(index), "--report", join(dir, "reports", `seed-${index}.json`), "--out", join(dir, "out"), ...common]);
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
  }
  const merged = cli(["campaign", "merge", join(dir, "reports"), "--json", "--out", join(dir, "merged")]);
  const whole = cli(["fuzz", "--seeds", "0..2", "--json", "--out", join(dir, "whole"), ...common]);
  assert.is(merged.status, whole.status, merged.stderr);
  assert.equal(JSON.parse(merged.stdout), JSON.parse(whole.stdout));
  const report = JSON.parse(merged.stdout);
  assert.equal(report.seeds, [0, 1, 2]);
  for (const v of report.violations) assert.is(readFileSync(join(dir, "merged", `fuzz-${v.seed}.jsonl`), "utf8"), v.repro);
  const text = cli(["campaign", "merge", join(dir, "reports")]);
  assert.match(text.stdout, /campaign nightly: policy flawed-reshare-escalates/);
  assert.match(text.stdout, /coverage: [\d,]+ semantic keys/);
});

test("bad campaign input is refused with a sentence naming the option", () => {
  assert.match(cli(["fuzz", "--seeds", "5..2"]).stderr, /option '--seeds <A\.\.B>' argument '5\.\.2' is invalid\. It takes a range A\.\.B of seeds/);
  assert.match(cli(["fuzz", "--seeds", "1..2", "--seconds", "3"]).stderr, /--seconds does not apply/);
  assert.match(cli(["fuzz", "--queue", "http://x", "--campaign", "c", "--seeds", "1..2"]).stderr, /--queue takes a redis:\/\/ URL/);
  assert.match(cli(["fuzz", "--campaign", "a b", "--seeds", "1..2"]).stderr, /--campaign takes a name of letters/);
  assert.match(cli(["campaign", "merge", "/nonexistent-dir"]).stderr, /cannot read the directory/);
  assert.match(cli(["campaign", "status", "x"]).stderr, /needs --queue/);
  assert.match(cli(["campaign", "frob", "x"]).stderr, /campaign takes status, report or merge, not "frob"/);
  assert.match(cli(["worker"]).stderr, /required option '--queue <URL>' not specified/);
  assert.match(cli(["fuzz", "--compare", "--seed", "1"]).stderr, /--compare takes --policy, --seeds, --ops, --kernel and --json, not --seed/);
});

test("fuzz --compare counts ops to detection guided and blind on each policy and seed", () => {
  const r = cli(["fuzz", "--compare", "--policy", "examples/policies/flawed-donor-allocates.mjs", "--seeds", "2..3", "--ops", "10000", "--json"]);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.is(out.rows.length, 2);
  for (const row of out.rows) assert.ok(row.guided !== null && row.guided <= 10000 && row.shrunk <= 12, JSON.stringify(row));
  assert.is(out.summary[0].policy, "flawed-donor-allocates");
});

test.run();
