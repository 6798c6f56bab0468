/**
 * 64-bit byte arguments are split into pages once (src/kvm/bytes.ts), so the
 * rules run on numbers: a number and the same value as a bigint must get the
 * same answer and leave the same state, including at the 2^53 and 2^63 edges.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Simulator } from "../src/api/simulator.js";
import { digestSnapshot } from "../src/core/digest.js";
import * as fal from "../src/kvm/ops/fallocate.js";
import { splitBytes } from "../src/kvm/bytes.js";

const edges = [0n, 1n, 4095n, 4096n, 4097n, (1n << 40n) - 4096n, 1n << 40n, (1n << 53n) - 1n, 1n << 53n, (1n << 62n) - 4096n, (1n << 63n) - 4096n, (1n << 63n) - 1n, -1n, -4096n, -(1n << 63n)];
const value = fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.integer({ min: 0, max: 1 << 20 }).map((p) => BigInt(p) * 4096n));

test("splitBytes gives floor(|x| / 4096) and |x| mod 4096 for numbers and bigints alike", () => {
  fc.assert(
    fc.property(value, (v) => {
      const a = v < 0n ? -v : v;
      const s = splitBytes(v);
      assert.equal(s, { neg: v < 0n, pages: Number(a >> 12n), rem: Number(a & 4095n) });
      if (v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n) assert.equal(splitBytes(Number(v)), s);
    }),
    { numRuns: 5000, seed: 1 },
  );
});

test("fallocate answers a number exactly as the same bigint (results and state)", () => {
  const modes = [1, 3, 2, 0, 17, 4];
  fc.assert(
    fc.property(fc.constantFrom(...modes), value, value, (mode, offset, len) => {
      const run = (asNumber: boolean) => {
        const sim = new Simulator({ engine: "reference" });
        const vm = sim.createVm();
        const g = vm.createGuestMemfd(1 << 24, ["MMAP", "INIT_SHARED"]);
        g.allocate(0, 1 << 20);
        const safe = (x: bigint) => x >= -(2n ** 53n) + 1n && x <= 2n ** 53n - 1n;
        const o = asNumber && safe(offset) ? Number(offset) : offset;
        const l = asNumber && safe(len) ? Number(len) : len;
        const r = fal.fallocate(sim.host, g.obj, mode, o, l);
        return { errno: r.errno ?? null, state: digestSnapshot(sim.snapshot()) };
      };
      assert.equal(run(true), run(false));
    }),
    { numRuns: 3000, seed: 2 },
  );
});

test.run();
