/**
 * A policy is foreign code: every call to it goes through one wrapper
 * (src/kvm/ask.ts). Its requests are deeply frozen; a throw or a garbage answer
 * is a deny (EPERM) whose reason says so; a call back into its simulator is
 * refused (EDEADLK, or an error line) and changes nothing.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GmemError, Simulator, type Decision, type Policy } from "../src/index.js";
import { digestSnapshot } from "../src/core/digest.js";

function errnoOf(fn: () => unknown): { errno: string; message: string } | null {
  try {
    fn();
    return null;
  } catch (e) {
    assert.instance(e, GmemError, String(e));
    return { errno: (e as GmemError).errno, message: (e as GmemError).message };
  }
}

test("policy requests are deeply frozen: a policy that writes to req.window cannot widen what the engine enforces", () => {
  const seen: boolean[] = [];
  const policy: Policy = {
    name: "widener",
    link(req) {
      seen.push(Object.isFrozen(req), Object.isFrozen(req.window), Object.isFrozen(req.perm), Object.isFrozen(req.source), Object.isFrozen(req.source.window), Object.isFrozen(req.vm));
      try {
        (req.window as [number, number])[1] = 256;
      } catch {
        // Strict mode: the write throws; either way the engine keeps its own copy.
      }
      return { allow: true };
    },
  };
  const sim = new Simulator({ policy });
  const a = sim.createVm();
  const b = sim.createVm();
  const g = a.createGuestMemfd(1 << 20);
  const linked = g.link(b, ["r", "w", "alloc"], "share", { offset: 0, len: 4096 });
  assert.equal(seen, [true, true, true, true, true, true]);
  linked.allocate(0, 4096);
  const e = errnoOf(() => linked.allocate(4096, 4096));
  assert.is(e?.errno, "EINVAL", "the window is still one page");
  assert.match(e!.message, /outside the file's window \[0, 1\)/);
});

test("a policy that throws is a policy error: EPERM with the reason, nothing changed, and a trace goes on", () => {
  for (const engine of ["wasm", "reference"] as const) {
    const policy: Policy = {
      name: "thrower",
      fallocate() {
        throw new Error("boom");
      },
    };
    const sim = new Simulator({ engine, policy });
    const out = sim.apply([
      { op: "create_vm", as: "v", type: "default" },
      { op: "create_guest_memfd", vm: "v", as: "g", size: 65536, flags: 0 },
      { op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 4096 },
      { op: "fstat", fd: "g" },
    ]);
    assert.equal(out.map(({ i: _, ...r }) => r), [{ ret: 0 }, { ret: 0 }, { errno: "EPERM" }, { ret: 0, size: 65536, blocks: 0 }]);
    assert.match((out[2] as { message?: string }).message!, /policy thrower: policy error: fallocate\(\) threw: boom/);
    assert.equal(sim.stats(), { host_pages: 0 });
  }
});

test("a garbage decision is a deny with the reason, never an allow", () => {
  const answers: unknown[] = [undefined, null, "allow", { allow: "yes" }, { allow: 1 }, { allow: true, perm: "rw" }, { allow: true, perm: ["r", "sudo"] }, { allow: false }];
  const reasons = [/returned nothing/, /returned object instead/, /returned string/, /"allow" is neither/, /"allow" is neither/, /perm is not an array/, /perm is not an array/, /"deny" without a reason/];
  answers.forEach((answer, n) => {
    const policy: Policy = { name: "garbage", link: () => answer as Decision, fallocate: () => answer as Decision };
    const sim = new Simulator({ policy });
    const a = sim.createVm();
    const b = sim.createVm();
    const g = a.createGuestMemfd(1 << 20);
    const before = digestSnapshot(sim.snapshot());
    for (const call of [() => g.link(b, ["r"], "share"), () => g.allocate(0, 4096)]) {
      const e = errnoOf(call);
      assert.is(e?.errno, "EPERM", `answer ${JSON.stringify(answer)}`);
      assert.match(e!.message, reasons[n]);
    }
    assert.is(digestSnapshot(sim.snapshot()), before);
  });
});

test("a policy that calls back into its simulator gets a clear error (EDEADLK, or an error line from apply) and changes nothing", () => {
  for (const engine of ["wasm", "reference"] as const) {
    const got: unknown[] = [];
    let sim: Simulator;
    const policy: Policy = {
      name: "meddler",
      fallocate() {
        got.push(sim.apply([{ op: "create_vm", as: "x", type: "default" }])[0]);
        got.push(errnoOf(() => sim.createVm()));
        got.push(errnoOf(() => sim.stats()));
        return { allow: true };
      },
    };
    sim = new Simulator({ engine, policy });
    const plain = new Simulator({ engine });
    for (const s of [sim, plain]) {
      const g = s.createVm().createGuestMemfd(1 << 20);
      g.allocate(0, 8192);
    }
    assert.is(digestSnapshot(sim.snapshot()), digestSnapshot(plain.snapshot()), "the callbacks changed nothing");
    assert.match((got[0] as { error: string }).error, /create_vm: called from inside policy meddler's fallocate\(\) decision: a policy must not call back into its simulator/);
    assert.is((got[1] as { errno: string }).errno, "EDEADLK");
    assert.match((got[2] as { message: string }).message, /stats: EDEADLK: called from inside policy meddler/);
    assert.equal(sim.apply([{ op: "fstat", fd: "x" }]).map((r) => (r as { error?: string }).error), ['line 1: fstat: fd: unknown name "x"']);
  }
});

/** The system design's hooks (SPEC §2.3): a gmem_bind of VM a, and b faulting privately on a page a prepared. */
const BIND: object[] = [
  { op: "create_vm", as: "a", type: "sw_protected" },
  { op: "create_guest_memfd_system", as: "g", size: 65536 },
  { op: "gmem_bind", fd: "g", vm: "a" },
];
const FOREIGN: object[] = [
  { op: "create_vm", as: "a", type: "sw_protected" },
  { op: "create_vm", as: "b", type: "sw_protected" },
  { op: "create_guest_memfd_system", as: "g", size: 65536 },
  { op: "gmem_bind", fd: "g", vm: "a" },
  { op: "gmem_bind", fd: "g", vm: "b" },
  ...["a", "b"].flatMap((vm) => [
    { op: "set_user_memory_region2", vm, slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
    { op: "set_memory_attributes", vm, address: 0, size: 65536, attributes: "PRIVATE" },
  ]),
  { op: "vcpu_access", vm: "a", gpa: 0, access: "write", private: true, value: 42 },
  { op: "vcpu_access", vm: "b", gpa: 0, access: "read", private: true },
];

test("the system design's bind hook goes through the same wrapper: a throw, a garbage answer or a write to its frozen request is EPERM with the reason, and the VM stays unbound", () => {
  const binds: Array<[Policy["bind"], RegExp]> = [
    [() => { throw new Error("boom"); }, /policy error: bind\(\) threw: boom/],
    [(() => undefined) as never, /policy error: bind\(\) returned nothing instead of a decision/],
    [(() => ({ allow: "yes" })) as never, /policy error: bind\(\) returned an object whose "allow" is neither true nor false/],
    [(req) => { (req as unknown as { perm: string[] }).perm.push("w"); return { allow: true }; }, /policy error: bind\(\) threw: .*not extensible/],
  ];
  for (const engine of ["wasm", "reference"] as const)
    for (const [bind, reason] of binds) {
      const sim = new Simulator({ engine, design: "system", kernel: "6.18+swprot", policy: { name: "binder", bind } });
      const out = sim.apply([...BIND, { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" }]);
      assert.is(out[2].errno, "EPERM", engine);
      assert.match((out[2] as { message?: string }).message!, reason);
      assert.is(out[3].errno, "EINVAL", `${engine}: a memslot on a file its VM is not bound to`);
    }
});

test("a bind hook calling back into its simulator is refused there, and the bind goes on as the hook decides", () => {
  let sim: Simulator;
  const got: unknown[] = [];
  const policy: Policy = {
    name: "meddler",
    bind() {
      got.push(errnoOf(() => sim.createVm()));
      return { allow: true };
    },
  };
  sim = new Simulator({ design: "system", kernel: "6.18+swprot", policy });
  const out = sim.apply(BIND);
  assert.is((got[0] as { errno: string }).errno, "EDEADLK");
  assert.is(out[2].ret, 0);
});

test("a foreign hook that throws or answers anything but map, zero or refuse is taken as refuse: b's private fault on a's page is the EACCES exit, and nothing crashes", () => {
  const foreigns: Array<Policy["foreign"]> = [() => { throw new Error("boom"); }, (() => "banana") as never, (() => undefined) as never];
  for (const engine of ["wasm", "reference"] as const)
    for (const foreign of foreigns) {
      const sim = new Simulator({ engine, design: "system", kernel: "6.18+swprot", policy: { name: "stranger", foreign } });
      const out = sim.apply(FOREIGN);
      assert.equal(out.map((r) => (r as { error?: string }).error), out.map(() => undefined), engine);
      assert.equal(out[10], { i: 10, errno: "EACCES", exit: "memory_fault", gpa: 0, size: 4096, flags: ["PRIVATE"] }, engine);
    }
  // The vm design asks it at create_guest_memfd: the file is made, and works.
  const sim = new Simulator({ policy: { name: "stranger", foreign: foreigns[0] } });
  const out = sim.apply([
    { op: "create_vm", as: "v", type: "default" },
    { op: "create_guest_memfd", vm: "v", as: "g", size: 65536 },
    { op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 4096 },
  ]);
  assert.equal(out.map((r) => r.ret), [0, 0, 0]);
});

test.run();
