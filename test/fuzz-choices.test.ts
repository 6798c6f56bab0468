/**
 * The fuzzer's op arbitraries (src/fuzz/choices.ts): drawn as choices, one
 * fast-check Value per op. They must shrink a failing op to its simplest
 * fields, draw the ops with their weights, and be reproducible from a seed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { DEFAULT_WEIGHTS, opArbitrary, rec as recordOf } from "../src/fuzz/arbitraries.js";
import { choice, int, one, pick, rec } from "../src/fuzz/choices.js";

test("a failing op shrinks to its simplest fields: first values, range minimums, what the failure needs", () => {
  const r = fc.check(
    fc.property(opArbitrary(), (op) => !(op.op === "fallocate" && typeof op.offset === "number" && op.offset >= 8192)),
    { seed: 1 },
  );
  assert.ok(r.failed);
  assert.equal(r.counterexample![0], { op: "fallocate", fd: "g0", mode: "KEEP_SIZE", offset: 8192, len: 4096 });
  const perm = fc.check(
    fc.property(opArbitrary(), (op) => !(op.op === "gmem_link" && Array.isArray(op.perm) && op.perm.includes("punch"))),
    { seed: 2 },
  );
  // The link's optional window (offset, len) is left out, and its rights shrink to the one the failure needs.
  assert.equal(perm.counterexample![0], { op: "gmem_link", fd: "g0", vm: "v0", as: "g0", perm: ["punch"], mode: "share" });
});

test("a shrunk choice of branch re-reads the choices after it, and an optional field shrinks away", () => {
  const arb = choice(one([1, rec({ a: int(0, 9) })], [3, rec({ b: pick("x", "y", "z"), c: int(5, 50) }, ["c"])]));
  const r = fc.check(fc.property(arb, (v) => !("b" in v && v.b !== "x")), { seed: 3 });
  assert.equal(r.counterexample![0], { b: "y" });
  const any = fc.check(fc.property(arb, () => false), { seed: 4 });
  assert.equal(any.counterexample![0], { a: 0 });
});

test("ops come with their weights", () => {
  const ops = fc.sample(opArbitrary(), { seed: 5, numRuns: 20_000 });
  const total = Object.values(DEFAULT_WEIGHTS).reduce((a, w) => a + w, 0);
  const seen = new Map<string, number>();
  for (const o of ops) {
    // read and pread draw their write twins too.
    const name = o.op === "write" ? "read" : o.op === "pwrite" ? "pread" : String(o.op);
    seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  for (const [name, w] of Object.entries(DEFAULT_WEIGHTS)) {
    const share = (seen.get(name) ?? 0) / ops.length;
    const want = w / total;
    assert.ok(Math.abs(share - want) < 0.3 * want + 0.002, `${name}: ${(100 * share).toFixed(2)}% of ops, weight ${(100 * want).toFixed(2)}%`);
  }
});

test("a seed draws the same ops", () => {
  assert.equal(fc.sample(opArbitrary(), { seed: 6, numRuns: 200 }), fc.sample(opArbitrary(), { seed: 6, numRuns: 200 }));
  assert.not.equal(fc.sample(opArbitrary(), { seed: 6, numRuns: 200 }), fc.sample(opArbitrary(), { seed: 7, numRuns: 200 }));
});

test("rec() (the setup's and the sequences' records) draws and shrinks as fc.record does, as plain objects", () => {
  const model = {
    types: fc.array(fc.constantFrom("default", "sw_protected"), { minLength: 3, maxLength: 3 }),
    vms: fc.integer({ min: 1, max: 3 }),
    files: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom<unknown>(["MMAP"], "MMAP", 0)), { minLength: 1, maxLength: 3 }),
    mapped: fc.boolean(),
  };
  const plain = (o: object) => ({ ...o });
  for (const seed of [1, 2, 3]) {
    const ours = fc.sample(recordOf(model), { seed, numRuns: 50 });
    assert.equal(ours.map(plain), fc.sample(fc.record(model), { seed, numRuns: 50 }).map(plain));
    assert.ok(ours.every((o) => Object.getPrototypeOf(o) === Object.prototype));
  }
  // The same failure, shrunk along the same path to the same counterexample.
  const failing = (arb: fc.Arbitrary<{ vms: number; files: unknown[] }>) =>
    fc.check(
      fc.property(arb, (o) => o.vms < 3 || o.files.length < 2),
      { seed: 4, numRuns: 500 },
    );
  const x = failing(recordOf(model));
  const y = failing(fc.record(model));
  assert.ok(x.failed && y.failed);
  assert.equal(plain(x.counterexample![0]), plain(y.counterexample![0]));
  assert.is(x.numShrinks, y.numShrinks);
  assert.is(x.counterexamplePath, y.counterexamplePath);
});

test.run();
