/**
 * The block map's two directory forms (assembly/blockmap.ts): a flat array
 * indexed by block number while a map's blocks lie within 30 consecutive block
 * numbers, a B+tree past that. Driven through a page cache (the stage-2 tables
 * use the same map), with the form read from the core's counters and the pages
 * from its snapshot.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import * as A from "../src/abi/core-abi.js";
import type { EngineExports } from "../src/core/engine.js";
import { rawInstance, runRaw, type Cmd } from "./helpers/raw-core.js";

const release = new WebAssembly.Module(readFileSync(new URL("../build/gmemsim.wasm", import.meta.url)));
/** The debug build: its assertions check every cached block against the directory. */
const debug = new WebAssembly.Module(readFileSync(new URL("../build/gmemsim.debug.wasm", import.meta.url)));

/** Keys per block and blocks per flat directory (blockmap.ts). */
const BLOCK = 64;
const FLAT = 30;

function core(module = release) {
  const x = rawInstance(module) as EngineExports;
  const run = (...cmds: Cmd[]): number[][] => runRaw(x, cmds);
  /** VM 0's SPTE gfns, in the snapshot's order, as the last pages() call found them. */
  let sptes: number[] = [];
  /** Inode 0's pages as [pgoff, pfn], in the snapshot's order. */
  const pages = (): [number, number][] => {
    sptes = [];
    const n = x.snapshot();
    const s = new Float64Array(x.memory.buffer, x.snapshotPtr(), n);
    let i = 0;
    const out: [number, number][] = [];
    for (;;) {
      const tag = s[i++];
      if (tag === A.SNAP_INODE) {
        const id = s[i];
        i += 5;
        for (let k = s[i - 1]; k > 0; k--, i += 5) if (id === 0) out.push([s[i], s[i + 1]]);
      } else if (tag === A.SNAP_FILE) {
        i += 4;
        i += 1 + s[i] * 3;
        i += 1 + s[i] * 2;
      } else if (tag === A.SNAP_VM) {
        const id = s[i];
        i += 2 + s[i + 1] * 7;
        for (let k = s[i++]; k > 0; k--, i += 3) if (id === 0) sptes.push(s[i]);
        i += 5;
      } else if (tag === A.SNAP_ATTR) {
        i += 2 + s[i + 1] * 2;
      } else if (tag === A.SNAP_END) {
        return out;
      } else {
        throw new Error(`unexpected snapshot tag ${tag}`);
      }
    }
  };
  const form = () => ({ flat: x.flatDirs(), nodes: x.btreeNodes() });
  run([A.OP_INODE_CREATE, 0, 1 << 24, A.INODE_ANON, 0]);
  return { x, run, pages, form, sptes: () => (pages(), sptes) };
}

/** Allocate one page per pgoff, in the order given; returns pgoff -> pfn as a model. */
function allocate(c: ReturnType<typeof core>, pgoffs: number[], model = new Map<number, number>()) {
  for (const p of pgoffs) {
    const [r] = c.run([A.OP_ALLOCATE, 0, p, p + 1]);
    assert.equal(r.slice(0, 2), [A.RES_OK, 1], `allocate ${p}`);
    model.set(p, c.pages().find((e) => e[0] === p)![1]);
  }
  return model;
}

const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);

test("a map whose blocks lie within 30 consecutive block numbers keeps a flat directory and no B+tree node", () => {
  const c = core();
  const model = allocate(c, Array.from({ length: FLAT }, (_, b) => (FLAT - 1 - b) * BLOCK + 7));
  assert.equal(c.form(), { flat: 1, nodes: 0 });
  assert.equal(c.pages(), sorted(model), "pages in ascending pgoff");
});

test("a block number past the flat directory's 30 turns it into a B+tree, every page kept in order", () => {
  const c = core();
  const model = allocate(c, Array.from({ length: FLAT }, (_, b) => b * BLOCK + (b % BLOCK)));
  assert.equal(c.form(), { flat: 1, nodes: 0 }, "blocks 0 .. 29 fit");
  allocate(c, [FLAT * BLOCK], model);
  assert.equal(c.form(), { flat: 0, nodes: 1 }, "block 30 does not");
  assert.equal(c.pages(), sorted(model));
  // Every page is still found where it is: a punch of each one page removes exactly it.
  for (const [p] of sorted(model)) assert.equal(c.run([A.OP_PUNCH, 0, p, p + 1])[0].slice(0, 2), [A.RES_OK, 1], `punch ${p}`);
  assert.equal([c.x.flatDirs(), c.x.btreeNodes(), c.x.mapBlocks()], [0, 0, 0], "nothing left behind");
});

