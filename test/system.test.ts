/**
 * The system-scoped design (SPEC §2.3, an extension): gmem made on /dev/kvm
 * and bound to several VMs, the policy's bind and foreign hooks, and its
 * lifetimes. Each test names the rule it checks.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkInvariants, checkSecurity } from "../src/check/checker.js";
import { Simulator } from "../src/api/simulator.js";
import type { Policy } from "../src/policy/types.js";
import { fuzzRun } from "../src/fuzz/run.js";
import { naivePolicy } from "../src/designs/naive.js";

type Line = Record<string, unknown>;

/** sw_protected VMs need the swprot option; there an access's privateness is derived from the gfn's attribute. */
const KERNEL = "6.18+swprot";

function run(lines: Line[], opts: { design?: "vm" | "system" | "system+implicit"; policy?: Policy; engine?: "wasm" | "reference"; kernel?: string } = {}) {
  const sim = new Simulator({ engine: opts.engine ?? "reference", design: opts.design ?? "system", policy: opts.policy, kernel: opts.kernel ?? KERNEL });
  const results = sim.apply(lines);
  return { sim, results, flaws: checkSecurity(sim.host), bugs: checkInvariants(sim.host) };
}

const SW = (as: string): Line => ({ op: "create_vm", as, type: "sw_protected" });
const slot = (vm: string, fd: string, gpa = 0, size = 65536): Line => ({ op: "set_user_memory_region2", vm, slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: gpa, memory_size: size, guest_memfd: fd });
const priv = (vm: string, gpa = 0, size = 65536): Line => ({ op: "set_memory_attributes", vm, address: gpa, size, attributes: "PRIVATE" });

test("create_guest_memfd_system checks flags before size, and needs no VM", () => {
  const { results } = run([
    { op: "create_guest_memfd_system", as: "g", size: 4095, flags: 8 },
    { op: "create_guest_memfd_system", as: "h", size: 4095, flags: 0 },
    { op: "create_guest_memfd_system", as: "k", size: 65536, flags: "MMAP" },
    { op: "fstat", fd: "k" },
  ]);
  assert.equal(results.map((r) => r.errno ?? r.ret), ["EINVAL", "EINVAL", 0, 0]);
  assert.is(results[3].size, 65536);
});

test("the system ioctls are ENOTTY in the vm design, and gmem_link is ENOTTY in the system design", () => {
  const vm = run([{ op: "create_guest_memfd_system", as: "g", size: 65536 }], { design: "vm" });
  assert.is(vm.results[0].errno, "ENOTTY");
  const sys = run([{ op: "create_vm", as: "a", type: "default" }, { op: "create_guest_memfd", vm: "a", as: "g", size: 65536 }, { op: "create_vm", as: "b", type: "default" }, { op: "gmem_link", fd: "g", vm: "b", as: "l", perm: ["r"], mode: "share" }]);
  assert.is(sys.results[3].errno, "ENOTTY");
});

test("a memslot on a system fd needs the VM bound first (EINVAL), unless binding is implicit", () => {
  const lines = [{ op: "create_vm", as: "a", type: "default" }, { op: "create_guest_memfd_system", as: "g", size: 65536, flags: "MMAP" }, slot("a", "g"), { op: "vcpu_access", vm: "a", gpa: 0, access: "write", value: 3 }];
  assert.is(run(lines).results[2].errno, "EINVAL");
  const imp = run(lines, { design: "system+implicit" });
  assert.equal(imp.results.slice(2).map((r) => r.ret), [0, 0]);
  assert.equal(imp.flaws, []);
  assert.equal(imp.bugs, []);
});

test("an implicit bind refused with its memslot leaves nothing bound (atomicity)", () => {
  const { results, sim } = run([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd_system", as: "g", size: 65536, flags: "MMAP" },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: "0x10000000000000", memory_size: 4096, guest_memfd: "g" },
    { op: "gmem_bind", fd: "g", vm: "a" },
  ], { design: "system+implicit" });
  assert.is(results[2].errno, "EINVAL");
  assert.is(results[3].ret, 0, "the refused memslot bound nothing, so the explicit bind is not EEXIST");
  assert.is([...sim.host.inodes][0].files.length, 1);
});

