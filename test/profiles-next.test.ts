/**
 * Profile next (linux-next's in-place conversion, SPEC-next.md), rule by rule,
 * each named after the kernel function it comes from, on both cores, under
 * next+swprot unless a rule names another variant. The choices SPEC-next.md
 * leaves to the simulator ("guess") are tested here too, named as such.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/api/simulator.js";
import { GmemError } from "../src/errors.js";

type Step = [op: object, expect: object];
const MiB = 1048576;

/** A sw_protected VM with a 1 MiB MMAP|INIT_SHARED file bound gmem-only at gpa 0, and a host mapping of it. */
const SETUP = [
  { op: "create_vm", as: "vm", type: "sw_protected" },
  { op: "create_guest_memfd", vm: "vm", as: "g", size: MiB, flags: ["MMAP", "INIT_SHARED"] },
  { op: "set_user_memory_region2", vm: "vm", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: MiB, guest_memfd: "g" },
  { op: "mmap", fd: "g", as: "m", offset: 0, len: MiB, prot: "rw", shared: true },
];
const convert = (offset: number, size: number, attributes: unknown, extra: object = {}) => ({ op: "set_memory_attributes2", fd: "g", offset, size, attributes, ...extra });
const ERR = (errno: string) => ({ errno });
const OK = { ret: 0 };

