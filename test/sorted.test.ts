/**
 * BlockList (src/sorted.ts) against a plain array: random runs of every
 * operation, on blocks small enough that a run splits and merges many, give
 * the same items, indexes and answers; blocks stay few.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { BlockList, lowerBound } from "../src/sorted.js";

interface Item {
  key: number;
  tag: number;
}
const key = (x: Item) => x.key;

type Step =
  | { kind: "insertSorted"; key: number }
  | { kind: "removeSorted"; pick: number }
  | { kind: "insertAt"; at: number; key: number }
  | { kind: "removeAt"; at: number }
  | { kind: "set"; at: number }
  | { kind: "lowerBound"; key: number }
  | { kind: "at"; at: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("insertSorted" as const), key: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant("removeSorted" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("insertAt" as const), at: fc.nat(), key: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant("removeAt" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("lowerBound" as const), key: fc.integer({ min: -1, max: 41 }) }),
  fc.record({ kind: fc.constant("at" as const), at: fc.integer({ min: -2, max: 300 }) }),
);

test("a BlockList does what an array does, through splits and merges of its blocks", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.array(step, { maxLength: 400 }), (cap, steps) => {
      const list = new BlockList<Item>([], cap);
      const model: Item[] = [];
      // insertAt and set keep no order: a run of them and the sorted operations is checked on an unsorted model
      // only by index; the sorted operations run while the model is sorted.
      let sorted = true;
      let tag = 0;
      for (const s of steps) {
        if (s.kind === "insertSorted" && sorted) {
          const x = { key: s.key, tag: tag++ };
          list.insertSorted(x, key);
          model.splice(lowerBound(model, s.key, key), 0, x);
        } else if (s.kind === "removeSorted" && sorted && model.length) {
          const x = model[s.pick % model.length];
          assert.ok(list.removeSorted(x, key));
          model.splice(model.indexOf(x), 1);
          assert.not.ok(list.removeSorted(x, key), "an item taken out is not found again");
        } else if (s.kind === "insertAt") {
          const at = s.at % (model.length + 1);
          const x = { key: s.key, tag: tag++ };
          list.insertAt(at, x);
          model.splice(at, 0, x);
          sorted &&= (at === 0 || model[at - 1].key <= s.key) && (at === model.length - 1 || s.key <= model[at + 1].key);
        } else if (s.kind === "removeAt" && model.length) {
          const at = s.at % model.length;
          assert.is(list.removeAt(at), model.splice(at, 1)[0]);
        } else if (s.kind === "set" && model.length) {
          const at = s.at % model.length;
          const x = { key: model[at].key, tag: tag++ };
          list.set(at, x);
          model[at] = x;
        } else if (s.kind === "lowerBound" && sorted) {
          assert.is(list.lowerBound(s.key, key), lowerBound(model, s.key, key));
        } else if (s.kind === "at") {
          assert.is(list.at(s.at), model[s.at]);
        }
        assert.is(list.length, model.length);
      }
      assert.equal(list.toArray(), model);
      assert.equal([...list], model);
      for (let i = 0; i < model.length; i++) assert.is(list.at(i), model[i]);
      // Every block but those at a split's edge holds a quarter of `cap` or more: about 4 / cap blocks per item at most.
      assert.ok(list.blockCount <= Math.ceil((4 * model.length) / cap) + 2, `${list.blockCount} blocks for ${model.length} items of ${cap} a block`);
    }),
    { numRuns: 3000 },
  );
});

test("a BlockList whose last block is emptied finds its items again (the block it had found is gone)", () => {
  const [a, b, c] = [1, 2, 3].map((k) => ({ key: k, tag: 0 }));
  const list = new BlockList<Item>([a, b, c], 2);
  assert.is(list.blockCount, 2);
  assert.is(list.removeAt(2), c);
  // Put back at once: where it goes is found from the block found last.
  list.insertSorted(c, key);
  assert.equal(list.toArray(), [a, b, c]);
  assert.is(list.removeAt(2), c);
  assert.is(list.at(1), b);
  assert.is(list.lowerBound(3, key), 2);
});

test("a BlockList filled in bulk and sorted, then searched", () => {
  const list = new BlockList<Item>([], 4);
  for (const k of [9, 3, 7, 1, 5, 3, 8, 0, 2]) list.push({ key: k, tag: 0 });
  list.sortBy(key);
  assert.equal(list.toArray().map(key), [0, 1, 2, 3, 3, 5, 7, 8, 9]);
  assert.is(list.lowerBound(3, key), 3);
  assert.is(list.lowerBound(4, key), 5);
  assert.is(list.lowerBound(10, key), 9);
  assert.ok(list.some((x, i) => i === 5 && x.key === 5));
  assert.throws(() => list.insertAt(11, { key: 0, tag: 0 }), /outside \[0, 9\]/);
  assert.throws(() => list.removeAt(9), /outside \[0, 9\)/);
});

test.run();