test("one system file bound to two VMs shares pages at different gfns, with the rights each bind was granted", () => {
  const { results, flaws, bugs } = run([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_vm", as: "b", type: "default" },
    { op: "create_guest_memfd_system", as: "g", size: 65536, flags: "MMAP" },
    { op: "gmem_bind", fd: "g", vm: "a" },
    { op: "gmem_bind", fd: "g", vm: "b", perm: ["r"] },
    slot("a", "g", 0),
    slot("b", "g", 0x200000),
    { op: "vcpu_access", vm: "a", gpa: 0x1000, access: "write", value: 7 },
    { op: "vcpu_access", vm: "b", gpa: 0x201000, access: "read" },
    { op: "vcpu_access", vm: "b", gpa: 0x201000, access: "write", value: 9 },
  ]);
  assert.equal(results[8], { i: 8, ret: 0, value: 7 });
  assert.equal(results[9], { i: 9, errno: "EACCES", exit: "memory_fault", gpa: 0x201000, size: 4096, flags: [] });
  assert.equal(flaws, []);
  assert.equal(bugs, []);
});

test("gmem_unbind drops only that VM's bindings: its access is a closed file's exit, the other VM keeps its pages", () => {
  const { results, bugs } = run([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_vm", as: "b", type: "default" },
    { op: "create_guest_memfd_system", as: "g", size: 65536, flags: "MMAP" },
    { op: "gmem_bind", fd: "g", vm: "a" },
    { op: "gmem_bind", fd: "g", vm: "b" },
    slot("a", "g"),
    slot("b", "g"),
    { op: "vcpu_access", vm: "a", gpa: 0, access: "write", value: 5 },
    { op: "gmem_unbind", fd: "g", vm: "a" },
    { op: "vcpu_access", vm: "a", gpa: 0, access: "read" },
    { op: "vcpu_access", vm: "b", gpa: 0, access: "read" },
    { op: "gmem_unbind", fd: "g", vm: "a" },
  ]);
  assert.equal(results[9], { i: 9, errno: "EFAULT", exit: "memory_fault", gpa: 0, size: 4096, flags: [] });
  assert.equal(results[10], { i: 10, ret: 0, value: 5 });
  assert.is(results[11].errno, "EINVAL");
  assert.equal(bugs, []);
});

