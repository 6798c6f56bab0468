/**
 * The playground's picture of the state and of each op's effect (src/web/scene.ts),
 * in Node: what the page draws and animates, checked without a browser.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { Simulator } from "../src/index.js";
import { readSnapshot } from "../src/check/index.js";
import { effectOf, sceneOf, type NameBook } from "../src/web/scene.js";
import { drawScene } from "../src/web/draw.js";

const root = new URL("..", import.meta.url).pathname;
const scenario = (f: string) =>
  readFileSync(`${root}examples/scenarios/${f}`, "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.trim().startsWith("#"));

/** Runs `lines` and returns the effect of line `k` with the names the trace gave its objects. */
function effectAt(lines: string[], k: number) {
  const sim = new Simulator();
  const names: NameBook = new Map();
  let before = readSnapshot(sim.snapshot());
  let result: Record<string, unknown> = {};
  for (let n = 0; n <= k; n++) {
    result = sim.apply([lines[n]])[0];
    const after = readSnapshot(sim.snapshot());
    const op = JSON.parse(lines[n]);
    if (typeof op.as === "string") {
      for (const id of after.vms.keys()) if (!before.vms.has(id)) names.set(`vm:${id}`, op.as);
      for (const id of after.files.keys()) if (!before.files.has(id)) names.set(`file:${id}`, op.as);
      for (const id of after.inodes.keys()) if (!before.inodes.has(id)) names.set(`inode:${id}`, `inode of ${op.as}`);
    }
    if (n === k) {
      const fileKey = [...names].find(([, v]) => v === op.fd)?.[0];
      return { effect: effectOf(before, after, op, result, fileKey ? [fileKey] : [], names), scene: sceneOf(after, sim.host.events, names) };
    }
    before = after;
  }
  throw new Error("unreachable");
}

test("a punch through the owner's file zaps every VM that maps the pages, each at its own gfn (kvm_gmem_invalidate_begin)", () => {
  const lines = scenario("punch-three-vms.jsonl");
  const k = lines.findIndex((l) => l.includes('"fd": "ga"') && l.includes("PUNCH_HOLE"));
  const { effect, scene } = effectAt(lines, k);
  assert.equal(
    effect.zapped.map((z) => [z.vm, z.gfn, z.pgoff]),
    [
      [0, 0x14, 20],
      [1, 0x204, 20],
      [2, 0x40014, 20],
      [2, 0x40015, 21],
    ],
  );
  assert.equal(effect.freed.map((p) => p.pgoff), [20, 21]);
  assert.equal(effect.range, { inode: 0, start: 16, end: 32, what: "punch" });
  assert.match(effect.caption, /zapped VM a gfn 0x14; VM b gfn 0x204; VM c gfn 0x40014-0x40015/);
  // Drawn: one cross per lost SPTE, in each VM's memslot row.
  const { svg } = drawScene(scene, effect, { width: 1000 });
  const crosses = [...svg.matchAll(/data-vm="(\d+)" data-slot="\d+" data-sptes="\d+"[^>]*>.*?(?=<g class="[^"]*slot|$)/g)].map((m) => [Number(m[1]), [...m[0].matchAll(/data-zapped="(\d+)"/g)].reduce((n, z) => n + Number(z[1]), 0)]);
  assert.equal(crosses, [
    [0, 1],
    [1, 1],
    [2, 2],
  ]);
});

