/** The object API: GmemError with the kernel's errno and a sentence, atomic failures, lifetimes. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GmemError, Simulator } from "../src/index.js";

function throwsGmem(fn: () => unknown, errno: string, mentions: string): GmemError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, GmemError);
    const g = e as GmemError;
    assert.is(g.errno, errno);
    assert.ok(g.message.includes(mentions), `message "${g.message}" should mention "${mentions}"`);
    return g;
  }
  assert.unreachable(`expected ${errno}`);
  throw new Error("unreachable");
}

for (const engine of ["wasm", "reference"] as const) {
  test(`[${engine}] create_guest_memfd with an unsupported flag throws EINVAL naming flags, before checking size`, () => {
    const vm = new Simulator({ engine }).createVm();
    const e = throwsGmem(() => vm.createGuestMemfd(4097, 4), "EINVAL", "flags");
    assert.is(e.code, 22);
    assert.is(e.op, "create_guest_memfd");
  });

  test(`[${engine}] a failed operation leaves the state exactly as it was`, () => {
    const sim = new Simulator({ engine });
    const vm = sim.createVm();
    const g = vm.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]);
    vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 1 << 20, guestMemfd: g });
    g.allocate(0, 65536);
    vm.access(0x1000, "write", { value: 7 });
    const before = sim.snapshot();
    throwsGmem(() => g.allocate(1 << 20, 4096), "EINVAL", "beyond the file size");
    throwsGmem(() => g.punchHole(100, 4096), "EINVAL", "multiples of 4096");
    throwsGmem(() => vm.setUserMemoryRegion2({ slot: 1, flags: "GUEST_MEMFD", guestPhysAddr: 1 << 20, memorySize: 4096, guestMemfd: g }), "EINVAL", "already bound");
    throwsGmem(() => vm.setUserMemoryRegion2({ slot: 1, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 4096, guestMemfd: g, guestMemfdOffset: 1 << 19 }), "EEXIST", "overlaps another memslot");
    assert.equal([...sim.snapshot()], [...before]);
  });

  test(`[${engine}] a gmem file keeps its VM alive; the last close frees the pages but keeps the memslot`, () => {
    const sim = new Simulator({ engine });
    const vm = sim.createVm();
    const g = vm.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]);
    vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 1 << 20, guestMemfd: g });
    g.allocate(0, 1 << 20);
    assert.is(sim.stats().host_pages, 256);
    assert.equal(vm.access(0x2000, "read"), { ret: 0, value: 0 });
    g.close();
    assert.is(sim.stats().host_pages, 0);
    assert.equal(vm.access(0x2000, "read"), { errno: "EFAULT", exit: "memory_fault", gpa: 0x2000, size: 4096, flags: [] });
    throwsGmem(() => vm.setUserMemoryRegion2({ slot: 1, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 4096, guestMemfd: vm.createGuestMemfd(4096) }), "EEXIST", "overlaps");
  });

  test(`[${engine}] a host mapping sees what the guest wrote, and punching zaps the guest's SPTE`, () => {
    const sim = new Simulator({ engine });
    const vm = sim.createVm();
    const g = vm.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]);
    vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 1 << 30, memorySize: 1 << 20, guestMemfd: g });
    const m = g.mmap(0, 1 << 20, "rw");
    vm.access((1 << 30) + 0x3000, "write", { value: 0x42 });
    assert.equal(m.load(0x3000), { value: 0x42 });
    assert.is(vm.stats().sptes, 1);
    g.punchHole(0x3000, 4096);
    assert.equal(vm.stats(), { sptes: 0, faults: 1, zaps: 1, exits: 0 });
    assert.equal(m.load(0x3000), { value: 0 });
    assert.equal(m.load(1 << 20), { signal: "SIGSEGV" }, "past the end of the mapping is no memory at all");
    const big = g.mmap(0, 2 << 20, "rw");
    assert.equal(big.load((1 << 20) + 4096), { signal: "SIGBUS" }, "a mapping may reach past EOF, but touching there is SIGBUS");
  });
}

test("malformed arguments are EINVAL naming the argument, never a raw exception, and change nothing", () => {
  const sim = new Simulator();
  const vm = sim.createVm();
  const g = vm.createGuestMemfd("0x100000", ["MMAP", "INIT_SHARED"]);
  const m = g.mmap(0, 4096);
  const before = [...sim.snapshot()];
  const cases: Array<[() => unknown, string, RegExp]> = [
    [() => vm.createGuestMemfd("lots", 0), "create_guest_memfd", /size: "lots" is not a number/],
    [() => vm.createGuestMemfd(4096, "BIG_PAGES"), "create_guest_memfd", /flags: unknown flag "BIG_PAGES"/],
    [() => g.allocate(1.5, 4096), "fallocate", /offset: 1.5 is not an integer/],
    [() => g.fallocate("SHRINK", 0, 4096), "fallocate", /mode: unknown flag "SHRINK"/],
    [() => vm.setUserMemoryRegion2({ slot: 0, guestPhysAddr: {} as never, memorySize: 4096 }), "set_user_memory_region2", /guestPhysAddr: expected a number/],
    [() => vm.access(0, "fetch" as never), "vcpu_access", /access: "fetch" is not read, write or exec/],
    [() => vm.access(0, "write", { value: 300 }), "vcpu_access", /value: expected a byte value from 0 to 255, got 300/],
    [() => g.link(vm, ["rw" as never], "share"), "gmem_link", /perm: expected an array/],
    [() => g.mmap(0, 4096, "rwz"), "mmap", /prot: "rwz"/],
    [() => m.store(0, -1), "store", /value: expected a byte value from 0 to 255, got -1/],
    [() => m.load(0.5), "load", /offset: 0.5 is not an integer/],
  ];
  for (const [call, op, why] of cases) {
    const e = throwsGmem(call, "EINVAL", "");
    assert.is(e.op, op);
    assert.match(e.message, why);
  }
  assert.equal([...sim.snapshot()], before);
});

test("the batch tier's result lines are exactly the kernel's, and carry the explanation apart", () => {
  const sim = new Simulator();
  const [, r] = sim.apply([
    { op: "create_vm", as: "v", type: "default" },
    { op: "create_guest_memfd", vm: "v", as: "g", size: 4096, flags: 4 },
  ]);
  assert.equal(JSON.parse(JSON.stringify(r)), { i: 1, errno: "EINVAL" });
  assert.match((r as { message?: string }).message ?? "", /flags 0x4 has bits outside the supported set 0x3/);
});

test("a mapping of a file without INIT_SHARED faults with SIGBUS, even on allocated pages", () => {
  const vm = new Simulator().createVm();
  const g = vm.createGuestMemfd(65536, "MMAP");
  g.allocate(0, 65536);
  assert.equal(g.mmap(0, 65536).load(0), { signal: "SIGBUS" });
});

test.run();