test("gmem_bind of a VM already bound is EEXIST; of an INIT_SHARED file to a VM with private memory EINVAL; alloc in perm EINVAL", () => {
  const { results } = run([
    SW("a"),
    { op: "create_guest_memfd_system", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
    { op: "gmem_bind", fd: "g", vm: "a" },
    { op: "create_guest_memfd_system", as: "h", size: 65536 },
    { op: "gmem_bind", fd: "h", vm: "a", perm: ["r", "alloc"] },
    { op: "gmem_bind", fd: "h", vm: "a" },
    { op: "gmem_bind", fd: "h", vm: "a" },
  ]);
  assert.equal(results.slice(2).map((r) => r.errno ?? r.ret), ["EINVAL", 0, "EINVAL", 0, "EEXIST"]);
});

/** a prepares page 0 private; b, bound to the same file, faults it privately. */
const FOREIGN: Line[] = [
  SW("a"),
  SW("b"),
  { op: "create_guest_memfd_system", as: "g", size: 65536 },
  { op: "gmem_bind", fd: "g", vm: "a" },
  { op: "gmem_bind", fd: "g", vm: "b" },
  slot("a", "g"),
  priv("a"),
  { op: "vcpu_access", vm: "a", gpa: 0, access: "write", private: true, value: 42 },
  slot("b", "g"),
  priv("b"),
  { op: "vcpu_access", vm: "b", gpa: 0, access: "read", private: true },
];

test("the default system policy refuses a fault on a page prepared under another context: EACCES exit (an extension: the policy's foreign answer)", () => {
  const { results, flaws } = run(FOREIGN);
  assert.equal(results[10], { i: 10, errno: "EACCES", exit: "memory_fault", gpa: 0, size: 4096, flags: ["PRIVATE"] });
  assert.equal(flaws, []);
});

const withForeign = (mode: "map" | "zero"): Policy => ({ name: `foreign-${mode}`, foreign: () => mode });

test("a policy that maps foreign pages lets b read a's private byte, and right key catches it", () => {
  const { results, flaws } = run(FOREIGN, { policy: withForeign("map") });
  assert.equal(results[10], { i: 10, ret: 0, value: 42 });
  assert.is(flaws.length, 1);
  assert.match(flaws[0], /^6 right key: vm 1 \(context 2\) maps gfn 0x0 private, a page of inode 0 prepared private under context 1/);
});

test("a policy that zeroes foreign pages hands b a zero page prepared under its own key, and unmaps it from a", () => {
  for (const engine of ["reference", "wasm"] as const) {
    const { results, flaws, bugs } = run([...FOREIGN, { op: "stats", vm: "a" }, { op: "vcpu_access", vm: "a", gpa: 0, access: "read", private: true }, { op: "stats", vm: "b" }], { policy: withForeign("zero"), engine });
    assert.equal(results[10], { i: 10, ret: 0, value: 0 }, engine);
    assert.is(results[11].sptes, 0, `${engine}: a's SPTE went when b re-prepared the page`);
    // a faults it back the same way: zeroed again, under a's key, and b loses its mapping.
    assert.equal(results[12], { i: 12, ret: 0, value: 0 }, engine);
    assert.is(results[13].sptes, 0, engine);
    assert.equal(flaws, [], engine);
    assert.equal(bugs, [], engine);
  }
});

test("a page that becomes private is unmapped from every VM that mapped it shared (no other context keeps a mapping)", () => {
  const { results, flaws, bugs } = run([
    { op: "create_vm", as: "a", type: "default" },
    SW("b"),
    { op: "create_guest_memfd_system", as: "g", size: 65536, flags: "MMAP" },
    { op: "gmem_bind", fd: "g", vm: "a" },
    { op: "gmem_bind", fd: "g", vm: "b" },
    slot("a", "g"),
    slot("b", "g"),
    { op: "vcpu_access", vm: "a", gpa: 0, access: "read" },
    priv("b"),
    { op: "vcpu_access", vm: "b", gpa: 0, access: "write", private: true, value: 1 },
    { op: "stats", vm: "a" },
  ]);
  assert.is(results[9].ret, 0);
  assert.is(results[10].sptes, 0);
  assert.equal(flaws, []);
  assert.equal(bugs, []);
});

test("the default system policy refuses to bind again a VM it unbound while others stayed bound (donation is final)", () => {
  const { results } = run([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_vm", as: "b", type: "default" },
    { op: "create_guest_memfd_system", as: "g", size: 65536 },
    { op: "gmem_bind", fd: "g", vm: "a" },
    { op: "gmem_bind", fd: "g", vm: "b" },
    { op: "gmem_unbind", fd: "g", vm: "a" },
    { op: "gmem_bind", fd: "g", vm: "a" },
  ]);
  assert.is(results[6].errno, "EPERM");
});

test("the inode lives while the system fd is open or mapped, not while a VM is bound to it", () => {
  const { results, sim } = run([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd_system", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
    { op: "gmem_bind", fd: "g", vm: "a" },
    slot("a", "g"),
    { op: "vcpu_access", vm: "a", gpa: 0, access: "write", value: 9 },
    { op: "mmap", fd: "g", as: "m", offset: 0, len: 4096, prot: "rw", shared: true },
    { op: "close", fd: "g" },
    { op: "load", map: "m", offset: 0 },
    { op: "vcpu_access", vm: "a", gpa: 0, access: "read" },
    { op: "munmap", map: "m" },
    { op: "stats" },
  ]);
  assert.equal(results[7], { i: 7, ret: 0, value: 9 });
  assert.equal(results[8].value, 9);
  assert.is(results[10].host_pages, 0);
  assert.is(sim.host.inodes.size, 0);
});

test("move_enc_context_from to a VM already running private memory under its own context is EINVAL (sev_vm_move_enc_context_from refuses an SEV dst)", () => {
  for (const design of ["vm", "system"] as const) {
    const setup: Line[] =
      design === "vm"
        ? [SW("a"), SW("b"), { op: "create_guest_memfd", vm: "a", as: "g", size: 65536 }, slot("a", "g"), { op: "create_guest_memfd", vm: "b", as: "h", size: 65536 }, slot("b", "h")]
        : [SW("a"), SW("b"), { op: "create_guest_memfd_system", as: "g", size: 65536 }, { op: "gmem_bind", fd: "g", vm: "a" }, slot("a", "g"), { op: "create_guest_memfd_system", as: "h", size: 65536 }, { op: "gmem_bind", fd: "h", vm: "b" }, slot("b", "h")];
    const { results, flaws } = run([...setup, priv("b"), { op: "vcpu_access", vm: "b", gpa: 0, access: "write", private: true, value: 1 }, { op: "move_enc_context_from", vm: "b", src: "a" }], { design });
    assert.is(results[results.length - 1].errno, "EINVAL", design);
    assert.equal(flaws, [], design);
  }
});

test("an access derived private puts the VM's context in use, under the VM's attributes and in place alike; a shared one does not (sev_vm_move_enc_context_from)", () => {
  const move: Line = { op: "move_enc_context_from", vm: "b", src: "a" };
  const access: Line = { op: "vcpu_access", vm: "b", gpa: 0, access: "write", value: 1 };
  const setup = (flags: unknown): Line[] => [SW("a"), SW("b"), { op: "create_guest_memfd", vm: "b", as: "h", size: 65536, flags }, slot("b", "h")];
  for (const engine of ["reference", "wasm"] as const) {
    // kvm_mem_is_private(): the VM's attribute, set PRIVATE.
    const vmAttr = run([...setup(0), priv("b"), access, move], { design: "vm", engine });
    assert.equal(vmAttr.results.slice(-2).map((r) => r.errno ?? r.ret), [0, "EINVAL"], `${engine}, 6.18+swprot`);
    // kvm_gmem_is_private_gfn(): the inode starts PRIVATE without INIT_SHARED; the core resolves it.
    const inPlace = run([...setup(0), access, move], { design: "vm", engine, kernel: "next+swprot" });
    assert.equal(inPlace.results.slice(-2).map((r) => r.errno ?? r.ret), [0, "EINVAL"], `${engine}, next+swprot`);
    const shared = run([...setup(["MMAP", "INIT_SHARED"]), access, move], { design: "vm", engine, kernel: "next+swprot" });
    assert.equal(shared.results.slice(-2).map((r) => r.errno ?? r.ret), [0, 0], `${engine}, next+swprot, INIT_SHARED`);
  }
});

test("gmem_bind of an INIT_SHARED system fd to a VM with private memory is EINVAL unless the profile converts in place (kvm_gmem_get_supported_flags())", () => {
  const lines: Line[] = [SW("a"), { op: "create_guest_memfd_system", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] }, { op: "gmem_bind", fd: "g", vm: "a" }];
  assert.is(run(lines).results[2].errno, "EINVAL");
  assert.equal(run(lines, { kernel: "next+swprot" }).results[2], { i: 2, ret: 0 });
});

