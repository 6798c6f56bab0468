/**
 * A CI-sized differential fuzz batch against the live kernel: random traces of
 * the upstream ops (kernelTraceArbitrary, fixed seed) on the wasm engine and on
 * /dev/kvm through the oracle must agree op by op. Without /dev/kvm the test is
 * skipped, loudly, never passed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kernelAvailability } from "../src/oracle/driver.js";
import { explainDivergence, runKernelFuzz, type KernelDivergence } from "../src/fuzz/kernel.js";
import { KERNEL_MIXES } from "../src/fuzz/mixes.js";

/**
 * Simulator bugs found by this fuzzer and reported to the owners of src/kvm,
 * stepped over (and counted) until they are fixed. Remove an entry once fixed:
 * the test says when an entry no longer matches anything.
 */
/** Divergences known and not yet fixed (none now: do_mmap's ENOMEM rule was the last). Each entry must name the bug. */
const KNOWN: Array<{ what: string; matches: (d: KernelDivergence) => boolean }> = [];

const OPS = Number(process.env.GMEMSIM_KERNEL_FUZZ_OPS ?? 4000);
const SEED = Number(process.env.GMEMSIM_SEED ?? 20261125);
const name = `${OPS} random ops (seed ${SEED}) give the same result on the simulator and on the live kernel`;

const avail = kernelAvailability();
if (!avail.ok) {
  console.log(`SKIPPED: kernel fuzz: ${avail.reason}`);
  test.skip(name, () => {});
} else {
  test(name, async () => {
    const seen = new Set<string>();
    const r = await runKernelFuzz({
      seed: SEED,
      ops: OPS,
      shrinkTimeLimitMs: 20_000,
      ignore: (d) => {
        const k = KNOWN.find((x) => x.matches(d));
        if (k) seen.add(k.what);
        return k !== undefined;
      },
    });
    for (const k of KNOWN) console.log(seen.has(k.what) ? `KNOWN simulator bug still present: ${k.what}` : `KNOWN entry no longer seen (fixed? remove it): ${k.what}`);
    if (r.failure) {
      const trace = r.failure.trace.map((op) => JSON.stringify(op)).join("\n");
      assert.unreachable(`${explainDivergence(r.failure.divergence)}\nshrunk trace (${r.failure.trace.length} ops):\n${trace}`);
    }
    assert.ok(r.ops >= OPS, `ran the whole budget (${r.ops} ops)`);
    assert.ok(r.compared > OPS * 0.9, `most ops were compared (${r.compared} of ${r.ops})`);
  });
}

// The campaigns' op mixes (fuzz --against kernel --mix, src/fuzz/mixes.ts), a short run each.
const MIX_OPS = Math.max(500, Math.round(OPS / 4));
for (const mix of Object.keys(KERNEL_MIXES).filter((m) => m !== "default")) {
  const mixName = `${MIX_OPS} random ops of the ${mix} mix (seed ${SEED}) give the same result on the simulator and on the live kernel`;
  if (!avail.ok) test.skip(mixName, () => {});
  else
    test(mixName, async () => {
      const r = await runKernelFuzz({ seed: SEED, ops: MIX_OPS, mix, shrinkTimeLimitMs: 20_000 });
      if (r.failure) assert.unreachable(`${explainDivergence(r.failure.divergence)}\nshrunk trace (${r.failure.trace.length} ops):\n${r.failure.trace.map((op) => JSON.stringify(op)).join("\n")}`);
      assert.ok(r.ops >= MIX_OPS && r.compared > MIX_OPS * 0.9, `ran and compared the budget (${r.compared} of ${r.ops} ops)`);
    });
}

test.run();