test("a donation blocks the window in the donor's file; a move hands the inode to the target's file and its context over", () => {
  let lines = scenario("donation.jsonl");
  let { effect, scene } = effectAt(lines, lines.findIndex((l) => l.includes('"mode": "donate"')));
  assert.equal(effect.donated, [{ file: 0, range: [16, 32] }]);
  assert.equal(effect.zapped.map((z) => z.gfn), [0x11, 0x12], "the donor's SPTEs in the window are zapped");
  assert.equal(scene.files.map((f) => [f.name, f.origin, f.blocked]), [
    ["ga", "owner", [[16, 32]]],
    ["gb", "donate", []],
  ]);
  lines = scenario("migration.jsonl");
  const link = lines.findIndex((l) => l.includes('"mode": "migrate"'));
  assert.ok(effectAt(lines, link).scene.files.find((f) => f.name === "gd")!.migrating, "gated until the move");
  ({ effect, scene } = effectAt(lines, lines.findIndex((l) => l.includes("move_enc_context_from"))));
  assert.equal(effect.moved, [{ vm: 1, from: 0, ctx: 1 }]);
  assert.equal(effect.handedOver, [{ file: 1 }]);
  assert.equal(scene.files.map((f) => [f.name, f.origin, f.migrating, f.perm]), [
    ["gs", "owner", false, []],
    ["gd", "migrated", false, ["r", "w", "x", "alloc", "punch"]],
  ]);
  assert.equal(scene.vms.map((v) => [v.name, v.movedAway]), [
    ["src", true],
    ["dst", false],
  ]);
});

test("an access says where it went: the memslot, the inode page, and the exit when refused", () => {
  const lines = scenario("share-readonly.jsonl");
  const k = lines.findIndex((l) => l.includes('"vm": "b"') && l.includes('"write"'));
  const sim = new Simulator();
  sim.apply(lines.slice(0, k));
  const before = readSnapshot(sim.snapshot());
  const r = sim.apply([lines[k]])[0];
  const { effect } = { effect: effectOf(before, readSnapshot(sim.snapshot()), JSON.parse(lines[k]), r, ["vm:1"], new Map([["vm:1", "b"], ["inode:0", "inode of ga"]])) };
  assert.equal(effect.access, { vm: 1, gfn: 0x40002, slot: 0, inode: 0, pgoff: 2, file: 1, what: "VM b write at gfn 0x40002 (memslot 0 -> inode of ga pgoff 2): exit memory_fault (EACCES)" });
});

test("a large state is summarised, never dropped: pages in buckets, rows past the limit counted", () => {
  const sim = new Simulator();
  const ops: object[] = [];
  for (let v = 0; v < 30; v++) ops.push({ op: "create_vm", as: `v${v}`, type: "default" });
  ops.push({ op: "create_guest_memfd", vm: "v0", as: "g", size: 1 << 30, flags: ["MMAP", "INIT_SHARED"] });
  ops.push({ op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 1 << 24 });
  for (let v = 0; v < 30; v++) {
    if (v) ops.push({ op: "gmem_link", fd: "g", vm: `v${v}`, as: `g${v}`, perm: ["r"], mode: "share" });
    ops.push({ op: "set_user_memory_region2", vm: `v${v}`, slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 1 << 30, guest_memfd: v ? `g${v}` : "g" });
    ops.push({ op: "vcpu_access", vm: `v${v}`, gpa: v * 4096, access: "read" });
  }
  assert.ok(sim.apply(ops).every((r) => !("error" in r) && !("errno" in r)));
  const snap = readSnapshot(sim.snapshot());
  const { svg } = drawScene(sceneOf(snap, sim.host.events, new Map()), null, { width: 1000 });
  const sum = (re: RegExp) => [...svg.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  assert.is(sum(/class="page[^"]*" data-pgoff="\d+" data-n="\d+" data-present="(\d+)"/g), 4096, "every present page is counted in some cell");
  assert.ok(/data-bucket="(\d+)"/.exec(svg)![1] !== "1", "cells stand for several pages");
  assert.is([...svg.matchAll(/data-obj="vm"/g)].length + sum(/data-obj="vm-summary" data-vms="(\d+)"/g), 30);
  assert.is([...svg.matchAll(/data-obj="file"/g)].length + sum(/data-obj="file-summary" data-files="(\d+)"/g), 30);
  assert.is(sum(/data-obj="slot"[^>]*data-sptes="(\d+)"/g) + sum(/data-obj="slot-summary" data-slots="\d+" data-sptes="(\d+)"/g), 30, "every SPTE counted");
});

test.run();
