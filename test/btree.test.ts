/**
 * The core's B+tree (assembly/btree.ts) through the page cache, at keys the
 * other suites do not reach: past 2^63, where a signed 64-bit compare would
 * order keys wrongly, low halves on both sides of 2^31 (the same for 32-bit
 * compares in leaves, which keep a key's low half), and up to the last page
 * a double can name. Keys must sort as unsigned integers in internal nodes
 * (separators) as in leaves. Debug build (its assertions check the tree's
 * structure as it goes), then release build.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import * as A from "../src/abi/core-abi.js";
import { rawInstance, runRaw, type Cmd } from "./helpers/raw-core.js";

const builds = {
  release: new WebAssembly.Module(readFileSync(new URL("../build/gmemsim.wasm", import.meta.url))),
  debug: new WebAssembly.Module(readFileSync(new URL("../build/gmemsim.debug.wasm", import.meta.url))),
};

function core(module: WebAssembly.Module) {
  const x = rawInstance(module);
  /** Runs the commands; returns each result's value word. */
  const run = (...cmds: Cmd[]): number[] => runRaw(x, cmds).map((r) => r[1]);
  return { x, run };
}

/** Doubles name pages up to 2^64 only in steps of 2^11: blocks of that many pages. */
const BLOCK = 2 ** 11;
/**
 * Runs of blocks across 2^63, across 2^63 + 2^31 (leaves keep a key's low 32
 * bits: these cross 2^31 there) and just below 2^64 (2^64 itself reads as
 * 2^64 - 1: no block ends there).
 */
const STARTS = [2 ** 63 - 20 * BLOCK, 2 ** 63 + 2 ** 31 - 20 * BLOCK, 2 ** 64 - 41 * BLOCK];

// The debug build first: its assertions stop a misordered tree at once, where the release build could loop.
test("page cache keys on both sides of 2^63 and up to 2^64 keep unsigned order through allocations and punches (debug, then release build)", () => {
  for (const [name, module] of [["debug", builds.debug], ["release", builds.release]] as const) {
    const { x, run } = core(module);
    run([A.OP_INODE_CREATE, 0, 2 ** 64, A.INODE_ANON, 0]);
    // Each region's block starts; a run never leaves its region (the gap between them is 2^63 pages).
    const regions = STARTS.map((s) => Array.from({ length: 40 }, (_, b) => s + b * BLOCK));
    const blocks = regions.flat();
    const present = new Set<number>();
    let seed = 5;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), Math.floor((seed / 2 ** 31) * n));
    for (let round = 0; round < 300; round++) {
      // A run of 1 to 4 whole blocks of one region: allocate two times in three, else punch.
      const region = regions[rnd(regions.length)];
      const i = rnd(region.length);
      const span = region.slice(i, i + 1 + rnd(4));
      const lo = span[0], hi = span[span.length - 1] + BLOCK;
      const alloc = rnd(3) !== 0;
      const want = span.filter((b) => present.has(b) !== alloc).length * BLOCK;
      for (const b of span) alloc ? present.add(b) : present.delete(b);
      const [got] = run([alloc ? A.OP_ALLOCATE : A.OP_PUNCH, 0, lo, hi]);
      assert.is(got, want, `${name} build, round ${round}: ${alloc ? "allocate" : "punch"} [${lo}, ${hi})`);
    }
    // Every block answers for itself, in both halves of the key space.
    const counts = run(...blocks.map((b): Cmd => [A.OP_COUNT_PRESENT, 0, b, b + BLOCK]));
    assert.equal(counts, blocks.map((b) => (present.has(b) ? BLOCK : 0)));
    const [all] = run([A.OP_COUNT_PRESENT, 0, 0, 2 ** 64]);
    assert.is(all, present.size * BLOCK);
    // A punch of everything frees every node.
    run([A.OP_PUNCH, 0, 0, 2 ** 64]);
    assert.is(x.btreeNodes(), 0, `${name} build: every node went back to the pool`);
  }
});

test.run();
