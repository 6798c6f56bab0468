/**
 * Kernel profiles, one rule per row: each row names a rule (and the kernel
 * function or build option it comes from), the trace that shows it, and the
 * result every profile must give, written out literally per profile (never
 * computed from src/kvm/profile.ts), so that a profile cannot drift silently.
 * One test per rule per profile, on both cores.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/api/simulator.js";
import { knownProfileNames, profileByName } from "../src/kvm/profile.js";
import { replayArgs } from "../src/trace/replay-args.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ALL = ["6.18", "6.18+swprot", "6.18.0", "6.18.0+swprot", "7.2", "7.2+swprot", "next", "next+swprot", "next+swprot+vmattr", "next+swprot+vmattr+inplace"] as const;
type Profile = (typeof ALL)[number];

const MiB = 1048576;
const defaultVm = [{ op: "create_vm", as: "d", type: "default" }];
const swVm = [{ op: "create_vm", as: "s", type: "sw_protected" }];
const cap = (c: string | number, vm?: string) => (vm ? { op: "check_extension", vm, cap: c } : { op: "check_extension", cap: c });
const v = (value: number) => ({ ret: 0, value });
const e = (errno: string) => ({ errno });
const OK = { ret: 0 };

/** The profiles that can create sw_protected VMs. */
const SW: Profile[] = ["6.18+swprot", "6.18.0+swprot", "7.2+swprot", "next+swprot", "next+swprot+vmattr", "next+swprot+vmattr+inplace"];

interface Row {
  rule: string;
  source: string;
  setup: object[];
  op: object;
  /** The expected result (the keys given) per profile; a profile left out cannot run the trace. */
  expect: Partial<Record<Profile, object>>;
}

/** Same value for a list of profiles. */
function each(profiles: readonly Profile[], x: object): Partial<Record<Profile, object>> {
  return Object.fromEntries(profiles.map((p) => [p, x]));
}

const gmemSlot = (vm: string, fd: string, extra: object = {}) => ({ op: "set_user_memory_region2", vm, slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: fd, ...extra });

