/**
 * Guest accesses, memory attributes and memory failure: the rules this kernel's
 * build cannot show (no VM type with private memory, CONFIG_MEMORY_FAILURE=n),
 * each checked on both cores, under the profile of a build that has them
 * (6.18+swprot unless a rule names another), and named after the kernel
 * function it comes from. The rules the live kernel can show are in
 * test/conformance/guest.jsonl.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/api/simulator.js";

type Step = [op: object, expect: object];

const SETUP = [
  { op: "create_vm", as: "vm", type: "sw_protected" },
  { op: "create_guest_memfd", vm: "vm", as: "g", size: 1048576, flags: 0 },
  { op: "set_user_memory_region2", vm: "vm", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 1048576, userspace_addr: { anon: "sh" }, guest_memfd: "g" },
  { op: "create_vm", as: "plain", type: "default" },
  { op: "set_user_memory_region2", vm: "plain", slot: 0, guest_phys_addr: 0, memory_size: 65536, userspace_addr: { anon: "p" } },
];

/** The live build (6.18): no sw_protected VM. */
const LIVE_SETUP = SETUP.slice(3);

const RULES: Array<{ source: string; rule: string; steps: Step[]; kernel?: string; setup?: object[] }> = [
  {
    source: "x86 svm/sev.c: sev_vm_move_enc_context_from()",
    rule: "a target that has made a successful private access runs under its own context: taking another's is EINVAL; one whose private access only exited takes it",
    setup: [...SETUP, { op: "create_vm", as: "b", type: "sw_protected" }, { op: "create_vm", as: "src", type: "sw_protected" }],
    steps: [
      [{ op: "set_memory_attributes", vm: "vm", address: 0, size: 4096, attributes: "PRIVATE" }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0, access: "read" }, { ret: 0, value: 0 }],
      [{ op: "move_enc_context_from", vm: "vm", src: "src" }, { errno: "EINVAL" }],
      // No memslot at the private gfn: the private access exits, and b has run nothing under its key.
      [{ op: "set_memory_attributes", vm: "b", address: 0, size: 4096, attributes: "PRIVATE" }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "b", gpa: 0, access: "read" }, { errno: "EFAULT", exit: "memory_fault", flags: ["PRIVATE"] }],
      [{ op: "move_enc_context_from", vm: "b", src: "src" }, { ret: 0 }],
    ],
  },
  {
    source: "x86 svm/sev.c: sev_vm_move_enc_context_from() (selftest sev_migrate_tests.c: test_sev_migrate_parameters(), no migration to an SEV-enabled VM)",
    rule: "a target that took a context by a move is a confidential guest already: taking a second one is EINVAL, and the page it maps under the first stays its key's",
    setup: [
      { op: "create_vm", as: "v0", type: "sw_protected" },
      { op: "create_vm", as: "v1", type: "default" },
      { op: "create_vm", as: "v2", type: "sw_protected" },
      { op: "create_guest_memfd", vm: "v0", as: "g", size: 65536, flags: "MMAP" },
      { op: "set_user_memory_region2", vm: "v0", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
    ],
    steps: [
      [{ op: "move_enc_context_from", vm: "v1", src: "v0" }, { ret: 0 }],
      [{ op: "move_enc_context_from", vm: "v1", src: "v2" }, { errno: "EINVAL" }],
      [{ op: "stats", vm: "v2" }, { ret: 0 }],
    ],
  },
  {
    source: "x86 svm/sev.c: sev_vm_move_enc_context_from()",
    rule: "with in-place conversion the access's privateness comes from the gmem inode (kvm_gmem_is_private_gfn()): a target that read a converted page took its own context, EINVAL",
    kernel: "next+swprot",
    setup: [
      { op: "create_vm", as: "vm", type: "sw_protected" },
      { op: "create_guest_memfd", vm: "vm", as: "g", size: 1048576, flags: "MMAP" },
      { op: "set_user_memory_region2", vm: "vm", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 1048576, guest_memfd: "g" },
      { op: "create_vm", as: "b", type: "sw_protected" },
      { op: "create_vm", as: "src", type: "sw_protected" },
    ],
    steps: [
      [{ op: "set_memory_attributes2", fd: "g", offset: 0, size: 4096, attributes: "PRIVATE" }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0, access: "read" }, { ret: 0, value: 0 }],
      [{ op: "move_enc_context_from", vm: "vm", src: "src" }, { errno: "EINVAL" }],
      // b has no memslot: its access is shared (an MMIO exit), so nothing ran under its key.
      [{ op: "vcpu_access", vm: "b", gpa: 0, access: "read" }, { exit: "mmio" }],
      [{ op: "move_enc_context_from", vm: "b", src: "src" }, { ret: 0 }],
    ],
  },
  {
    source: "x86 mmu.c: kvm_mmu_page_fault()",
    rule: "on a sw_protected VM an access to a PRIVATE gfn is private: it gets a fresh zeroed gmem page, never a mismatch exit",
    steps: [
      [{ op: "set_memory_attributes", vm: "vm", address: 0, size: 8192, attributes: "PRIVATE" }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0, access: "read" }, { ret: 0, value: 0 }],
      [{ op: "stats", fd: "g" }, { pages: 1 }],
      [{ op: "stats", vm: "vm" }, { sptes: 1, exits: 0 }],
    ],
  },
  {
    source: "x86 mmu.c: kvm_mmu_page_fault()",
    rule: "on a sw_protected VM a private flag that contradicts the gfn's attribute is a trace error naming the rule",
    steps: [
      [{ op: "vcpu_access", vm: "vm", gpa: 0x3008, access: "read", private: true }, { error: /private: true, but gfn 0x3 is shared: on a sw_protected VM kvm_mmu_page_fault\(\) derives/ }],
      [{ op: "set_memory_attributes", vm: "vm", address: 0x3000, size: 4096, attributes: "PRIVATE" }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x3008, access: "read", private: false }, { error: /private: false, but gfn 0x3 is PRIVATE/ }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x3008, access: "read", private: true }, { ret: 0, value: 0 }],
      [{ op: "stats", vm: "vm" }, { sptes: 1, exits: 0 }],
    ],
  },
  {
    source: "x86 mmu.c: kvm_mmu_page_fault()",
    rule: "on a default VM every access is shared: private true is a trace error, and an omitted private reads the shared page",
    steps: [
      [{ op: "vcpu_access", vm: "plain", gpa: 0x1000, access: "read", private: true }, { error: /on a default VM every access is shared/ }],
      [{ op: "vcpu_access", vm: "plain", gpa: 0x1000, access: "read" }, { ret: 0, value: 0 }],
      [{ op: "vcpu_access", vm: "plain", gpa: 0x1000, access: "read", private: false }, { ret: 0, value: 0 }],
    ],
  },
  {
    source: "x86 mmu.c: kvm_handle_noslot_fault() (selftest x86/private_mem_kvm_exits_test.c)",
    rule: "an access to a PRIVATE gfn where no memslot is is private: a memory-fault exit with the PRIVATE flag, not MMIO",
    steps: [
      [{ op: "vcpu_access", vm: "vm", gpa: 0x10000000, access: "write", value: 1 }, { ret: 0, exit: "mmio", gpa: 0x10000000 }],
      [{ op: "set_memory_attributes", vm: "vm", address: 0x10000000, size: 4096, attributes: "PRIVATE" }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x10000008, access: "write", value: 1 }, { errno: "EFAULT", exit: "memory_fault", gpa: 0x10000000, size: 4096, flags: ["PRIVATE"] }],
    ],
  },
  {
    source: "x86 mmu.c: kvm_mmu_faultin_pfn_gmem()",
    rule: "an access to a PRIVATE gfn of a memslot without guest_memfd is a memory-fault exit with the PRIVATE flag",
    steps: [
      [{ op: "set_user_memory_region2", vm: "vm", slot: 1, guest_phys_addr: 0x200000, memory_size: 65536, userspace_addr: { anon: "q" } }, { ret: 0 }],
      [{ op: "set_memory_attributes", vm: "vm", address: 0x200000, size: 65536, attributes: "PRIVATE" }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x200000, access: "read" }, { errno: "EFAULT", exit: "memory_fault", gpa: 0x200000, size: 4096, flags: ["PRIVATE"] }],
    ],
  },
  {
    source: "x86 mmu.c: kvm_mmu_faultin_pfn_gmem() (kvm_gmem_get_pfn() finds no file)",
    rule: "an access to a PRIVATE gfn whose gmem file is closed is a memory-fault exit with the PRIVATE flag",
    steps: [
      [{ op: "set_memory_attributes", vm: "vm", address: 0x4000, size: 4096, attributes: "PRIVATE" }, { ret: 0 }],
      [{ op: "close", fd: "g" }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x4000, access: "read" }, { errno: "EFAULT", exit: "memory_fault", gpa: 0x4000, size: 4096, flags: ["PRIVATE"] }],
    ],
  },
  {
    source: "x86 mmu.c: __kvm_mmu_faultin_pfn()",
    rule: "a shared access to a gmem slot whose file lacks MMAP goes through userspace_addr, not the file",
    steps: [
      [{ op: "store", map: "sh", offset: 0x5000, value: 9 }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x5000, access: "read" }, { ret: 0, value: 9 }],
      [{ op: "stats", fd: "g" }, { pages: 0 }],
    ],
  },
  {
    source: "kvm_main.c: kvm_vm_ioctl() KVM_SET_MEMORY_ATTRIBUTES",
    rule: "the live build (6.18, no CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES) has no such ioctl: ENOTTY for any argument",
    kernel: "6.18",
    setup: LIVE_SETUP,
    steps: [
      [{ op: "set_memory_attributes", vm: "plain", address: 0, size: 4096, attributes: "PRIVATE" }, { errno: "ENOTTY" }],
      [{ op: "set_memory_attributes", vm: "plain", address: 0, size: 4096, attributes: 0 }, { errno: "ENOTTY" }],
    ],
  },
  {
    source: "kvm_main.c: kvm_vm_ioctl_set_mem_attributes() (kvm_supported_mem_attributes())",
    rule: "in a build with the ioctl, a default VM supports no attribute: PRIVATE is EINVAL, 0 over a valid range succeeds",
    steps: [
      [{ op: "set_memory_attributes", vm: "plain", address: 0, size: 4096, attributes: "PRIVATE" }, { errno: "EINVAL" }],
      [{ op: "set_memory_attributes", vm: "plain", address: 0, size: 4096, attributes: 0 }, { ret: 0 }],
      [{ op: "set_memory_attributes", vm: "plain", address: 0, size: 100, attributes: 0 }, { errno: "EINVAL" }],
    ],
  },
  {
    source: "kvm_main.c: kvm_vm_ioctl_set_mem_attributes()",
    rule: "flags, then unknown attribute bits, then size 0 or wrap, then alignment: each EINVAL, in that order",
    steps: [
      [{ op: "set_memory_attributes", vm: "vm", address: 1, size: 0, attributes: 16, flags: 1 }, { errno: "EINVAL" }],
      [{ op: "set_memory_attributes", vm: "vm", address: 1, size: 0, attributes: 16 }, { errno: "EINVAL" }],
      [{ op: "set_memory_attributes", vm: "vm", address: 1, size: 0, attributes: "PRIVATE" }, { errno: "EINVAL" }],
      [{ op: "set_memory_attributes", vm: "vm", address: "0xfffffffffffff000", size: 8192, attributes: "PRIVATE" }, { errno: "EINVAL" }],
      [{ op: "set_memory_attributes", vm: "vm", address: 1, size: 4096, attributes: "PRIVATE" }, { errno: "EINVAL" }],
      [{ op: "set_memory_attributes", vm: "vm", address: 0, size: 100, attributes: "PRIVATE" }, { errno: "EINVAL" }],
    ],
  },
  {
    source: "kvm_main.c: kvm_vm_set_mem_attributes()",
    rule: "changing an attribute zaps the SPTEs of the range; setting the value a range already has changes nothing",
    steps: [
      [{ op: "vcpu_access", vm: "vm", gpa: 0x7000, access: "read" }, { ret: 0, value: 0 }],
      [{ op: "stats", vm: "vm" }, { sptes: 1, zaps: 0 }],
      [{ op: "set_memory_attributes", vm: "vm", address: 0x8000, size: 4096, attributes: 0 }, { ret: 0 }],
      [{ op: "stats", vm: "vm" }, { sptes: 1, zaps: 0 }],
      [{ op: "set_memory_attributes", vm: "vm", address: 0x7000, size: 4096, attributes: "PRIVATE" }, { ret: 0 }],
      [{ op: "stats", vm: "vm" }, { sptes: 0, zaps: 1 }],
    ],
  },
  {
    source: "guest_memfd.c: kvm_gmem_error_folio()",
    rule: "memory failure zaps the page in every binding; the guest then gets EHWPOISON, a host load SIGBUS",
    steps: [
      [{ op: "create_vm", as: "v2", type: "default" }, { ret: 0 }],
      [{ op: "create_guest_memfd", vm: "v2", as: "h", size: 65536, flags: ["MMAP", "INIT_SHARED"] }, { ret: 0 }],
      [{ op: "set_user_memory_region2", vm: "v2", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "h" }, { ret: 0 }],
      [{ op: "mmap", fd: "h", as: "hm", offset: 0, len: 65536, prot: "rw", shared: true }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "v2", gpa: 0x2000, access: "write", value: 5 }, { ret: 0 }],
      [{ op: "memory_failure", fd: "h", offset: 0x2000 }, { ret: 0 }],
      [{ op: "stats", vm: "v2" }, { sptes: 0, zaps: 1 }],
      [{ op: "stats", fd: "h" }, { pages: 1, poisoned: 1 }],
      [{ op: "vcpu_access", vm: "v2", gpa: 0x2000, access: "read" }, { errno: "EHWPOISON", exit: "memory_fault", gpa: 0x2000, size: 4096, flags: [] }],
      [{ op: "load", map: "hm", offset: 0x2000 }, { signal: "SIGBUS" }],
      [{ op: "load", map: "hm", offset: 0x3000 }, { ret: 0, value: 0 }],
    ],
  },
  {
    source: "guest_memfd.c: kvm_gmem_punch_hole()",
    rule: "punching a poisoned page removes it: the next access gets a fresh zero page",
    steps: [
      [{ op: "create_vm", as: "v3", type: "default" }, { ret: 0 }],
      [{ op: "create_guest_memfd", vm: "v3", as: "k", size: 65536, flags: ["MMAP", "INIT_SHARED"] }, { ret: 0 }],
      [{ op: "set_user_memory_region2", vm: "v3", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "k" }, { ret: 0 }],
      [{ op: "fallocate", fd: "k", mode: "KEEP_SIZE", offset: 0, len: 4096 }, { ret: 0 }],
      [{ op: "memory_failure", fd: "k", offset: 0 }, { ret: 0 }],
      [{ op: "vcpu_access", vm: "v3", gpa: 0, access: "read" }, { errno: "EHWPOISON" }],
      [{ op: "fallocate", fd: "k", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 65536 }, { ret: 0 }],
      [{ op: "stats", fd: "k" }, { pages: 0, poisoned: 0 }],
      [{ op: "vcpu_access", vm: "v3", gpa: 0, access: "read" }, { ret: 0, value: 0 }],
    ],
  },
  {
    source: "guest_memfd.c: kvm_gmem_error_folio()",
    rule: "memory failure on an absent page is EINVAL and changes nothing (there is no folio to fail)",
    steps: [
      [{ op: "stats", vm: "vm" }, { sptes: 0, zaps: 0 }],
      [{ op: "memory_failure", fd: "g", offset: 0x6000 }, { errno: "EINVAL" }],
      [{ op: "stats", fd: "g" }, { pages: 0, poisoned: 0 }],
      [{ op: "stats" }, { host_pages: 0 }],
      [{ op: "vcpu_access", vm: "vm", gpa: 0x6000, access: "read" }, { ret: 0, value: 0 }],
    ],
  },
];

for (const engine of ["wasm", "reference"] as const) {
  for (const { source, rule, steps, kernel = "6.18+swprot", setup = SETUP } of RULES) {
    test(`${source}: ${rule} [${kernel}] (${engine})`, () => {
      const sim = new Simulator({ engine, kernel });
      for (const r of sim.apply(setup)) assert.is(r.ret, 0, `setup line ${r.i}: ${JSON.stringify(r)}`);
      for (const [op, expect] of steps) {
        const [got] = sim.apply([op]);
        for (const [k, v] of Object.entries(expect)) {
          if (v instanceof RegExp) assert.match(String(got[k]), v, `${JSON.stringify(op)}: ${k} is ${JSON.stringify(got[k])}, expected to match ${v}`);
          else assert.equal(got[k], v, `${JSON.stringify(op)}: ${k} is ${JSON.stringify(got[k])}, expected ${JSON.stringify(v)} (got ${JSON.stringify(got)})`);
        }
      }
    });
  }
}

test.run();
