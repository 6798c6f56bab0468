/**
 * The kernel fuzzer's traces fill and clear whole pages only: a page's contents
 * are one byte (SPEC §1), exact against the kernel on those terms alone, so a
 * partial write or punch followed by a read elsewhere in the page would be a
 * divergence of the model's making, not the simulator's.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { KERNEL_WEIGHTS, kernelTraceArbitrary } from "../src/fuzz/arbitraries.js";
import { KERNEL_MIXES } from "../src/fuzz/mixes.js";

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

/** The ops each mix weighs up (the family its docblock names), as the share of a campaign's ops they take. */
const FAMILY: Record<string, string[]> = {
  memfd: ["memfd", "mmap", "load", "store", "ftruncate", "read", "write", "pread", "pwrite"],
  gmem: ["create_guest_memfd", "set_user_memory_region2", "fallocate"],
  memslots: ["set_user_memory_region2"],
  lifecycle: ["create_vm", "destroy_vm", "close"],
};

function shareOf(mix: string, ops: string[]): number {
  let all = 0;
  let inFamily = 0;
  for (const trace of fc.sample(kernelTraceArbitrary({ weights: KERNEL_MIXES[mix] }), { seed: 77, numRuns: 400 })) {
    // The trace's setup is the same in every mix: only the random body counts.
    for (const op of trace.slice(-8)) {
      all++;
      if (ops.includes(String(op.op))) inFamily++;
    }
  }
  return inFamily / all;
}

test("each kernel mix (fuzz --against kernel --mix) weighs only ops the live kernel runs, and makes its family of ops more of a campaign than the default does", () => {
  for (const [mix, weights] of Object.entries(KERNEL_MIXES)) {
    for (const op of Object.keys(weights)) assert.ok((KERNEL_WEIGHTS as Record<string, number>)[op] > 0, `mix ${mix} weighs ${op}, which the kernel fuzzer never draws`);
    if (mix === "default") continue;
    const family = FAMILY[mix];
    assert.ok(family, `mix ${mix} has a family in this test`);
    const mine = shareOf(mix, family);
    const base = shareOf("default", family);
    assert.ok(mine > base * 1.2, `mix ${mix}: its family is ${(mine * 100).toFixed(1)}% of ops, against ${(base * 100).toFixed(1)}% by default`);
  }
  // The gmem mix is guest_memfd alone: no memfd, anonymous memory or file I/O.
  assert.is(shareOf("gmem", ["memfd", "anon_map", "read", "write", "pread", "pwrite"]), 0);
});

test.run();