test("a block below the flat window moves the window down while every block still fits, then the map becomes a B+tree", () => {
  const c = core();
  // Block 100 starts a window at 96 (rounded down to 16); block 80 moves it to 80 (80 .. 109 holds 100).
  const model = allocate(c, [100 * BLOCK + 3, 80 * BLOCK + 63, 109 * BLOCK]);
  assert.equal(c.form(), { flat: 1, nodes: 0 });
  assert.equal(c.pages(), sorted(model));
  // Block 79 with block 109: 31 block numbers, past the flat form.
  allocate(c, [79 * BLOCK + 1], model);
  assert.equal(c.form(), { flat: 0, nodes: 1 });
  assert.equal(c.pages(), sorted(model));
});

test("a B+tree directory turns flat again once removals leave its blocks within 16 block numbers, not before", () => {
  const c = core();
  const model = allocate(c, [0, 10 * BLOCK, 20 * BLOCK + 1, 40 * BLOCK + 2]);
  assert.equal(c.form(), { flat: 0, nodes: 1 });
  // Blocks 10, 20 and 40 left: a span of 31.
  c.run([A.OP_PUNCH, 0, 0, 1]);
  model.delete(0);
  assert.equal(c.form(), { flat: 0, nodes: 1 });
  // Blocks 20 and 40: a span of 21, within the window of 30 but not within 16: still a B+tree.
  c.run([A.OP_PUNCH, 0, 10 * BLOCK, 10 * BLOCK + 1]);
  model.delete(10 * BLOCK);
  assert.equal(c.form(), { flat: 0, nodes: 1 });
  assert.equal(c.pages(), sorted(model));
  // A range punch over block 20 leaves block 40 alone: flat again, its page kept.
  c.run([A.OP_PUNCH, 0, 15 * BLOCK, 39 * BLOCK]);
  model.delete(20 * BLOCK + 1);
  assert.equal(c.form(), { flat: 1, nodes: 0 });
  assert.equal(c.pages(), sorted(model));
  // And the flat form works on from there: a block 29 below it fits the window.
  allocate(c, [11 * BLOCK + 4], model);
  assert.equal(c.form(), { flat: 1, nodes: 0 });
  assert.equal(c.pages(), sorted(model));
});

test("emptying a map frees its flat directory, and emptying its B+tree lets the next page start a flat one again", () => {
  const c = core();
  allocate(c, [5, 6, 64 * 3]);
  assert.equal(c.run([A.OP_PUNCH, 0, 0, 1 << 24])[0].slice(0, 2), [A.RES_OK, 3]);
  assert.equal([c.x.flatDirs(), c.x.btreeNodes(), c.x.mapBlocks()], [0, 0, 0]);
  allocate(c, [0, 1 << 20]);
  assert.equal(c.form(), { flat: 0, nodes: 1 });
  assert.equal(c.run([A.OP_PUNCH, 0, 0, 1 << 24])[0].slice(0, 2), [A.RES_OK, 2]);
  assert.equal([c.x.flatDirs(), c.x.btreeNodes(), c.x.mapBlocks()], [0, 0, 0]);
  allocate(c, [1 << 20]);
  assert.equal(c.form(), { flat: 1, nodes: 0 });
});