const RULES: Array<{ source: string; rule: string; steps: Step[]; kernel?: string }> = [
  {
    source: "guest_memfd.c kvm_gmem_set_attributes()",
    rule: "checks in order: flags, reserved, attributes, size 0 or wrap, alignment, then the file's size, each EINVAL",
    steps: [
      [convert(1, 0, 16, { flags: 1, reserved: [1] }), ERR("EINVAL")],
      [convert(1, 0, 16, { reserved: [0, 1] }), ERR("EINVAL")],
      [convert(1, 0, 16), ERR("EINVAL")],
      [convert(0, 0, "PRIVATE"), ERR("EINVAL")],
      [convert("0xfffffffffffff000" as never, 8192, "PRIVATE"), ERR("EINVAL")],
      [convert(2048, 4096, "PRIVATE"), ERR("EINVAL")],
      [convert(0, 100, "PRIVATE"), ERR("EINVAL")],
      [convert(MiB, 4096, "PRIVATE"), ERR("EINVAL")],
      [convert(MiB - 4096, 8192, "PRIVATE"), ERR("EINVAL")],
      [convert(MiB - 4096, 4096, "PRIVATE"), OK],
    ],
  },
  {
    source: "guest_memfd.c kvm_gmem_set_attributes() (kvm_arch_has_private_mem())",
    rule: "a default VM's file is EINVAL even for attributes 0: the VM checked is that of the file the ioctl is issued on",
    steps: [
      [{ op: "create_vm", as: "d", type: "default" }, OK],
      [{ op: "create_guest_memfd", vm: "d", as: "h", size: MiB, flags: "INIT_SHARED" }, OK],
      [{ op: "set_memory_attributes2", fd: "h", offset: 0, size: 4096, attributes: 0 }, ERR("EINVAL")],
    ],
  },
  {
    source: "kvm_main.c kvm_vm_ioctl(), shmem (no unlocked_ioctl)",
    rule: "on a VM fd or a memfd the ioctl is ENOTTY; on a closed fd EBADF",
    steps: [
      [{ op: "set_memory_attributes2", fd: "vm", offset: 0, size: 4096, attributes: 0 }, ERR("ENOTTY")],
      [{ op: "memfd", as: "mf", size: MiB }, OK],
      [{ op: "set_memory_attributes2", fd: "mf", offset: 0, size: 4096, attributes: 0 }, ERR("ENOTTY")],
      [{ op: "close", fd: "mf" }, OK],
      [{ op: "set_memory_attributes2", fd: "mf", offset: 0, size: 4096, attributes: 0 }, ERR("EBADF")],
    ],
  },
  {
    source: "guest_memfd.c kvm_gmem_range_has_attributes() (commit 856852ef2108)",
    rule: "a range that already has the attributes returns 0 without zapping or checking pins",
    steps: [
      [{ op: "vcpu_access", vm: "vm", gpa: 0, access: "read" }, { ret: 0, value: 0 }],
      [{ op: "pin", as: "p", map: "m", offset: 0, len: 4096 }, OK],
      [convert(0, 4096, 0), OK],
      [{ op: "stats", vm: "vm" }, { sptes: 1, zaps: 0 }],
    ],
  },
  {
    source: "guest_memfd.c kvm_gmem_has_outstanding_references()",
    rule: "to private fails with EAGAIN at the first pinned present page, ascending, and changes no attribute",
    steps: [
      [{ op: "pin", as: "p", map: "m", offset: 0x5000, len: 8192 }, OK],
      [{ op: "pin", as: "q", map: "m", offset: 0x3000, len: 4096 }, OK],
      [convert(0, 0x10000, "PRIVATE"), { errno: "EAGAIN", error_offset: 0x3000 }],
      [{ op: "load", map: "m", offset: 0 }, { ret: 0, value: 0 }],
      [{ op: "unpin", pin: "q" }, OK],
      [convert(0, 0x10000, "PRIVATE"), { errno: "EAGAIN", error_offset: 0x5000 }],
      [{ op: "unpin", pin: "p" }, OK],
      [convert(0, 0x10000, "PRIVATE"), OK],
    ],
  },
  {
    source: "guest_memfd.c __kvm_gmem_set_attributes() (the reference check sits inside if (to_private))",
    rule: "to shared never checks references: a pin does not block it",
    steps: [
      [convert(0, 4096, "PRIVATE"), OK],
      [{ op: "pin", as: "p", map: "m", offset: 0x1000, len: 4096 }, OK],
      [convert(0, 8192, 0), OK],
      [{ op: "load", map: "m", offset: 0 }, { ret: 0, value: 0 }],
      [convert(0, 8192, "PRIVATE"), { errno: "EAGAIN", error_offset: 0x1000 }],
    ],
  },
  {
    source: "guest_memfd.c __kvm_gmem_set_attributes() -> unmap_mapping_pages() (MMU notifier)",
    rule: "to private unmaps the host mappings before the reference check, so a plain slot showing them is zapped even on EAGAIN",
    steps: [
      [{ op: "set_user_memory_region2", vm: "vm", slot: 1, guest_phys_addr: 0x10000000, memory_size: 65536, userspace_addr: { map: "m" } }, OK],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x10000000, access: "read" }, { ret: 0, value: 0 }],
      [{ op: "pin", as: "p", map: "m", offset: 0x1000, len: 4096 }, OK],
      [convert(0, 8192, "PRIVATE"), { errno: "EAGAIN", error_offset: 0x1000 }],
      [{ op: "stats", vm: "vm" }, { sptes: 0, zaps: 1 }],
    ],
  },
  {
    source: "guest_memfd.c kvm_gmem_fault_user_mapping()",
    rule: "a host fault on a PRIVATE page is SIGBUS and allocates nothing; after converting back the old contents show",
    steps: [
      [{ op: "store", map: "m", offset: 0x4000, value: 7 }, OK],
      [convert(0x4000, 8192, "PRIVATE"), OK],
      [{ op: "load", map: "m", offset: 0x4000 }, { signal: "SIGBUS" }],
      [{ op: "store", map: "m", offset: 0x5000, value: 1 }, { signal: "SIGBUS" }],
      [{ op: "stats", fd: "g" }, { pages: 1 }],
      [convert(0x4000, 8192, 0), OK],
      [{ op: "load", map: "m", offset: 0x4000 }, { ret: 0, value: 7 }],
    ],
  },
  {
    source: "guest_memfd.c kvm_gmem_get_default_attributes(), kvm_gmem_init_inode()",
    rule: "an inode starts PRIVATE unless INIT_SHARED: a sw_protected guest's access is private, a host fault SIGBUS",
    steps: [
      [{ op: "create_guest_memfd", vm: "vm", as: "h", size: MiB, flags: "MMAP" }, OK],
      [{ op: "set_user_memory_region2", vm: "vm", slot: 1, flags: "GUEST_MEMFD", guest_phys_addr: 0x10000000, memory_size: MiB, guest_memfd: "h" }, OK],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x10000000, access: "read", private: true }, { ret: 0, value: 0 }],
      [{ op: "mmap", fd: "h", as: "hm", offset: 0, len: MiB, prot: "rw", shared: true }, OK],
      [{ op: "load", map: "hm", offset: 0 }, { signal: "SIGBUS" }],
    ],
  },
  {
    source: "guest_memfd.c kvm_gmem_invalidate_start() (every file of the inode)",
    rule: "a conversion zaps the range in every file's VM, at the gfns each binding gives it",
    steps: [
      [{ op: "create_vm", as: "d", type: "default" }, OK],
      [{ op: "gmem_link", fd: "g", vm: "d", as: "dg", perm: ["r", "w"], mode: "share" }, OK],
      [{ op: "set_user_memory_region2", vm: "d", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0x40000000, memory_size: 65536, guest_memfd: "dg", guest_memfd_offset: 0x10000 }, OK],
      [{ op: "vcpu_access", vm: "d", gpa: 0x40001000, access: "read" }, { ret: 0, value: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x11000, access: "read" }, { ret: 0, value: 0 }],
      [convert(0x11000, 4096, "PRIVATE"), OK],
      [{ op: "stats", vm: "d" }, { sptes: 0, zaps: 1 }],
      [{ op: "stats", vm: "vm" }, { sptes: 0, zaps: 1 }],
      [{ op: "vcpu_access", vm: "d", gpa: 0x40001000, access: "read" }, { errno: "EFAULT", exit: "memory_fault", gpa: 0x40001000, size: 4096, flags: [] }],
    ],
  },
  {
    source: "guest_memfd.c (no write on the conversion path); selftest guest_memfd_conversions_test.c",
    rule: "conversion keeps contents both ways, and a range converted before allocation is zeroed on first use",
    steps: [
      [{ op: "vcpu_access", vm: "vm", gpa: 0x6000, access: "write", value: 11 }, OK],
      [convert(0x6000, 4096, "PRIVATE"), OK],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x6000, access: "read" }, { ret: 0, value: 11 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x6000, access: "write", value: 12 }, OK],
      [convert(0x6000, 4096, 0), OK],
      [{ op: "load", map: "m", offset: 0x6000 }, { ret: 0, value: 12 }],
      [convert(0x80000, 4096, "PRIVATE"), OK],
      [{ op: "stats", fd: "g" }, { pages: 1 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x80000, access: "read" }, { ret: 0, value: 0 }],
    ],
  },
  {
    source: "guest_memfd.c kvm_gmem_punch_hole() (attributes belong to the inode)",
    rule: "punching a hole frees the pages and keeps the attributes",
    steps: [
      [convert(0x7000, 4096, "PRIVATE"), OK],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x7000, access: "write", value: 3 }, OK],
      [{ op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0x7000, len: 4096 }, OK],
      [{ op: "load", map: "m", offset: 0x7000 }, { signal: "SIGBUS" }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x7000, access: "read" }, { ret: 0, value: 0 }],
    ],
  },
  {
    source: "mm truncate_inode_folio() (SPEC-next §2.2, likely)",
    rule: "a punched pinned page leaves the file but stays allocated until unpin, and no longer blocks conversion",
    steps: [
      [{ op: "pin", as: "p", map: "m", offset: 0x3000, len: 4096 }, OK],
      [{ op: "stats" }, { host_pages: 1 }],
      [{ op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0x3000, len: 4096 }, OK],
      [{ op: "stats", fd: "g" }, { pages: 0 }],
      [{ op: "stats" }, { host_pages: 1 }],
      [convert(0x3000, 4096, "PRIVATE"), OK],
      [{ op: "unpin", pin: "p" }, OK],
      [{ op: "stats" }, { host_pages: 0 }],
    ],
  },
  {
    source: "guest_memfd.c kvm_gmem_ioctl() (the file pins the VM)",
    rule: "a file whose VM fd was closed still converts",
    steps: [
      [{ op: "destroy_vm", vm: "vm" }, OK],
      [convert(0, 4096, "PRIVATE"), OK],
      [{ op: "load", map: "m", offset: 0 }, { signal: "SIGBUS" }],
    ],
  },
  {
    source: "guest_memfd.c kvm_gmem_is_private_gfn() (no file: shared)",
    rule: "with the file closed a gfn reads as shared: a gmem-only slot's access exits with flags [] (no PRIVATE)",
    steps: [
      [{ op: "create_guest_memfd", vm: "vm", as: "h", size: MiB, flags: 0 }, OK],
      [{ op: "set_user_memory_region2", vm: "vm", slot: 1, flags: "GUEST_MEMFD", guest_phys_addr: 0x10000000, memory_size: MiB, guest_memfd: "h" }, OK],
      [{ op: "close", fd: "h" }, OK],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x10000000, access: "read" }, { errno: "EFAULT", exit: "memory_fault", gpa: 0x10000000, size: 4096, flags: [] }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x20000000, access: "read" }, { ret: 0, exit: "mmio", gpa: 0x20000000 }],
    ],
  },
  {
    source: "guess (SPEC-next §2.2): pin is all-or-nothing",
    rule: "a pin over a range with a PRIVATE page fails with EFAULT and pins or allocates nothing",
    steps: [
      [convert(0x9000, 4096, "PRIVATE"), OK],
      [{ op: "pin", as: "p", map: "m", offset: 0x8000, len: 8192 }, ERR("EFAULT")],
      [{ op: "stats", fd: "g" }, { pages: 0 }],
      [{ op: "unpin", pin: "p" }, { error: "line 1: unpin: pin: the pin is not live (already unpinned, or its pin failed)" }],
      [{ op: "pin", as: "p", map: "m", offset: 0x8000, len: 4096 }, OK],
      [{ op: "unpin", pin: "p" }, OK],
      [{ op: "unpin", pin: "p" }, { error: "line 1: unpin: pin: the pin is not live (already unpinned, or its pin failed)" }],
      [{ op: "pin", as: "q", map: "m", offset: 0x800, len: 4096 }, { error: "line 1: pin: offset 2048 and len 4096 must be multiples of 4096, len > 0, inside the 256-page mapping" }],
    ],
  },
  {
    source: "guess (SPEC-next §2.1): offset and address are one union field",
    rule: "giving both is a trace error; address alone is the offset",
    steps: [
      [{ op: "set_memory_attributes2", fd: "g", offset: 0, address: 0, size: 4096, attributes: "PRIVATE" }, { error: "line 1: set_memory_attributes2: offset and address are one field of the struct (a union): give one of them" }],
      [{ op: "set_memory_attributes2", fd: "g", address: 0, size: 4096, attributes: "PRIVATE" }, OK],
      [{ op: "load", map: "m", offset: 0 }, { signal: "SIGBUS" }],
    ],
  },
  {
    source: "guess (SPEC-next §3.2): a linked file converts only inside its window",
    rule: "a conversion through a linked file outside its window is EINVAL, before the policy",
    steps: [
      [{ op: "create_vm", as: "s2", type: "sw_protected" }, OK],
      [{ op: "gmem_link", fd: "g", vm: "s2", as: "sg", perm: ["r"], offset: 0, len: 8192, mode: "share" }, OK],
      [{ op: "set_memory_attributes2", fd: "sg", offset: 0, size: 12288, attributes: "PRIVATE" }, ERR("EINVAL")],
      [{ op: "set_memory_attributes2", fd: "sg", offset: 0, size: 8192, attributes: "PRIVATE" }, ERR("EPERM")],
    ],
  },
  {
    source: "kvm_main.c kvm_vm_ioctl_set_mem_attributes() with no supported attribute",
    rule: "next+swprot+vmattr+inplace: the VM ioctl exists but PRIVATE is EINVAL and 0 a no-op; guests see the inode's attributes",
    kernel: "next+swprot+vmattr+inplace",
    steps: [
      [{ op: "set_memory_attributes", vm: "vm", address: 0, size: 4096, attributes: "PRIVATE" }, ERR("EINVAL")],
      [{ op: "set_memory_attributes", vm: "vm", address: 0, size: 4096, attributes: 0 }, OK],
      [convert(0, 4096, "PRIVATE"), OK],
      [{ op: "load", map: "m", offset: 0 }, { signal: "SIGBUS" }],
    ],
  },
];

