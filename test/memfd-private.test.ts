/**
 * Private mappings of a memfd (copy-on-write, core-abi.ts HOSTMAP_COW) through
 * the tiers that do not read traces: the handles and the typed tier give the
 * trace tier's answers (memfd-private.jsonl checks those on the kernel), and
 * the frame limit counts a write that may copy as two frames.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator, TypedBatch, TYPED_LOAD, TYPED_STORE, TYPED_WRITE, TYPED_READ, TYPED_RES_WORDS, SIGBUS } from "../src/index.js";

for (const engine of ["wasm", "reference"] as const) {
  test(`[${engine}] a store through a private mapping is the mapping's own; a punch keeps it, a shrink drops it`, () => {
    const sim = new Simulator({ engine });
    const f = sim.memfd(16384);
    const p = f.mmap(0, 16384, "rw", false);
    const s = f.mmap(0, 16384, "rw", true);
    p.store(4096, 7);
    s.store(0, 3);
    const seen = [s.load(4096).value, p.load(4096).value, p.load(0).value];
    f.fallocate(["KEEP_SIZE", "PUNCH_HOLE"], 0, 16384);
    const afterPunch = [p.load(4096).value, p.load(0).value, f.fstat().blocks];
    f.ftruncate(4096);
    const past = p.load(4096);
    f.ftruncate(16384);
    assert.equal(seen, [0, 7, 3], "the file keeps 0 where the private mapping stored; an uncopied page shows the file's byte");
    assert.equal(afterPunch, [7, 0, 8], "the copy outlives the punch; the uncopied page is faulted back from the file");
    assert.equal(past, { signal: "SIGBUS" });
    assert.equal(p.load(4096).value, 0, "the shrink took the copy");
  });

  test(`[${engine}] the typed tier runs a private mapping's commands through the kernel layer, with the same answers`, () => {
    const run = (typed: boolean) => {
      const sim = new Simulator({ engine });
      const vm = sim.createVm();
      const f = sim.memfd(16384);
      const p = f.mmap(0, 16384, "rw", false);
      vm.setUserMemoryRegion2({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 16384, userspaceAddr: p });
      if (!typed) return [vm.access(0, "write", { value: 5 }).ret, p.load(0).value, vm.access(4096, "read").value, p.store(4096, 9).signal ?? 0, vm.access(4096, "read").value, f.fstat().blocks];
      const t = new TypedBatch(sim);
      const [hv, hp] = [t.handle(vm), t.handle(p)];
      const out = t.run(Float64Array.from([TYPED_WRITE, hv, 0, 5, TYPED_LOAD, hp, 0, 0, TYPED_READ, hv, 4096, 0, TYPED_STORE, hp, 4096, 9, TYPED_READ, hv, 4096, 0]));
      const words = Array.from({ length: 5 }, (_, k) => Array.from(out.subarray(k * TYPED_RES_WORDS, (k + 1) * TYPED_RES_WORDS)));
      assert.equal(words.map((w) => w[0]), [0, 0, 0, 0, 0], "no command failed");
      return [0, words[1][3], words[2][3], 0, words[4][3], f.fstat().blocks];
    };
    const handles = run(false);
    assert.equal(handles, [0, 5, 0, 0, 9, 16], "the guest's write is the mapping's copy; the host's store moves the guest to its copy");
    assert.equal(run(true), handles);
  });

  test(`[${engine}] under the frame limit a write that may copy a page needs room for two frames`, () => {
    const sim = new Simulator({ engine, frameLimit: 3 });
    const f = sim.memfd(16384);
    const p = f.mmap(0, 16384, "rw", false);
    const s = f.mmap(0, 16384, "rw", true);
    assert.equal(p.store(0, 1), {}, "the file's page and the copy: two frames");
    assert.equal(p.store(4096, 2), { signal: "SIGBUS" }, "one frame left: refused, nothing made");
    assert.equal(f.fstat().blocks, 8);
    const t = new TypedBatch(sim);
    const out = t.run(Float64Array.from([TYPED_STORE, t.handle(p), 4096, 9, TYPED_STORE, t.handle(s), 4096, 3]));
    assert.equal([out[2], out[TYPED_RES_WORDS + 2]], [SIGBUS, 0], "the typed tier answers as the handles do: the private store refused, a shared one (one frame) made");
    assert.equal(f.fstat().blocks, 16);
    assert.equal(s.load(0), { signal: "SIGBUS" }, "the limit is reached: every host access is refused until something is freed");
  });

  test(`[${engine}] under the frame limit a guest write, while a private mapping exists, needs room for two frames in every tier`, () => {
    const answers = (typed: boolean) => {
      const sim = new Simulator({ engine, frameLimit: 3 });
      const vm = sim.createVm();
      const f = sim.memfd(16384);
      const p = f.mmap(0, 16384, "rw", false);
      vm.setUserMemoryRegion2({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 16384, userspaceAddr: p });
      vm.access(0, "write", { value: 1 });
      // Two frames used, one left: the next write may copy, so it is refused; a read needs one.
      if (!typed) return [vm.access(4096, "write", { value: 2 }).errno ?? "ok", vm.access(4096, "read").errno ?? "ok", f.fstat().blocks];
      const t = new TypedBatch(sim);
      const hv = t.handle(vm);
      const out = t.run(Float64Array.from([TYPED_WRITE, hv, 4096, 2, TYPED_READ, hv, 4096, 0]));
      return [out[0] === 12 ? "ENOMEM" : out[0], out[TYPED_RES_WORDS] === 0 ? "ok" : out[TYPED_RES_WORDS], f.fstat().blocks];
    };
    assert.equal(answers(false), ["ENOMEM", "ok", 16]);
    assert.equal(answers(true), answers(false));
  });
}

test("a guest write after a read of the same gfn through a private mapping replaces the SPTE: both cores end in the same state", () => {
  // The write copies the page and the copy's notifier zaps the read's SPTE on the file's page, in the same fault:
  // the install must not use the position the fault looked up before the zap.
  const state = (engine: "wasm" | "reference") => {
    const sim = new Simulator({ engine });
    const vm = sim.createVm();
    const f = sim.memfd(16384);
    const p = f.mmap(0, 16384, "rw", false);
    vm.setUserMemoryRegion2({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 16384, userspaceAddr: p });
    for (const gpa of [0, 4096, 8192, 12288]) vm.access(gpa, "read");
    vm.access(4096, "write", { value: 3 });
    const seen = [0, 4096, 8192, 12288].map((gpa) => vm.access(gpa, "read").value);
    return { seen, stats: vm.stats(), snapshot: Array.from(sim.snapshot()) };
  };
  const wasm = state("wasm");
  assert.equal(wasm.seen, [0, 3, 0, 0]);
  assert.is(wasm.stats.sptes, 4);
  assert.equal(wasm, state("reference"));
});

test.run();