test("random allocations and range punches over both directory forms keep exactly a Map model's pages, debug build", () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let flatSeen = 0, treeSeen = 0;
  for (let round = 0; round < 8; round++) {
    const c = core(debug);
    const model = new Map<number, number>();
    // Windows of 4 to 13 blocks (these stay flat) or 30 to 59 (these switch, and come back after emptying).
    const span = (round % 2 ? 4 + rand(10) : 30 + rand(30)) * BLOCK;
    const origin = rand(200) * BLOCK;
    for (let step = 0; step < 300; step++) {
      const at = origin + rand(span);
      if (rand(3) !== 0) {
        const len = 1 + (rand(4) === 0 ? rand(3 * BLOCK) : rand(3));
        const before = model.size;
        for (let p = at; p < at + len; p++) if (!model.has(p)) model.set(p, -1);
        const [r] = c.run([A.OP_ALLOCATE, 0, at, at + len]);
        assert.equal(r.slice(0, 2), [A.RES_OK, model.size - before], `allocate [${at}, ${at + len})`);
        for (const [p, pfn] of c.pages()) if (model.get(p) === -1) model.set(p, pfn);
      } else {
        const len = 1 + (rand(3) === 0 ? rand(8 * BLOCK) : rand(BLOCK));
        let gone = 0;
        for (let p = at; p < at + len; p++) if (model.delete(p)) gone++;
        const [r] = c.run([A.OP_PUNCH, 0, at, at + len]);
        assert.equal(r.slice(0, 2), [A.RES_OK, gone], `punch [${at}, ${at + len})`);
      }
      assert.equal(c.pages(), sorted(model), `step ${step}`);
      if (c.x.flatDirs() === 1) flatSeen++;
      if (c.x.btreeNodes() > 0) treeSeen++;
    }
    c.run([A.OP_PUNCH, 0, 0, 1 << 24]);
    assert.equal([c.x.flatDirs(), c.x.btreeNodes(), c.x.mapBlocks()], [0, 0, 0], "nothing left behind");
  }
  assert.ok(flatSeen > 100 && treeSeen > 100, `both forms exercised (flat ${flatSeen}, B+tree ${treeSeen} steps)`);
});

test("a stage-2 table keeps a flat directory while its SPTEs lie within 30 blocks, and zaps across both forms remove exactly the SPTEs in range", () => {
  const c = core();
  c.run(
    [A.OP_VM_CREATE, 0],
    [A.OP_INODE_CREATE, 1, 1 << 16, A.INODE_GMEM, 1],
    [A.OP_FILE_CREATE, 0, 1, 0, A.RIGHTS_ALL],
    [A.OP_SLOT_CREATE, 0, 0, 0, 1 << 16, 0, 0, A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY],
  );
  const touch = (gfns: number[]) => {
    for (const g of gfns) assert.is(c.run([A.OP_GUEST_ACCESS, 0, g, A.ACCESS_READ, 0, 0, 0])[0][0], A.RES_OK, `read gfn ${g}`);
  };
  const mapped = new Set<number>();
  const gfns = Array.from({ length: FLAT }, (_, b) => b * BLOCK + 2 * b);
  touch(gfns);
  gfns.forEach((g) => mapped.add(g));
  // The page cache of inode 1 and the VM's table: a flat directory each.
  assert.equal(c.form(), { flat: 2, nodes: 0 });
  assert.equal(c.sptes(), [...mapped].sort((a, b) => a - b));
  /** Punch pgoffs [lo, hi) of inode 1 (gfn = pgoff here): its pages go, and kvm_gmem_invalidate_begin() zaps their SPTEs. */
  const punch = (lo: number, hi: number) => {
    const gone = [...mapped].filter((g) => g >= lo && g < hi);
    assert.equal(c.run([A.OP_PUNCH, 1, lo, hi])[0].slice(0, 2), [A.RES_OK, gone.length], `punch [${lo}, ${hi})`);
    gone.forEach((g) => mapped.delete(g));
  };
  // Blocks 3 .. 10 in the flat form: a partial block at each end (the last keeps its SPTE), whole ones between.
  punch(3 * BLOCK + 5, 10 * BLOCK + 15);
  assert.equal(c.sptes(), [...mapped].sort((a, b) => a - b));
  assert.is(mapped.size, FLAT - 7, "blocks 3 .. 9 lost their SPTE, block 10 kept its (gfn 660)");
  // Block 40: both maps become B+trees.
  touch([40 * BLOCK + 1, 40 * BLOCK + 2]);
  mapped.add(40 * BLOCK + 1).add(40 * BLOCK + 2);
  assert.equal(c.form(), { flat: 0, nodes: 2 });
  assert.equal(c.sptes(), [...mapped].sort((a, b) => a - b));
  punch(20 * BLOCK, 40 * BLOCK + 2);
  assert.equal(c.sptes(), [...mapped].sort((a, b) => a - b));
  punch(0, 1 << 16);
  assert.equal(c.sptes(), []);
  assert.equal([c.x.flatDirs(), c.x.btreeNodes(), c.x.mapBlocks()], [0, 0, 0], "nothing left behind");
});

test.run();