test("set_memory_attributes2 on a system fd converts the inode for every bound VM: a page a prepared private, made shared, is b's to read (kvm_gmem_set_attributes())", () => {
  const setup: Line[] = [SW("a"), SW("b"), { op: "create_guest_memfd_system", as: "g", size: 65536 }, { op: "gmem_bind", fd: "g", vm: "a" }, { op: "gmem_bind", fd: "g", vm: "b" }, slot("a", "g"), slot("b", "g")];
  // Privateness is derived: the inode starts PRIVATE (no INIT_SHARED), so a's write is private and prepares the page under a's context.
  const write: Line = { op: "vcpu_access", vm: "a", gpa: 0, access: "write", value: 5 };
  const read: Line = { op: "vcpu_access", vm: "b", gpa: 0, access: "read" };
  for (const engine of ["reference", "wasm"] as const) {
    const refused = run([...setup, write, read], { kernel: "next+swprot", engine });
    assert.equal(refused.results[8], { i: 8, errno: "EACCES", exit: "memory_fault", gpa: 0, size: 4096, flags: ["PRIVATE"] }, engine);
    const converted = run([...setup, write, { op: "set_memory_attributes2", fd: "g", offset: 0, size: 4096, attributes: 0 }, read], { kernel: "next+swprot", engine });
    assert.equal(converted.results.slice(7), [{ i: 7, ret: 0 }, { i: 8, ret: 0 }, { i: 9, ret: 0, value: 5 }], engine);
    assert.equal([...converted.bugs, ...converted.flaws], [], engine);
  }
});

test("the fuzzer on the system design with the naive policy rediscovers the right-key hazard and shrinks it to a handful of ops", () => {
  const r = fuzzRun({ seed: 1, ops: 60_000, design: "system", policy: naivePolicy, kernel: KERNEL });
  assert.ok(r.failure, `no failure in ${r.ops} ops`);
  assert.is(r.failure!.failure.kind, "security property");
  assert.match(r.failure!.failure.detail, /^6 right key: /);
  assert.ok(r.failure!.trace.length <= 12, `shrunk to ${r.failure!.trace.length} ops`);
});

test.run();
