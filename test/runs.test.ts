import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { RunList, type Run } from "../src/check/runs.js";

/** The runs of a set of pages, ascending, none touching the next. */
function runsOf(pages: ReadonlySet<number>): Run[] {
  const out: Run[] = [];
  for (const p of [...pages].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && last[1] === p) last[1] = p + 1;
    else out.push([p, p + 1]);
  }
  return out;
}

const touching = (runs: readonly Run[], s: number, e: number) => runs.filter(([a, b]) => b >= s && a <= e);

test("a run list kept by replacing the runs around each conversion equals the set's runs, in blocks that stay few", () => {
  const conversion = fc.record({ at: fc.nat(200), pages: fc.integer({ min: 1, max: 12 }), set: fc.boolean() });
  fc.assert(
    fc.property(fc.array(fc.nat(200), { maxLength: 80 }), fc.array(conversion, { minLength: 1, maxLength: 120 }), fc.integer({ min: 2, max: 8 }), (initial, conversions, block) => {
      const pages = new Set(initial);
      const list = RunList.from(runsOf(pages), block);
      for (const c of conversions) {
        const old = runsOf(pages);
        for (let p = c.at; p < c.at + c.pages; p++) {
          if (c.set) pages.add(p);
          else pages.delete(p);
        }
        const now = runsOf(pages);
        const replaced = list.replaceAround(c.at, c.at + c.pages, touching(now, c.at, c.at + c.pages));
        assert.equal(replaced, touching(old, c.at, c.at + c.pages), "the runs replaced are those that overlapped or touched the range");
        assert.equal(list.toArray(), now);
        assert.is(list.size, now.length);
        // Every block at least half full, but one.
        assert.ok(list.blockCount <= Math.ceil((2 * now.length) / block) + 1, `${list.blockCount} blocks for ${now.length} runs of ${block}`);
      }
      for (let p = 0; p < 215; p++) assert.is(list.has(p), pages.has(p), `page ${p}`);
    }),
    { numRuns: 300, seed: 17 },
  );
});

test("a run list whose blocks lose most of their runs keeps few blocks: what is left under half a block takes in its neighbours", () => {
  const block = 8;
  const runs: Run[] = Array.from({ length: 80 }, (_, k) => [2 * k, 2 * k + 1] as Run);
  const list = RunList.from(runs, block);
  assert.is(list.blockCount, 10);
  // Each block of 8 runs loses 7 (pages 16b + 2 .. 16b + 15 made shared): one run left per block's worth.
  for (let b = 0; b < 10; b++) list.replaceAround(16 * b + 2, 16 * b + 15, touching([[16 * b, 16 * b + 1]], 16 * b + 2, 16 * b + 15));
  assert.equal(list.toArray(), Array.from({ length: 10 }, (_, b) => [16 * b, 16 * b + 1]));
  assert.ok(list.blockCount <= 2, `${list.blockCount} blocks for 10 runs of ${block}`);
});

test("an empty run list has no page, takes runs anywhere, and empties again", () => {
  const list = new RunList(2);
  assert.is(list.has(0), false);
  assert.equal(list.replaceAround(5, 6, []), []);
  assert.equal(list.replaceAround(5, 6, [[5, 6]]), []);
  assert.equal(list.replaceAround(0, 1, [[0, 1]]), []);
  assert.equal(list.replaceAround(9, 10, [[9, 10]]), []);
  assert.equal(list.toArray(), [[0, 1], [5, 6], [9, 10]]);
  assert.equal(list.replaceAround(0, 10, []), [[0, 1], [5, 6], [9, 10]]);
  assert.is(list.size, 0);
  assert.is(list.blockCount, 0);
});

test.run();
