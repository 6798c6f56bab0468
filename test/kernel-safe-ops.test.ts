/**
 * The kernel fuzzer's traces fill and clear whole pages only: a page's contents
 * are one byte (SPEC §1), exact against the kernel on those terms alone, so a
 * partial write or punch followed by a read elsewhere in the page would be a
 * divergence of the model's making, not the simulator's.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { kernelTraceArbitrary } from "../src/fuzz/arbitraries.js";

const CONTENT_OPS: Record<string, string[]> = { read: ["len"], write: ["len"], pread: ["len", "offset"], pwrite: ["len", "offset"], fallocate: ["len", "offset"] };

test("every byte count and offset of a kernel-fuzz write, read or fallocate given as a plain non-negative number is whole pages", () => {
  let seen = 0;
  for (const trace of fc.sample(kernelTraceArbitrary(), { seed: 4242, numRuns: 3000 })) {
    for (const op of trace) {
      for (const field of CONTENT_OPS[String(op.op)] ?? []) {
        const v = op[field];
        if (typeof v !== "number" || v < 0) continue;
        seen++;
        assert.is(v % 4096, 0, `${JSON.stringify(op)}: ${field} is not whole pages`);
      }
    }
  }
  assert.ok(seen > 1000, `${seen} fields looked at`);
});

test.run();