for (const engine of ["wasm", "reference"] as const) {
  for (const { source, rule, steps, kernel = "next+swprot" } of RULES) {
    test(`${source}: ${rule} [${kernel}] (${engine})`, () => {
      const sim = new Simulator({ engine, kernel });
      for (const r of sim.apply(SETUP)) assert.is(r.ret, 0, `setup line ${r.i}: ${JSON.stringify(r)}`);
      for (const [op, expect] of steps) {
        const [got] = sim.apply([op]);
        const { i: _i, ...rest } = got;
        assert.equal(Object.fromEntries(Object.keys(expect).map((k) => [k, rest[k]])), expect, `${JSON.stringify(op)}: got ${JSON.stringify(rest)}`);
      }
    });
  }
}

test("the API: GmemFile.setMemoryAttributes converts, EAGAIN carries the pinned page's offset, Mapping.pin returns its release", () => {
  const sim = new Simulator({ kernel: "next+swprot" });
  const vm = sim.createVm("sw_protected");
  const g = vm.createGuestMemfd(MiB, ["MMAP", "INIT_SHARED"]);
  const m = g.mmap(0, MiB);
  m.store(0x2000, 5);
  const release = m.pin(0x2000, 4096);
  const err = (() => {
    try {
      g.setMemoryAttributes(0, 0x4000, "PRIVATE");
    } catch (e) {
      return e as GmemError & { errorOffset?: number };
    }
  })();
  assert.ok(err instanceof GmemError);
  assert.is(err!.errno, "EAGAIN");
  assert.is(err!.errorOffset, 0x2000);
  release();
  g.setMemoryAttributes(0, 0x4000, "PRIVATE");
  assert.equal(m.load(0x2000), { signal: "SIGBUS" });
  g.setMemoryAttributes(0, 0x4000, 0);
  assert.equal(m.load(0x2000), { value: 5 });
});

test("a pin that would pass the host's frame limit is ENOMEM and pins nothing; within it, it pins", () => {
  for (const engine of ["wasm", "reference"] as const) {
    const sim = new Simulator({ engine, kernel: "next+swprot", frameLimit: 2 });
    const [, fail, stats, ok] = sim.apply([
      { op: "anon_map", as: "a", len: 16384 },
      { op: "pin", as: "p", map: "a", offset: 0, len: 12288 },
      { op: "stats" },
      { op: "pin", as: "q", map: "a", offset: 0, len: 8192 },
    ]);
    assert.is(fail.errno, "ENOMEM", engine);
    assert.is(stats.host_pages, 0, engine);
    assert.is(ok.ret, 0, engine);
  }
});

test.run();
