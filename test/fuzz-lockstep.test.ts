/**
 * Fuzzing runs both cores in lockstep under one kernel layer (src/fuzz/lockstep.ts):
 * a reference model that answers one core command differently, or ends in a
 * different state, must be reported as a divergence naming the command.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as A from "../src/abi/core-abi.js";
import { Simulator } from "../src/api/simulator.js";
import { EngineCore } from "../src/core/engine.js";
import { ReferenceCore } from "../src/core/reference/index.js";
import { LockstepCore, describeDivergence } from "../src/fuzz/lockstep.js";

/** A reference model whose guest reads return one more than the byte. */
class OffByOneReads extends ReferenceCore {
  override push(op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    const i = super.push(op, a, b, c, d, e, f, g);
    if (op === A.OP_GUEST_ACCESS && c === A.ACCESS_READ) this.results[i * A.RES_WORDS + 1] += 1;
    return i;
  }
}

function guest(core: LockstepCore) {
  const sim = new Simulator({ core });
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(16 * 4096, ["MMAP", "INIT_SHARED"]);
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 16 * 4096, guestMemfd: g });
  return { sim, vm, g };
}

test("cores that agree give no divergence, and the engine answers", () => {
  const core = new LockstepCore(new EngineCore(), new ReferenceCore());
  const { sim, vm } = guest(core);
  vm.access(4096, "write", { value: 7 });
  assert.is(vm.access(4096, "read").value, 7);
  sim.snapshot();
  assert.is(core.divergence, null);
});

test("a result word that differs is a divergence naming the core command and both results", () => {
  const core = new LockstepCore(new EngineCore(), new OffByOneReads());
  const { vm } = guest(core);
  vm.access(4096, "write", { value: 7 });
  assert.is(core.divergence, null);
  // The engine answers (7); the reference model's 8 is caught at the flush.
  assert.is(vm.access(4096, "read").value, 7);
  assert.ok(core.divergence, "the read's differing value word was not caught");
  assert.is(core.divergence!.command![0], A.OP_GUEST_ACCESS);
  assert.is(core.divergence!.engine[1], 7);
  assert.is(core.divergence!.reference[1], 8);
  assert.match(describeDivergence(core.divergence!), /^core command GUEST_ACCESS\(0, 1, 0, /);
  // reset() forgets it.
  core.reset();
  assert.is(core.divergence, null);
});

test("a whole state that differs at the end is a divergence (the snapshots are compared word by word)", () => {
  const core = new LockstepCore(new EngineCore(), new ReferenceCore());
  const { sim, g } = guest(core);
  g.allocate(0, 4096);
  // The reference model alone changes the page's byte: no command result shows it, the snapshot does.
  for (const frame of core.reference.model.s.frames.values()) frame.byte = 9;
  sim.snapshot();
  assert.ok(core.divergence, "the differing states were not caught");
  assert.is(core.divergence!.command, null);
  assert.match(describeDivergence(core.divergence!), /^the engine's state differs from the reference model's/);
});

test("the reference model's lent snapshot words (the lockstep comparison reads them in place) are its snapshot's, and a snapshot copied out earlier keeps its own", () => {
  const ref = new ReferenceCore();
  const { g } = guest(new LockstepCore(new EngineCore(), ref));
  g.allocate(0, 4096);
  const copy = ref.snapshot();
  assert.equal(Array.from(ref.snapshotView()), Array.from(copy));
  const before = Array.from(copy);
  g.allocate(4096, 8192);
  const lent = ref.snapshotView();
  assert.ok(lent.length > copy.length, "the later state has more pages");
  assert.equal(Array.from(copy), before, "a later snapshot wrote into an earlier copy");
});

test("the lockstep core's snapshot is the engine's, in a buffer of its own that later commands leave alone", () => {
  const core = new LockstepCore(new EngineCore(), new ReferenceCore());
  const { g } = guest(core);
  g.allocate(0, 4096);
  const s = core.snapshot();
  const words = Array.from(s);
  assert.equal(words, Array.from(core.engine.snapshot()));
  // The engine rewrites its snapshot area at its next snapshot; the lockstep core's words stay until its own next one.
  g.allocate(4096, 4096);
  core.engine.snapshot();
  assert.equal(Array.from(s), words);
  assert.ok(core.snapshot().length > words.length);
  assert.is(core.divergence, null);
});

test.run();
