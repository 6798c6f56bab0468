/**
 * The kernel oracle's timing mode (src/oracle/bench.ts, oracle/bench.c):
 * structural checks only, never timing thresholds. Where the kernel is not
 * available the tests are registered as skipped, never as passed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kernelBench, KERNEL_UNSUPPORTED, KERNEL_WORKLOADS } from "../src/oracle/bench.js";
import { kernelAvailability } from "../src/oracle/driver.js";

const avail = kernelAvailability();

if (!avail.ok) {
  console.log(`SKIPPED: ${avail.reason}`);
  test.skip("kernel oracle timing mode (no usable /dev/kvm)", () => {});
} else {
  test("single-page churn at scale 0.005 counts 3 ops per iteration, 100 iterations, and takes time", async () => {
    const r = await kernelBench("single-page churn (allocate, guest touch, punch)", 0.005);
    assert.ok(r, "a result where the kernel is available");
    assert.is(r!.ops, 3 * 100);
    assert.ok(Number.isFinite(r!.nsPerOp) && r!.nsPerOp > 0, `nsPerOp ${r!.nsPerOp}`);
    assert.ok(r!.guestAccessFloorNs !== undefined && r!.guestAccessFloorNs > 0, "the guest access floor is reported");
    assert.is(r!.note, undefined, "no note: the workload runs as specified");
  });

  test("the oracle's short name gives the same workload; 2 MiB allocate and punch counts 2 ops per iteration", async () => {
    const r = await kernelBench(KERNEL_WORKLOADS["2 MiB allocate and punch"]!, 0.01);
    assert.ok(r);
    assert.is(r!.ops, 2 * 2);
    assert.ok(r!.nsPerOp > 0);
  });

  test("a workload with no kernel counterpart resolves to null; an unknown name rejects", async () => {
    for (const name of Object.keys(KERNEL_UNSUPPORTED)) assert.is(await kernelBench(name, 1), null);
    try {
      await kernelBench("no such workload", 1);
      assert.unreachable("should have thrown");
    } catch (e) {
      assert.match((e as Error).message, /no kernel timing/);
    }
  });
}

test.run();