const ROWS: Row[] = [
  {
    rule: "KVM_CAP_VM_TYPES has bit 1 exactly when sw_protected VMs can be created",
    source: "x86.c kvm_vm_ioctl_check_extension() / CONFIG_KVM_SW_PROTECTED_VM",
    setup: [],
    op: cap("KVM_CAP_VM_TYPES"),
    expect: { ...each(ALL, v(1)), ...each(SW, v(3)) },
  },
  {
    rule: "create_vm sw_protected succeeds only in a build with CONFIG_KVM_SW_PROTECTED_VM",
    source: "x86.c kvm_is_vm_type_supported()",
    setup: [],
    op: { op: "create_vm", as: "s", type: "sw_protected" },
    expect: { ...each(ALL, e("EINVAL")), ...each(SW, OK) },
  },
  {
    rule: "KVM_CAP_MEMORY_ATTRIBUTES on /dev/kvm is PRIVATE where the VM attribute ioctl supports it",
    source: "kvm_main.c kvm_supported_mem_attributes() (NULL kvm)",
    setup: [],
    op: cap("KVM_CAP_MEMORY_ATTRIBUTES"),
    expect: { ...each(ALL, v(0)), "6.18+swprot": v(8), "6.18.0+swprot": v(8), "7.2+swprot": v(8), "next+swprot+vmattr": v(8) },
  },
  {
    rule: "KVM_CAP_MEMORY_ATTRIBUTES on a default VM is 0 (no private memory)",
    source: "kvm_main.c kvm_supported_mem_attributes()",
    setup: defaultVm,
    op: cap("KVM_CAP_MEMORY_ATTRIBUTES", "d"),
    expect: each(ALL, v(0)),
  },
  {
    rule: "KVM_CAP_MEMORY_ATTRIBUTES on a sw_protected VM is PRIVATE unless the VM ioctl is gone or supports nothing",
    source: "kvm_main.c kvm_supported_mem_attributes()",
    setup: swVm,
    op: cap("KVM_CAP_MEMORY_ATTRIBUTES", "s"),
    expect: { "6.18+swprot": v(8), "6.18.0+swprot": v(8), "7.2+swprot": v(8), "next+swprot": v(0), "next+swprot+vmattr": v(8), "next+swprot+vmattr+inplace": v(0) },
  },
  {
    rule: "KVM_CAP_GUEST_MEMFD_FLAGS on /dev/kvm and on a default VM is MMAP | INIT_SHARED",
    source: "kvm_host.h kvm_gmem_get_supported_flags()",
    setup: defaultVm,
    op: cap("KVM_CAP_GUEST_MEMFD_FLAGS", "d"),
    expect: each(ALL, v(3)),
  },
  {
    rule: "KVM_CAP_GUEST_MEMFD_FLAGS on a sw_protected VM lacks INIT_SHARED unless in-place conversion is on",
    source: "x86 kvm_arch_supports_gmem_init_shared()",
    setup: swVm,
    op: cap("KVM_CAP_GUEST_MEMFD_FLAGS", "s"),
    expect: { "6.18+swprot": v(1), "6.18.0+swprot": v(1), "7.2+swprot": v(1), "next+swprot": v(3), "next+swprot+vmattr": v(1), "next+swprot+vmattr+inplace": v(3) },
  },
  {
    rule: "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES (252) on /dev/kvm is PRIVATE exactly when in-place conversion is on",
    source: "kvm_main.c kvm_vm_ioctl_check_extension_generic()",
    setup: [],
    op: cap("KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES"),
    expect: { ...each(ALL, v(0)), next: v(8), "next+swprot": v(8), "next+swprot+vmattr+inplace": v(8) },
  },
  {
    rule: "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES (252) on a default VM is 0",
    source: "kvm_main.c kvm_vm_ioctl_check_extension_generic()",
    setup: defaultVm,
    op: cap(252, "d"),
    expect: each(ALL, v(0)),
  },
  {
    rule: "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES (252) on a sw_protected VM is PRIVATE when in-place conversion is on",
    source: "kvm_main.c kvm_vm_ioctl_check_extension_generic()",
    setup: swVm,
    op: cap(252, "s"),
    expect: { ...each(SW, v(0)), "next+swprot": v(8), "next+swprot+vmattr+inplace": v(8) },
  },
  {
    rule: "KVM_SET_MEMORY_ATTRIBUTES PRIVATE on a default VM: ENOTTY where the ioctl is compiled out, else EINVAL",
    source: "kvm_main.c kvm_vm_ioctl() / kvm_vm_ioctl_set_mem_attributes()",
    setup: defaultVm,
    op: { op: "set_memory_attributes", vm: "d", address: 0, size: 4096, attributes: "PRIVATE" },
    expect: { ...each(ALL, e("ENOTTY")), "6.18+swprot": e("EINVAL"), "6.18.0+swprot": e("EINVAL"), "7.2+swprot": e("EINVAL"), "next+swprot+vmattr": e("EINVAL"), "next+swprot+vmattr+inplace": e("EINVAL") },
  },
  {
    rule: "KVM_SET_MEMORY_ATTRIBUTES 0 on a default VM: ENOTTY where the ioctl is compiled out, else 0",
    source: "kvm_main.c kvm_vm_ioctl_set_mem_attributes()",
    setup: defaultVm,
    op: { op: "set_memory_attributes", vm: "d", address: 0, size: 4096, attributes: 0 },
    expect: { ...each(ALL, e("ENOTTY")), "6.18+swprot": OK, "6.18.0+swprot": OK, "7.2+swprot": OK, "next+swprot+vmattr": OK, "next+swprot+vmattr+inplace": OK },
  },
  {
    rule: "KVM_SET_MEMORY_ATTRIBUTES PRIVATE on a sw_protected VM works where VM attributes exist",
    source: "kvm_main.c kvm_vm_ioctl_set_mem_attributes(); next: CONFIG_KVM_VM_MEMORY_ATTRIBUTES",
    setup: swVm,
    op: { op: "set_memory_attributes", vm: "s", address: 0, size: 4096, attributes: "PRIVATE" },
    expect: { "6.18+swprot": OK, "6.18.0+swprot": OK, "7.2+swprot": OK, "next+swprot": e("ENOTTY"), "next+swprot+vmattr": OK, "next+swprot+vmattr+inplace": e("EINVAL") },
  },
  {
    rule: "a file range already bound to another slot is EINVAL until 7.2, then EEXIST",
    source: "guest_memfd.c kvm_gmem_bind() / kvm_gmem_commit_memory_region()",
    setup: [...defaultVm, { op: "create_guest_memfd", vm: "d", as: "g", size: MiB }, gmemSlot("d", "g")],
    op: { ...gmemSlot("d", "g"), slot: 1, guest_phys_addr: 0x100000, guest_memfd_offset: 4096 },
    expect: { ...each(ALL, e("EEXIST")), "6.18": e("EINVAL"), "6.18+swprot": e("EINVAL"), "6.18.0": e("EINVAL"), "6.18.0+swprot": e("EINVAL") },
  },
  {
    rule: "6.18's signed offset + size check accepts an offset whose sum overflows loff_t (fixed in 7.2)",
    source: "guest_memfd.c kvm_gmem_bind()",
    setup: [...defaultVm, { op: "create_guest_memfd", vm: "d", as: "g", size: 8 * MiB }],
    op: gmemSlot("d", "g", { guest_memfd_offset: "0x7ffffffffffff000", memory_size: 4096 }),
    expect: { ...each(ALL, e("EINVAL")), "6.18": OK, "6.18+swprot": OK, "6.18.0": OK, "6.18.0+swprot": OK },
  },
  {
    rule: "dropping KVM_MEM_GUEST_MEMFD from a slot is EINVAL since the stable fix (a flags-only change in 6.18.0)",
    source: "kvm_main.c kvm_set_memory_region() (\"KVM: Disallow toggling KVM_MEM_GUEST_MEMFD\")",
    setup: [...defaultVm, { op: "create_guest_memfd", vm: "d", as: "g", size: MiB }, gmemSlot("d", "g")],
    op: { op: "set_user_memory_region2", vm: "d", slot: 0, flags: 0, guest_phys_addr: 0, memory_size: 65536 },
    expect: { ...each(ALL, e("EINVAL")), "6.18.0": OK, "6.18.0+swprot": OK },
  },
  {
    rule: "a bound file range with a gpa range beyond the largest gfn: EEXIST in 7.2 (bind first), EINVAL in next (arch prepare before commit)",
    source: "kvm_main.c kvm_set_memslot(): kvm_gmem_commit_memory_region() after kvm_arch_prepare_memory_region()",
    setup: [...defaultVm, { op: "create_guest_memfd", vm: "d", as: "g", size: MiB }, gmemSlot("d", "g")],
    op: { ...gmemSlot("d", "g"), slot: 1, guest_phys_addr: "0xffffffffff000", memory_size: 8192 },
    expect: { ...each(ALL, e("EINVAL")), "7.2": e("EEXIST"), "7.2+swprot": e("EEXIST") },
  },
  {
    rule: "INIT_SHARED for a sw_protected VM's file is EINVAL unless in-place conversion is on",
    source: "kvm_host.h kvm_gmem_get_supported_flags(), x86 kvm_arch_supports_gmem_init_shared()",
    setup: swVm,
    op: { op: "create_guest_memfd", vm: "s", as: "g", size: MiB, flags: ["MMAP", "INIT_SHARED"] },
    expect: { "6.18+swprot": e("EINVAL"), "6.18.0+swprot": e("EINVAL"), "7.2+swprot": e("EINVAL"), "next+swprot": OK, "next+swprot+vmattr": e("EINVAL"), "next+swprot+vmattr+inplace": OK },
  },
  {
    rule: "KVM_SET_MEMORY_ATTRIBUTES2 on a sw_protected VM's file works only with in-place conversion (ENOTTY elsewhere)",
    source: "guest_memfd.c kvm_gmem_ioctl()",
    setup: [...swVm, { op: "create_guest_memfd", vm: "s", as: "g", size: MiB }],
    op: { op: "set_memory_attributes2", fd: "g", offset: 0, size: 4096, attributes: 0 },
    expect: { ...each(SW, e("ENOTTY")), "next+swprot": OK, "next+swprot+vmattr+inplace": OK },
  },
  {
    rule: "KVM_SET_MEMORY_ATTRIBUTES2 on a default VM's file is EINVAL where the ioctl exists (no private memory)",
    source: "guest_memfd.c kvm_gmem_set_attributes() (kvm_arch_has_private_mem())",
    setup: [...defaultVm, { op: "create_guest_memfd", vm: "d", as: "g", size: MiB }],
    op: { op: "set_memory_attributes2", fd: "g", offset: 0, size: 4096, attributes: 0 },
    expect: { ...each(ALL, e("ENOTTY")), next: e("EINVAL"), "next+swprot": e("EINVAL"), "next+swprot+vmattr+inplace": e("EINVAL") },
  },
  {
    rule: "a gmem slot of a file without MMAP is gmem-only only with in-place conversion: the guest reads the file, not userspace_addr",
    source: "guest_memfd.c kvm_gmem_prepare_memory_region() / kvm_gmem_bind(), kvm_host.h kvm_memslot_is_gmem_only()",
    setup: [
      ...defaultVm,
      { op: "create_guest_memfd", vm: "d", as: "g", size: MiB, flags: "INIT_SHARED" },
      gmemSlot("d", "g", { userspace_addr: { anon: "a" } }),
      { op: "store", map: "a", offset: 0, value: 9 },
    ],
    op: { op: "vcpu_access", vm: "d", gpa: 0, access: "read" },
    expect: { ...each(ALL, v(9)), next: v(0), "next+swprot": v(0), "next+swprot+vmattr+inplace": v(0) },
  },
  {
    rule: "a default VM's guest reads a gmem-only page of a file without INIT_SHARED, except with in-place conversion, where the page is PRIVATE (a mismatch exit)",
    source: "x86 mmu.c kvm_mmu_faultin_pfn() with kvm_gmem_is_private_gfn() (SPEC-next open question 1, modelled literally)",
    setup: [...defaultVm, { op: "create_guest_memfd", vm: "d", as: "g", size: MiB, flags: "MMAP" }, gmemSlot("d", "g")],
    op: { op: "vcpu_access", vm: "d", gpa: 4096, access: "read" },
    expect: {
      ...each(ALL, v(0)),
      next: { errno: "EFAULT", exit: "memory_fault", gpa: 4096, size: 4096, flags: [] },
      "next+swprot": { errno: "EFAULT", exit: "memory_fault", gpa: 4096, size: 4096, flags: [] },
      "next+swprot+vmattr+inplace": { errno: "EFAULT", exit: "memory_fault", gpa: 4096, size: 4096, flags: [] },
    },
  },
  {
    rule: "on a sw_protected VM a gfn made PRIVATE through the VM ioctl is read private, from the gmem file (no mismatch)",
    source: "x86 mmu.c kvm_mmu_page_fault() (kvm_mem_is_private())",
    setup: [
      ...swVm,
      { op: "create_guest_memfd", vm: "s", as: "g", size: MiB },
      gmemSlot("s", "g", { userspace_addr: { anon: "a" } }),
      { op: "store", map: "a", offset: 0, value: 9 },
      { op: "set_memory_attributes", vm: "s", address: 0, size: 4096, attributes: "PRIVATE" },
    ],
    op: { op: "vcpu_access", vm: "s", gpa: 0, access: "read" },
    expect: { "6.18+swprot": v(0), "6.18.0+swprot": v(0), "7.2+swprot": v(0), "next+swprot+vmattr": v(0) },
  },
  {
    rule: "on a sw_protected VM with in-place conversion a gfn is private by its inode's attribute (PRIVATE unless INIT_SHARED)",
    source: "x86 mmu.c kvm_mmu_page_fault() with guest_memfd.c kvm_gmem_is_private_gfn()",
    setup: [...swVm, { op: "create_guest_memfd", vm: "s", as: "g", size: MiB }, gmemSlot("s", "g")],
    op: { op: "vcpu_access", vm: "s", gpa: 0, access: "read" },
    expect: { "next+swprot": v(0), "next+swprot+vmattr+inplace": v(0) },
  },
  {
    rule: "with in-place conversion a private flag must agree with the inode's attribute (a trace error naming the rule otherwise)",
    source: "x86 mmu.c kvm_mmu_page_fault() with guest_memfd.c kvm_gmem_is_private_gfn()",
    setup: [...swVm, { op: "create_guest_memfd", vm: "s", as: "g", size: MiB }, gmemSlot("s", "g")],
    op: { op: "vcpu_access", vm: "s", gpa: 0, access: "read", private: false },
    expect: {
      "next+swprot": { error: "line 1: vcpu_access: private: false, but gfn 0x0 is PRIVATE: on a sw_protected VM kvm_mmu_page_fault() derives the access's privateness from the gfn's attribute (omit \"private\")" },
      "next+swprot+vmattr+inplace": { error: "line 1: vcpu_access: private: false, but gfn 0x0 is PRIVATE: on a sw_protected VM kvm_mmu_page_fault() derives the access's privateness from the gfn's attribute (omit \"private\")" },
    },
  },
];

