/**
 * The donated-page ranges (src/ranges.ts) against a set of pages: random
 * donations (overlapping, touching, apart, empty) give merged, ascending
 * lists whose pages are exactly those donated, and overlapsRanges() answers
 * as a look at every page would.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { addRange, overlapsRanges, setRange, type Ranges } from "../src/ranges.js";

const span = fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 12 })).map(([s, n]) => [s, s + n] as const);

test("addRange() on a frozen list keeps it merged and ascending, holding exactly the pages added, as a new list; overlapsRanges() agrees with the pages", () => {
  fc.assert(
    fc.property(fc.array(span, { maxLength: 30 }), fc.array(span, { minLength: 1, maxLength: 20 }), (adds, queries) => {
      let r: Ranges = [];
      const pages = new Set<number>();
      for (const [s, e] of adds) {
        const before = Object.freeze(r);
        const shown = JSON.stringify(before);
        r = addRange(before, s, e);
        for (let p = s; p < e; p++) pages.add(p);
        // The frozen list stays as it was; the same list comes back exactly when its pages did not change.
        assert.ok(JSON.stringify(before) === shown && (r === before) === (JSON.stringify(r) === shown), "a new list, never the old one changed");
      }
      for (let k = 0; k < r.length; k++) {
        assert.ok(r[k][0] < r[k][1], `range ${k} is not empty`);
        if (k > 0) assert.ok(r[k - 1][1] < r[k][0], `ranges ${k - 1} and ${k} are apart (merged when they touch)`);
      }
      const held = new Set<number>();
      for (const [s, e] of r) for (let p = s; p < e; p++) held.add(p);
      assert.equal([...held].sort((a, b) => a - b), [...pages].sort((a, b) => a - b));
      for (const [s, e] of queries) {
        let want = false;
        for (let p = s; p < e; p++) if (pages.has(p)) want = true;
        assert.is(overlapsRanges(r, s, e), want, `[${s}, ${e}) against ${JSON.stringify(r)}`);
      }
    }),
    { numRuns: 3000, seed: 20261202 },
  );
});

test("a list given to a policy is never changed by a later donation", () => {
  const first = Object.freeze(addRange(Object.freeze([]), 4, 8));
  const second = addRange(first, 8, 9);
  assert.equal(first, [[4, 8]]);
  assert.equal(second, [[4, 9]]);
});

test("addRange() gives the merged ranges of the pages added, in place on a list no one froze and as a new list on a frozen one", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(span, fc.boolean()), { maxLength: 30 }), (adds) => {
      let own: Ranges = Object.freeze([]);
      let fresh: Ranges = [];
      const added = new Set<number>();
      for (const [[s, e], freeze] of adds) {
        const before = own;
        const shown = JSON.stringify(before);
        // A policy that is not gmemsim's own is shown the list frozen, and may keep it.
        if (freeze) Object.freeze(before);
        own = addRange(before, s, e);
        for (let p = s; p < e; p++) added.add(p);
        fresh = rangesOf(added);
        assert.equal(own, fresh);
        if (Object.isFrozen(before)) assert.is(JSON.stringify(before), shown, "a frozen list is never changed");
        else assert.ok(own === before, "a list no one froze takes the range in place");
      }
    }),
    { numRuns: 2000, seed: 20261203 },
  );
});

test("setRange() sets pages in and out as a set of pages does, kept merged and ascending, and answers null when they did not change; a frozen list is copied", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(span, fc.boolean(), fc.boolean()), { maxLength: 40 }), (changes) => {
      let r: Ranges = Object.freeze([]);
      const pages = new Set<number>();
      for (const [[s, e], on, freeze] of changes) {
        if (freeze) Object.freeze(r);
        const before = r;
        const shown = JSON.stringify(before);
        const had = [...pages].sort((a, b) => a - b).join();
        for (let p = s; p < e; p++) on ? pages.add(p) : pages.delete(p);
        const next = setRange(r, s, e, on);
        assert.is(next !== null, [...pages].sort((a, b) => a - b).join() !== had, `changed, for ${on ? "set" : "clear"} [${s}, ${e})`);
        if (next !== null) r = next;
        if (Object.isFrozen(before)) assert.is(JSON.stringify(before), shown, "a frozen list is never changed");
        for (let k = 0; k < r.length; k++) {
          assert.ok(r[k][0] < r[k][1], `range ${k} is not empty`);
          if (k > 0) assert.ok(r[k - 1][1] < r[k][0], `ranges ${k - 1} and ${k} are apart`);
        }
        const held = new Set<number>();
        for (const [a, b] of r) for (let p = a; p < b; p++) held.add(p);
        assert.equal([...held].sort((a, b) => a - b), [...pages].sort((a, b) => a - b));
      }
    }),
    { numRuns: 2000, seed: 20261203 },
  );
});

/** The merged, ascending ranges of a set of pages (runs that touch are one). */
function rangesOf(pages: ReadonlySet<number>): Ranges {
  const out: Array<[number, number]> = [];
  for (const p of [...pages].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && last[1] === p) last[1] = p + 1;
    else out.push([p, p + 1]);
  }
  return out;
}

test.run();
