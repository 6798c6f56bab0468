/**
 * The typed tier's words: each hot op's result as the layout in
 * src/api/typed.ts documents it, with the kernel layer's errnos; malformed
 * commands run nothing and say which word is wrong. (Agreement with the other
 * tiers on random traces is test/differential.test.ts.)
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator, GmemError, TypedBatch, ERRNO, TYPED_READ, TYPED_WRITE, TYPED_EXEC, TYPED_ALLOCATE, TYPED_PUNCH, TYPED_LOAD, TYPED_STORE, TYPED_STATS_VM, TYPED_STATS_FILE, TYPED_STATS_HOST, TYPED_PRIVATE, TYPED_RES_WORDS, KVM_EXIT_MMIO, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_INTERNAL_ERROR, KVM_MEMORY_EXIT_FLAG_PRIVATE, SIGSEGV, SIGBUS } from "../src/index.js";

function setup() {
  const sim = new Simulator();
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(16 * 4096, ["MMAP", "INIT_SHARED"]);
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 16 * 4096, guestMemfd: g });
  const map = g.mmap(0, 4 * 4096, "r");
  const t = new TypedBatch(sim);
  return { sim, vm, g, map, t, V: t.handle(vm), G: t.handle(g), M: t.handle(map) };
}

test("a system-design gmem fd is a gmem file handle: allocate, punch and stats through it give what the object API gives", () => {
  const sim = new Simulator({ design: "system" });
  const vm = sim.createVm();
  const g = sim.createGuestMemfdSystem(16 * 4096, ["MMAP", "INIT_SHARED"]);
  g.bind(vm);
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 16 * 4096, guestMemfd: g });
  const t = new TypedBatch(sim);
  const G = t.handle(g);
  const V = t.handle(vm);
  const out = t.run(new Float64Array([
    TYPED_ALLOCATE, G, 0, 3 * 4096,
    TYPED_WRITE, V, 4096, 9,
    TYPED_PUNCH, G, 4096, 4096,
    TYPED_STATS_FILE, G, 0, 0,
    TYPED_ALLOCATE, G, 16 * 4096, 4096, // past EOF: EINVAL, as gmem.allocate says
  ]));
  assert.equal(words(out, 0), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(words(out, 3).slice(3, 5), [2, 0], "pages 0 and 2 stay, page 1 was punched");
  assert.is(out[4 * TYPED_RES_WORDS], ERRNO.EINVAL);
  assert.equal(g.stats(), { pages: 2, poisoned: 0 });
  assert.equal(vm.stats().zaps, 1);
});

const words = (out: Float64Array, i: number) => Array.from(out.subarray(i * TYPED_RES_WORDS, (i + 1) * TYPED_RES_WORDS));

test("guest accesses, allocate, punch, loads and stats give the words of the documented layout", () => {
  const { t, V, G, M } = setup();
  const out = t.run(new Float64Array([
    TYPED_WRITE, V, 4096 + 5, 42,
    TYPED_READ, V, 4096, 0,
    TYPED_READ, V, 100 * 4096 + 3, 0, // no memslot: MMIO at the exact gpa
    TYPED_EXEC, V, 100 * 4096, 0, // exec where no memslot is: emulation failure
    TYPED_ALLOCATE, G, 8192, 4096,
    TYPED_LOAD, M, 4096 + 9, 0,
    TYPED_STORE, M, 0, 1, // a read-only map: SIGSEGV
    TYPED_LOAD, M, 4 * 4096, 0, // past the map: SIGSEGV
    TYPED_PUNCH, G, 4096, 4096,
    TYPED_STATS_VM, V, 0, 0,
    TYPED_STATS_FILE, G, 0, 0,
    TYPED_STATS_HOST, 0, 0, 0,
  ]));
  assert.equal(words(out, 0), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(words(out, 1), [0, 0, 0, 42, 0, 0, 0, 0]);
  assert.equal(words(out, 2), [0, KVM_EXIT_MMIO, 0, 0, 100 * 4096 + 3, 0, 0, 0]);
  assert.equal(words(out, 3), [0, KVM_EXIT_INTERNAL_ERROR, 0, 0, 0, 1, 0, 0]);
  assert.equal(words(out, 4), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(words(out, 5), [0, 0, 0, 42, 0, 0, 0, 0]);
  assert.equal(words(out, 6), [0, 0, SIGSEGV, 0, 0, 0, 0, 0]);
  assert.equal(words(out, 7), [0, 0, SIGSEGV, 0, 0, 0, 0, 0]);
  // After the punch: no SPTE left, one fault (the write; the read hit its SPTE), one zap, two exits.
  assert.equal(words(out, 9), [0, 0, 0, 0, 1, 1, 2, 0]);
  assert.equal(words(out, 10), [0, 0, 0, 1, 0, 0, 0, 0], "page 2 stays, page 1 was punched");
  assert.equal(words(out, 11), [0, 0, 0, 1, 0, 0, 0, 0]);
});

test("TYPED_PRIVATE on a default VM is malformed: every access there is shared (kvm_mmu_page_fault())", () => {
  const { t, V } = setup();
  const out = t.run(new Float64Array([TYPED_READ | TYPED_PRIVATE, V, 3 * 4096 + 1, 0]));
  assert.is(out[0], -1);
  assert.match(t.message(0)!, /on a default VM every access is shared/);
});

test("TYPED_PRIVATE agreeing with a sw_protected VM's PRIVATE gfn with no memslot: a memory-fault exit with the PRIVATE flag (kvm_handle_noslot_fault())", () => {
  const sim = new Simulator({ kernel: "6.18+swprot" });
  const vm = sim.createVm("sw_protected");
  vm.setMemoryAttributes(3 * 4096, 4096, "PRIVATE");
  const t = new TypedBatch(sim);
  const V = t.handle(vm);
  const out = t.run(new Float64Array([TYPED_READ | TYPED_PRIVATE, V, 3 * 4096 + 1, 0, TYPED_READ, V, 3 * 4096 + 1, 0]));
  assert.equal(words(out, 0), [ERRNO.EFAULT, KVM_EXIT_MEMORY_FAULT, 0, 0, 3 * 4096, KVM_MEMORY_EXIT_FLAG_PRIVATE, 4096, 0]);
  assert.equal(words(out, 1), [ERRNO.EFAULT, KVM_EXIT_MEMORY_FAULT, 0, 0, 3 * 4096, KVM_MEMORY_EXIT_FLAG_PRIVATE, 4096, 0]);
});

test("a poisoned page reached through a host map is SIGBUS; through the guest, EHWPOISON", () => {
  const { t, g, V, M } = setup();
  g.allocate(0, 4096); // memory failure needs a present page
  g.memoryFailure(0);
  const out = t.run(new Float64Array([TYPED_LOAD, M, 0, 0, TYPED_READ, V, 0, 0]));
  assert.equal(words(out, 0), [0, 0, SIGBUS, 0, 0, 0, 0, 0]);
  assert.equal(words(out, 1), [ERRNO.EHWPOISON, KVM_EXIT_MEMORY_FAULT, 0, 0, 0, 0, 4096, 0]);
});

test("a closed VM is EBADF and an unaligned punch EINVAL, with the kernel layer's sentence", () => {
  const { t, vm, V, G } = setup();
  vm.destroy();
  const out = t.run(new Float64Array([TYPED_READ, V, 0, 0, TYPED_PUNCH, G, 1, 4096, TYPED_ALLOCATE, G, 0, 17 * 4096]));
  assert.is(out[0], ERRNO.EBADF);
  assert.match(t.message(0)!, /not an open VM fd/);
  assert.is(out[TYPED_RES_WORDS], ERRNO.EINVAL);
  assert.match(t.message(1)!, /multiples of 4096/);
  assert.is(out[2 * TYPED_RES_WORDS], ERRNO.EINVAL, "allocating past EOF");
});

test("malformed commands run nothing: word 0 is -1 and the message names the word", () => {
  const { t, sim, V, G } = setup();
  const out = t.run(new Float64Array([99, V, 0, 0, TYPED_WRITE, V, 0, 256, TYPED_READ, G, 0, 0, TYPED_READ, V, 0.5, 0, TYPED_PUNCH | TYPED_PRIVATE, G, 0, 4096, TYPED_ALLOCATE, 77, 0, 4096]));
  for (let i = 0; i < 6; i++) assert.is(out[i * TYPED_RES_WORDS], -1, `command ${i}`);
  assert.match(t.message(0)!, /word 0: opcode 99 is unknown/);
  assert.match(t.message(1)!, /word 3: value 256 is not a byte/);
  assert.match(t.message(2)!, /word 1: \d+ is no VM handle/);
  assert.match(t.message(3)!, /word 2: gpa 0.5/);
  assert.match(t.message(4)!, /word 0/);
  assert.match(t.message(5)!, /word 1: 77 is no gmem file handle/);
  assert.equal(sim.stats(), { host_pages: 0 }, "nothing ran");
});

test("another simulator's VM, file or mapping gets no handle (EINVAL): its ids name other objects here", () => {
  const { t, vm, V } = setup();
  const other = setup();
  for (const x of [other.vm, other.g, other.map]) assert.throws(() => t.handle(x), (e: Error) => e instanceof GmemError && /belongs to another Simulator/.test(e.message));
  assert.is(t.handle(vm), V, "its own objects keep their handles");
});

test("arrays that are not whole commands are refused before anything runs", () => {
  const { t } = setup();
  assert.throws(() => t.run(new Float64Array(5)), (e: unknown) => e instanceof GmemError && /whole commands/.test(e.message));
  assert.throws(() => t.run(new Float64Array(4), new Float64Array(3)), (e: unknown) => e instanceof GmemError && /at least 8 words/.test(e.message));
});

test("at the frame limit a guest fault is ENOMEM and a host fault SIGBUS, even when the kernel layer asks the core in the middle of a run", () => {
  const sim = new Simulator({ frameLimit: 3 });
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(16 * 4096, ["MMAP", "INIT_SHARED"]);
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 16 * 4096, guestMemfd: g });
  const map = g.mmap(0, 16 * 4096, "rw");
  const t = new TypedBatch(sim);
  const V = t.handle(vm), G = t.handle(g), M = t.handle(map);
  const out = t.run(new Float64Array([
    TYPED_STORE, M, 0, 5, TYPED_READ, V, 0, 0, TYPED_WRITE, V, 4096, 2, // two frames; the limit's estimate is reached
    TYPED_READ, V, 0, 0, // the kernel layer asks the core for an exact count: a flush in the middle of the run
    TYPED_WRITE, V, 2 * 4096, 3, // the third frame
    TYPED_READ, V, 3 * 4096, 0, TYPED_LOAD, M, 4 * 4096, 0, TYPED_ALLOCATE, G, 5 * 4096, 4096,
    TYPED_PUNCH, G, 0, 4096, TYPED_READ, V, 3 * 4096, 0,
  ]));
  assert.equal(words(out, 1), [0, 0, 0, 5, 0, 0, 0, 0], "a result queued before the mid-run flush");
  assert.equal(words(out, 3), [0, 0, 0, 5, 0, 0, 0, 0], "a result queued after it");
  assert.equal(words(out, 4), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.is(out[5 * TYPED_RES_WORDS], ERRNO.ENOMEM);
  assert.match(t.message(5)!, /limit of 3 frames/);
  assert.equal(words(out, 6), [0, 0, SIGBUS, 0, 0, 0, 0, 0]);
  assert.is(out[7 * TYPED_RES_WORDS], ERRNO.ENOMEM);
  assert.equal(words(out, 9), [0, 0, 0, 0, 0, 0, 0, 0], "a punch made room again");
  assert.equal(sim.stats(), { host_pages: 3 });
});

test("the README's typed example: a write, a read of the byte, a punch", () => {
  const sim = new Simulator();
  const vm = sim.createVm();
  const gmem = vm.createGuestMemfd(16 << 20, ["MMAP", "INIT_SHARED"]);
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 8 << 20, guestMemfd: gmem });
  const t = new TypedBatch(sim);
  const V = t.handle(vm), G = t.handle(gmem);
  const out = t.run(new Float64Array([TYPED_WRITE, V, 0x2000, 7, TYPED_READ, V, 0x2000, 0, TYPED_PUNCH, G, 0, 4096]));
  assert.is(out[8 + 3], 7);
});

test.run();
