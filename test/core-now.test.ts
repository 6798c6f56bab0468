/**
 * Core.now(): a command run at once (the object API's accesses) must give what
 * push() then flush() gives: the commands queued before it run first, in order,
 * onFlush sees the whole batch, and the result words are the same on the
 * engine (one() call, its words as arguments) as on the reference model.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as A from "../src/abi/core-abi.js";
import type { Core } from "../src/core/core.js";
import { EngineCore } from "../src/core/engine.js";
import { ReferenceCore } from "../src/core/reference/index.js";

function setup(core: Core): void {
  core.push(A.OP_VM_CREATE, 0);
  core.push(A.OP_INODE_CREATE, 0, 16, A.INODE_GMEM, 2);
  core.push(A.OP_FILE_CREATE, 0, 0, 0, A.RIGHT_R | A.RIGHT_W | A.RIGHT_X);
  core.push(A.OP_SLOT_CREATE, 0, 0, 0, 16, 0, 0, A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY); // memslot 0: gfns [0, 16) on file 0 from pgoff 0
  core.flush();
}

/** Each core's answers to the same script: words of each now() result, and the batch sizes onFlush saw. */
function script(core: Core, queuedBefore: boolean): { words: number[][]; flushes: number[] } {
  setup(core);
  const flushes: number[] = [];
  core.onFlush = (n) => flushes.push(n);
  const words: number[][] = [];
  const take = (i: number) => words.push(Array.from(core.results.subarray(i * A.RES_WORDS, (i + 1) * A.RES_WORDS)));
  for (let k = 0; k < 12; k++) {
    const gfn = k === 11 ? 16 : k % 6; // each of gfns 0-5 twice; gfn 16 is past the memslot (an MMIO exit)
    if (queuedBefore) {
      // A punch queued before the access: now() must run it first (the access then faults the page in again).
      core.push(A.OP_PUNCH, 0, gfn, gfn + 1);
    }
    take(core.now(A.OP_GUEST_ACCESS, 0, gfn, k & 1 ? A.ACCESS_WRITE : A.ACCESS_READ, 0, k, 0));
    take(core.now(A.OP_STATS_VM, 0));
  }
  core.onFlush = null;
  return { words, flushes };
}

for (const queued of [false, true])
  test(`now() gives push() then flush()'s result words and batches, on both cores (${queued ? "with commands queued before it" : "alone"})`, () => {
    const engine = script(new EngineCore(), queued);
    const reference = script(new ReferenceCore(), queued);
    assert.equal(engine.words, reference.words);
    assert.equal(engine.flushes, reference.flushes);
    assert.equal(engine.flushes, Array(24).fill(0).map((_, k) => (queued && k % 2 === 0 ? 2 : 1)));
    // The last stats: the queued punches ran before each access (every access faults, the second ones after a zap).
    assert.equal(engine.words[23].slice(2), queued ? [11, 5, 1] : [6, 0, 1]);
  });

test.run();
