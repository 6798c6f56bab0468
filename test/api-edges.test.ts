/**
 * The object API's edges: strict options with sentences, exact integers,
 * handles that belong to one simulator, idempotent-safe teardown, and an
 * apply() that never throws.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GmemError, Simulator, TraceError, parseJson, stringifyJson } from "../src/index.js";
import { inspect } from "node:util";
import { deepStrictEqual } from "node:assert";
import { profileByName } from "../src/kvm/profile.js";
import { digestSnapshot } from "../src/core/digest.js";

function throwsGmem(fn: () => unknown, errno: string, message: RegExp): GmemError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, GmemError, String(e));
    const g = e as GmemError;
    assert.is(g.errno, errno, g.message);
    assert.match(g.message, message);
    return g;
  }
  throw new assert.Assertion({ message: `expected ${errno}`, generated: false, operator: "throws", expects: errno, actual: "no throw" });
}

test('an unknown Simulator option or value is EINVAL naming the option and listing the known values: engine "gpu", kernel "7.3", "egnine"', () => {
  throwsGmem(() => new Simulator({ engine: "gpu" as never }), "EINVAL", /engine: "gpu" is not a known engine \(known: wasm, reference\)/);
  let listed = "";
  try {
    profileByName("7.3");
  } catch (e) {
    listed = (e as Error).message;
  }
  assert.ok(listed.includes("7.3"), "profileByName refuses 7.3 with a sentence naming it");
  const e = throwsGmem(() => new Simulator({ kernel: "7.3" }), "EINVAL", /^Simulator: EINVAL: kernel: /);
  assert.ok(e.message.endsWith(listed), `the profile list of profileByName: ${e.message}`);
  throwsGmem(() => new Simulator({ egnine: "wasm" } as never), "EINVAL", /egnine: unknown option of Simulator \(did you mean engine\?\)/);
  throwsGmem(() => new Simulator({ policy: { name: "p", link: 5 } as never }), "EINVAL", /policy: link must be a function/);
  // A misspelt hook would never be asked (an absent hook allows): it is refused, as is a property that is no predicate.
  throwsGmem(() => new Simulator({ policy: { name: "p", bnid: () => ({ allow: false, reason: "no" }) } as never }), "EINVAL", /policy: "bnid" is no key of a policy \(it takes name, link, fallocate, bind, migrate, convert, foreign, properties\)/);
  throwsGmem(() => new Simulator({ policy: { name: "p", foreign: "refuse" } as never }), "EINVAL", /policy: foreign must be a function, got string/);
  throwsGmem(() => new Simulator({ policy: { name: "p", properties: { tidy: true } } as never }), "EINVAL", /policy: properties\.tidy must be a function, got boolean/);
  throwsGmem(() => new Simulator("wasm" as never), "EINVAL", /Simulator: expected an options object/);
});

test("handle method options are read strictly: vm.access(gpa, \"write\", 5) is EINVAL, not a write of 0; a misspelt memslot field is EINVAL with a suggestion", () => {
  const sim = new Simulator();
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]);
  const before = digestSnapshot(sim.snapshot());
  throwsGmem(() => vm.access(0, "write", 5 as never), "EINVAL", /access: expected an options object \{value, private\}, got 5/);
  throwsGmem(() => vm.access(0, "write", { valeu: 5 } as never), "EINVAL", /valeu: unknown option of access \(did you mean value\?\)/);
  throwsGmem(
    () => vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 4096, guestMemfd: g, guestMemfdOfset: 8192 } as never),
    "EINVAL",
    /guestMemfdOfset: unknown option of setUserMemoryRegion2 \(did you mean guestMemfdOffset\?\)/,
  );
  throwsGmem(() => vm.setUserMemoryRegion2({ slot: 0, guestPhysAddr: 0 } as never), "EINVAL", /missing field "memorySize"/);
  throwsGmem(() => g.link(vm, ["r"], "share", { length: 4096 } as never), "EINVAL", /length: unknown option of window \(did you mean len\?\)/);
  throwsGmem(() => g.link(vm, ["r"], "shar" as never), "EINVAL", /mode: "shar" is not share, donate or migrate \(did you mean share\?\)/);
  assert.is(digestSnapshot(sim.snapshot()), before);
});

test("vm.read and vm.write answer as vm.access does, and refuse a bad value with the same sentence", () => {
  const sim = new Simulator();
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]);
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 1 << 20, guestMemfd: g });
  assert.equal(vm.write(8192, 77), { ret: 0 });
  assert.equal(vm.read(8192), vm.access(8192, "read"));
  assert.equal(vm.read(8192), { ret: 0, value: 77 });
  // Past the memslot: the same MMIO exit; past 2^53: the same exact gpa.
  assert.equal(vm.read(1 << 30), vm.access(1 << 30, "read"));
  assert.equal(vm.write(2n ** 60n, 1), vm.access(2n ** 60n, "write", { value: 1 }));
  // A negative gpa wraps to its u64 as the reader reads it (an MMIO exit): the same answer either way.
  assert.equal(vm.read(-4096), vm.access(-4096, "read"));
  const before = digestSnapshot(sim.snapshot());
  throwsGmem(() => vm.write(0, 256), "EINVAL", /value/);
  throwsGmem(() => vm.write(0, 1.5), "EINVAL", /value/);
  throwsGmem(() => vm.read(1.5), "EINVAL", /gpa/);
  let a: unknown, w: unknown;
  try { vm.access(0, "write", { value: 300 }); } catch (e) { a = (e as Error).message; }
  try { vm.write(0, 300); } catch (e) { w = (e as Error).message; }
  assert.is(w, a);
  assert.is(digestSnapshot(sim.snapshot()), before);
});

test("integers past 2^53 are exact: fstat of a 2^62-byte file is 4611686018427387904n, an MMIO exit at 2^64-1 has its exact gpa", () => {
  for (const engine of ["wasm", "reference"] as const) {
    const sim = new Simulator({ engine });
    const vm = sim.createVm();
    const g = vm.createGuestMemfd(1n << 62n);
    assert.equal(g.fstat(), { size: 4611686018427387904n, blocks: 0 });
    assert.equal(vm.createGuestMemfd(1 << 20).fstat(), { size: 1048576, blocks: 0 }, "a number while exact");
    assert.equal(vm.access("0xffffffffffffffff", "read"), { ret: 0, exit: "mmio", gpa: 18446744073709551615n });
    const [, , r] = sim.apply('{"op":"create_vm","as":"v","type":"default"}\n{"op":"create_guest_memfd","vm":"v","as":"g","size":"0x4000000000000000"}\n{"op":"fstat","fd":"g"}');
    assert.is(stringifyJson(r), '{"i":2,"ret":0,"size":4611686018427387904,"blocks":0}');
    assert.equal({ ...(parseJson(stringifyJson(r)) as object) }, r, "read back exactly");
  }
});

test("a handle of another Simulator is EINVAL and changes nothing: link, moveEncContextFrom, setUserMemoryRegion2", () => {
  const a = new Simulator();
  const b = new Simulator();
  const va = a.createVm();
  const vb = b.createVm();
  const ga = va.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]);
  const gb = vb.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]);
  const mb = b.anonMap(1 << 20);
  const [da, db] = [digestSnapshot(a.snapshot()), digestSnapshot(b.snapshot())];
  throwsGmem(() => ga.link(vb, ["r"], "share"), "EINVAL", /vm: the Vm belongs to another Simulator/);
  throwsGmem(() => va.moveEncContextFrom(vb), "EINVAL", /src: the Vm belongs to another Simulator/);
  throwsGmem(() => va.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 4096, guestMemfd: gb }), "EINVAL", /guestMemfd: the GmemFile belongs to another Simulator/);
  throwsGmem(() => va.setUserMemoryRegion2({ slot: 0, guestPhysAddr: 0, memorySize: 4096, userspaceAddr: mb }), "EINVAL", /userspaceAddr: the Mapping belongs to another Simulator/);
  throwsGmem(() => va.moveEncContextFrom({ sim: a, obj: {} } as never), "EINVAL", /src: expected a Vm handle/);
  assert.equal([digestSnapshot(a.snapshot()), digestSnapshot(b.snapshot())], [da, db]);
});

test("unmap twice is EBADF and harmless: the file another mapping holds stays mapped and the simulator stays usable", () => {
  for (const engine of ["wasm", "reference"] as const) {
    const sim = new Simulator({ engine });
    const vm = sim.createVm();
    const g = vm.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]);
    const m1 = g.mmap(0, 4096);
    const m2 = g.mmap(0, 4096);
    m2.store(0, 5);
    g.close();
    m1.unmap();
    const before = digestSnapshot(sim.snapshot());
    throwsGmem(() => m1.unmap(), "EBADF", /munmap: EBADF: the mapping was already unmapped/);
    assert.is(digestSnapshot(sim.snapshot()), before);
    assert.equal(m2.load(0), { value: 5 }, `${engine}: the file is still held by m2`);
    throwsGmem(() => g.close(), "EBADF", /close: EBADF/);
    m2.unmap();
    assert.equal(sim.stats(), { host_pages: 0 });
    const g2 = vm.createGuestMemfd(4096, ["MMAP", "INIT_SHARED"]);
    g2.allocate(0, 4096);
    assert.equal(sim.stats(), { host_pages: 1 });
    vm.destroy();
    throwsGmem(() => vm.destroy(), "EBADF", /destroy_vm: EBADF/);
  }
});

test("apply never throws: an array of ops or a JSONL string; i counts this simulator's ops, line N is the position in this call", () => {
  const sim = new Simulator();
  const first = sim.apply('{"op":"create_vm","as":"v","type":"default"}\n\n# comment\n{"op":"fstat","fd":"v"}\nnot json\n');
  assert.equal(first.map((r) => r.i), [0, 1, 2]);
  assert.match((first[2] as { error?: string }).error!, /^line 5: invalid JSON/);
  const odd: unknown[] = [null, 5, [], "", "[1]", { op: "toString" }, { op: "create_vm", as: 7, type: "default" }, { get op(): string { throw new Error("boom"); } }];
  const out = sim.apply(odd as never);
  assert.equal(out.map((r) => r.i), [3, 4, 5, 6, 7, 8, 9], "the blank string gives no result");
  const errors = out.map((r) => (r as { error?: string }).error ?? "");
  assert.match(errors[0], /^line 1: expected an op object, got null/);
  assert.match(errors[1], /^line 2: expected an op object, got 5/);
  assert.match(errors[2], /^line 3: expected an op object, got \[\]/);
  assert.match(errors[3], /^line 5: expected a JSON object/);
  assert.match(errors[4], /^line 6: unknown op "toString"/);
  assert.match(errors[5], /^line 7: create_vm: as: expected a name, got 7/);
  assert.match(errors[6], /^line 8: /);
  assert.equal(sim.apply(42 as never).length, 1);
  // eslint-disable-next-line no-sparse-arrays
  assert.match(((sim.apply([, { op: "stats" }] as never)[0]) as { error?: string }).error ?? "", /^line 1: expected an op object, got nothing/, "a hole of a sparse array gets its result");
  assert.equal(sim.apply([{ op: "fstat", fd: "v" }]).map(({ i: _, ...r }) => r), [{ ret: 0, size: 0, blocks: 0 }], "the simulator goes on");
});

test("both tiers read an argument by the same declaration: the same bad value gets the same sentence", () => {
  const sim = new Simulator();
  const vm = sim.createVm();
  sim.apply([{ op: "create_vm", as: "v", type: "default" }]);
  const cases: Array<[object, () => unknown]> = [
    [{ op: "create_guest_memfd", vm: "v", as: "g", size: 4096, flags: "BIG" }, () => vm.createGuestMemfd(4096, "BIG")],
    [{ op: "create_guest_memfd", vm: "v", as: "g", size: "12abc" }, () => vm.createGuestMemfd("12abc")],
    [{ op: "vcpu_access", vm: "v", gpa: 0, access: "fetch" }, () => vm.access(0, "fetch" as never)],
    [{ op: "vcpu_access", vm: "v", gpa: 0, access: "write", value: 256 }, () => vm.access(0, "write", { value: 256 })],
    [{ op: "check_extension", cap: "NOPE" }, () => sim.checkExtension("NOPE")],
  ];
  for (const [op, call] of cases) {
    const [r] = sim.apply([op]);
    const traceSentence = (r as unknown as { error: string }).error.replace(/^line 1: \w+: /, "");
    const e = throwsGmem(call, "EINVAL", /./);
    assert.is(e.message.replace(/^\w+: EINVAL: /, ""), traceSentence);
  }
});

test("a TraceError is an Error to its catcher: instanceof, name, message, String() and util.inspect", () => {
  const e = new TraceError("gpa: expected a u64, got -1");
  assert.ok(e instanceof TraceError && e instanceof Error);
  assert.is(e.name, "TraceError");
  assert.is(e.message, "gpa: expected a u64, got -1");
  assert.is(String(e), "TraceError: gpa: expected a u64, got -1");
  assert.is(inspect(e), "[TraceError: gpa: expected a u64, got -1]");
});

test("a failure Result is a plain object: node:assert's deepStrictEqual against {errno} holds, and its sentence is readable but not enumerable", () => {
  const sim = new Simulator({ frameLimit: 1 });
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(8192, ["MMAP", "INIT_SHARED"]);
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 8192, guestMemfd: g });
  vm.access(0, "write", { value: 1 });
  // The second page needs a frame past the limit: the access answers ENOMEM as a Result.
  const r = vm.access(4096, "read");
  deepStrictEqual(r, { errno: "ENOMEM" });
  assert.is(Object.getPrototypeOf(r), Object.prototype);
  const message = (r as unknown as { message?: unknown }).message;
  assert.ok(typeof message === "string" && message.length > 0);
  assert.is(JSON.stringify(r), '{"errno":"ENOMEM"}');
});

test.run();
