/**
 * The checker's index of donations by donor file and window
 * (src/check/donations.ts) answers as a look at every donation would: the
 * donations of the file whose window overlaps the range (s < end, start < e,
 * empty and nested windows included), in the order they were made.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { DonationIndex, type Donation } from "../src/check/donations.js";

const window = fc.tuple(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 20 })).map(([s, n]) => [s, s + n] as const);
const donation = fc.record({ donor: fc.integer({ min: 0, max: 3 }), window });
const query = fc.record({ file: fc.integer({ min: 0, max: 4 }), range: window });

test("over() gives the donations of the file overlapping the range, in the order made, as a scan of all of them does", () => {
  fc.assert(
    fc.property(fc.array(donation, { maxLength: 60 }), fc.array(query, { minLength: 1, maxLength: 30 }), (adds, queries) => {
      const index = new DonationIndex();
      const all: Donation[] = [];
      for (const [k, a] of adds.entries()) {
        const d: Donation = { donor: a.donor, vm: 100 + a.donor, inode: 7, window: a.window };
        index.add(d);
        all.push(d);
        assert.is(index.donors, new Set(all.map((x) => x.donor)).size);
        // Asked as the donations come: the index is read between additions, as the checker reads it.
        if (k % 7 === 0) for (const q of queries.slice(0, 2)) assert.equal(index.over(q.file, q.range[0], q.range[1]), scan(all, q.file, q.range));
      }
      for (const q of queries) assert.equal(index.over(q.file, q.range[0], q.range[1]), scan(all, q.file, q.range));
    }),
    { numRuns: 2000, seed: 20261203 },
  );
});

function scan(all: readonly Donation[], file: number, [s, e]: readonly [number, number]): Donation[] {
  return all.filter((d) => d.donor === file && s < d.window[1] && d.window[0] < e);
}

test("a file with many windows answers a one-page question with the one window over it", () => {
  const index = new DonationIndex();
  for (let k = 0; k < 5000; k++) index.add({ donor: 1, vm: 2, inode: 3, window: [2 * k, 2 * k + 1] });
  index.add({ donor: 1, vm: 2, inode: 3, window: [4000, 4010] });
  assert.equal(index.over(1, 4001, 4002).map((d) => d.window), [[4000, 4010]]);
  assert.equal(index.over(1, 4000, 4001).map((d) => d.window), [[4000, 4001], [4000, 4010]]);
  assert.equal(index.over(1, 9999, 10000), []);
  assert.equal(index.over(2, 0, 100), []);
});

test.run();