test("knownProfileNames() lists exactly the profiles this table covers, the live build first", () => {
  assert.equal(knownProfileNames(), [...ALL]);
});

test("an unknown version or option is an error that lists the known versions, options and profiles", () => {
  for (const bad of ["6.19", "6.18+vmattr", "next+inplace", "7.2+swprot+swprot", "next+bogus"]) {
    assert.throws(() => profileByName(bad), (err: Error) => /known versions: 6\.18, 6\.18\.0, 7\.2, next; options: \+swprot, \+vmattr, \+inplace; profiles: 6\.18, 6\.18\+swprot/.test(err.message), bad);
  }
  assert.is(profileByName("next+vmattr+swprot").name, "next+swprot+vmattr", "options in any order name one profile");
  assert.is(profileByName("6.18.44").name, "6.18", "the live kernel's release is the 6.18 profile");
});

test("a trace names its profile on a # replay-args line; only --kernel is read there", () => {
  assert.equal(replayArgs('# replay-args: --kernel next+swprot\n{"op": "stats"}'), { kernel: "next+swprot" });
  assert.equal(replayArgs("#replay-args: --kernel=7.2"), { kernel: "7.2" });
  assert.equal(replayArgs("# replay-args: --kernel 6.18+swprot --design=system"), { kernel: "6.18+swprot", design: "system" });
  assert.equal(replayArgs('{"op": "stats"}'), {});
  assert.throws(() => replayArgs("# replay-args: --engine reference"), /unknown option "--engine"/);
  assert.throws(() => replayArgs("# replay-args: --kernel"), /--kernel needs a value/);
  assert.throws(() => replayArgs("# replay-args: --design vm\n# replay-args: --design system"), /--design given twice/);
});

