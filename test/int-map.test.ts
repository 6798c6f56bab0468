/**
 * IntMap (src/check/int-map.ts) against a Map: random runs of sets, deletes
 * and lookups over keys dense and sparse, up to 2^53, give the same answers,
 * size and entries; iteration skips a key deleted on the way, as a Map's does.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { IntMap } from "../src/check/int-map.js";

const key = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(63, 64, 127, 128, 2 ** 52, 2 ** 53 - 1), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const step = fc.record({ kind: fc.constantFrom("set", "delete", "get", "has"), key });

test("an IntMap answers as a Map does", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const m = new IntMap<{ k: number }>();
      const model = new Map<number, { k: number }>();
      for (const s of steps) {
        if (s.kind === "set") {
          const v = { k: s.key };
          m.set(s.key, v);
          model.set(s.key, v);
        } else if (s.kind === "delete") assert.is(m.delete(s.key), model.delete(s.key));
        else if (s.kind === "get") assert.is(m.get(s.key), model.get(s.key));
        else assert.is(m.has(s.key), model.has(s.key));
        assert.is(m.size, model.size);
      }
      const sorted = <T>(a: Array<[number, T]>) => a.sort((x, y) => x[0] - y[0]);
      assert.equal(sorted([...m]), sorted([...model]));
      assert.equal([...m.keys()].sort((a, b) => a - b), [...model.keys()].sort((a, b) => a - b));
      assert.equal(new Set(m.values()), new Set(model.values()));
      const each: Array<[number, { k: number }]> = [];
      m.forEach((v, k) => each.push([k, v]));
      assert.equal(sorted(each), sorted([...model]));
    }),
    { numRuns: 2000 },
  );
});

test("an IntMap's iteration skips what is deleted on the way and goes on", () => {
  const m = new IntMap<number>();
  for (const k of [1, 2, 3, 64, 65, 200]) m.set(k, k);
  const seen: number[] = [];
  for (const [k] of m) {
    seen.push(k);
    if (k === 1) m.delete(3);
    if (k === 2) m.delete(64);
  }
  assert.equal(seen, [1, 2, 65, 200]);
  assert.is(m.size, 4);
  m.clear();
  assert.is(m.size, 0);
  assert.equal([...m], []);
});

test.run();