test("gmemsim replay honours a trace's # replay-args, and --kernel overrides it", () => {
  const dir = mkdtempSync(join(tmpdir(), "gmemsim-profiles-"));
  const trace = join(dir, "t.jsonl");
  writeFileSync(trace, '# replay-args: --kernel 6.18+swprot\n{"op": "create_vm", "as": "s", "type": "sw_protected"}\n');
  const own = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", trace, "--json"], { encoding: "utf8" });
  assert.is(own.stdout.trim(), '{"i":0,"ret":0}', own.stderr);
  const live = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", trace, "--json", "--kernel", "6.18"], { encoding: "utf8" });
  assert.is(live.stdout.trim(), '{"i":0,"errno":"EINVAL"}', live.stderr);
  const bad = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", trace, "--kernel", "6.19"], { encoding: "utf8" });
  assert.is(bad.status, 2, "a usage error");
  assert.match(bad.stderr, /unknown kernel version "6\.19".*known versions: 6\.18, 6\.18\.0, 7\.2, next/);
});

for (const engine of ["wasm", "reference"] as const) {
  for (const row of ROWS) {
    for (const profile of ALL) {
      const want = row.expect[profile];
      if (!want) continue;
      test(`${row.rule} [${profile}] (${row.source}) (${engine})`, () => {
        const sim = new Simulator({ engine, kernel: profile });
        for (const r of sim.apply(row.setup)) assert.not.ok(r.errno || r.error || r.signal, `setup line ${r.i}: ${JSON.stringify(r)}`);
        const [got] = sim.apply([row.op]);
        for (const [k, x] of Object.entries(want)) assert.equal(got[k], x, `${k}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
        if (!("errno" in want)) assert.not.ok(got.errno, `got ${JSON.stringify(got)}`);
      });
    }
  }
}

test.run();
