/**
 * The scenarios of the 2023 debate, written once per design (SPEC §2.3): the
 * same goal reached with each design's uAPI. Every scenario uses confidential
 * VMs (sw_protected) so that encryption contexts matter. `steps` is the
 * scenario (its `expect` fields say what it achieves under the design's default
 * policy); `attack` is what a careless or hostile VMM tries next, which a sound
 * policy must refuse and a naive one may let through.
 */
export type Line = Record<string, unknown>;

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly vm: { steps: Line[]; attack: Line[] };
  readonly system: { steps: Line[]; attack: Line[] };
}

const K64 = 65536;
const vm = (as: string): Line => ({ op: "create_vm", as, type: "sw_protected" });
const slot = (v: string, fd: string, gpa: number): Line => ({ op: "set_user_memory_region2", vm: v, slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: gpa, memory_size: K64, guest_memfd: fd });
const deleteSlot = (v: string): Line => ({ op: "set_user_memory_region2", vm: v, slot: 0, memory_size: 0 });
const priv = (v: string, gpa: number): Line => ({ op: "set_memory_attributes", vm: v, address: gpa, size: 4096, attributes: "PRIVATE" });
const write = (v: string, gpa: number, value: number, p = false): Line => ({ op: "vcpu_access", vm: v, gpa, access: "write", ...(p ? { private: true } : {}), value, expect: { ret: 0 } });
const read = (v: string, gpa: number, p: boolean, expect: Line): Line => ({ op: "vcpu_access", vm: v, gpa, access: "read", ...(p ? { private: true } : {}), expect });
const value = (v: number): Line => ({ ret: 0, value: v });
const exit = (errno: string, gpa: number, p: boolean): Line => ({ errno, exit: "memory_fault", gpa, size: 4096, flags: p ? ["PRIVATE"] : [] });
const bind = (fd: string, v: string, perm?: string[]): Line => (perm ? { op: "gmem_bind", fd, vm: v, perm, expect: { ret: 0 } } : { op: "gmem_bind", fd, vm: v, expect: { ret: 0 } });

/** The owner a makes 64 KiB of gmem (mappable, so shared pages live in it too) and writes a shared byte at page 0 and a private one at page 1. */
const OWNER_VM: Line[] = [
  vm("a"),
  vm("b"),
  { op: "create_guest_memfd", vm: "a", as: "g", size: K64, flags: "MMAP" },
  slot("a", "g", 0),
  write("a", 0, 7),
  priv("a", 0x1000),
  write("a", 0x1000, 42, true),
];
const OWNER_SYSTEM: Line[] = [
  vm("a"),
  vm("b"),
  { op: "create_guest_memfd_system", as: "g", size: K64, flags: "MMAP" },
  bind("g", "a"),
  slot("a", "g", 0),
  write("a", 0, 7),
  priv("a", 0x1000),
  write("a", 0x1000, 42, true),
];
/** b looks at a's private page from its own gfn: refused under the default policies (the page is under a's key). */
const PEEK = (gpa: number): Line[] => [priv("b", gpa + 0x1000), read("b", gpa + 0x1000, true, exit("EACCES", gpa + 0x1000, true))];

export const SCENARIOS: readonly Scenario[] = [
  {
    id: "share-readonly",
    title: "share read-only at another gfn",
    vm: {
      steps: [...OWNER_VM, { op: "gmem_link", fd: "g", vm: "b", as: "gb", perm: ["r"], mode: "share", expect: { ret: 0 } }, slot("b", "gb", 0x100000), read("b", 0x100000, false, value(7)), { op: "vcpu_access", vm: "b", gpa: 0x100000, access: "write", value: 1, expect: exit("EACCES", 0x100000, false) }],
      attack: PEEK(0x100000),
    },
    system: {
      steps: [...OWNER_SYSTEM, bind("g", "b", ["r"]), slot("b", "g", 0x100000), read("b", 0x100000, false, value(7)), { op: "vcpu_access", vm: "b", gpa: 0x100000, access: "write", value: 1, expect: exit("EACCES", 0x100000, false) }],
      attack: PEEK(0x100000),
    },
  },
  {
    id: "donate",
    title: "donate",
    vm: {
      steps: [...OWNER_VM, { op: "gmem_link", fd: "g", vm: "b", as: "gb", perm: ["r", "w"], mode: "donate", expect: { ret: 0 } }, slot("b", "gb", 0), read("b", 0, false, value(7)), read("a", 0, false, exit("EACCES", 0, false))],
      attack: [...PEEK(0), { op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: K64 }],
    },
    system: {
      steps: [...OWNER_SYSTEM, bind("g", "b"), { op: "gmem_unbind", fd: "g", vm: "a", expect: { ret: 0 } }, slot("b", "g", 0), read("b", 0, false, value(7)), read("a", 0, false, exit("EFAULT", 0, false))],
      attack: [...PEEK(0), { op: "gmem_bind", fd: "g", vm: "a" }, deleteSlot("a"), slot("a", "g", 0), read("a", 0, false, value(7))],
    },
  },
  {
    id: "migrate",
    title: "migrate (move_enc_context_from)",
    vm: {
      steps: [...OWNER_VM, { op: "gmem_link", fd: "g", vm: "b", as: "gb", perm: [], mode: "migrate", expect: { ret: 0 } }, slot("b", "gb", 0), priv("b", 0x1000), read("b", 0x1000, true, exit("EACCES", 0x1000, true)), { op: "move_enc_context_from", vm: "b", src: "a", expect: { ret: 0 } }, read("b", 0x1000, true, value(42)), read("a", 0, false, { errno: "EIO" })],
      attack: [{ op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 4096 }],
    },
    system: {
      steps: [...OWNER_SYSTEM, bind("g", "b"), slot("b", "g", 0), priv("b", 0x1000), read("b", 0x1000, true, exit("EACCES", 0x1000, true)), { op: "move_enc_context_from", vm: "b", src: "a", expect: { ret: 0 } }, { op: "gmem_unbind", fd: "g", vm: "a", expect: { ret: 0 } }, read("b", 0x1000, true, value(42)), read("a", 0, false, { errno: "EIO" })],
      attack: [{ op: "gmem_bind", fd: "g", vm: "a" }, { op: "vcpu_access", vm: "a", gpa: 0, access: "read" }],
    },
  },
  {
    id: "outlive",
    title: "pages outlive the creating VM",
    vm: {
      steps: [...OWNER_VM, { op: "gmem_link", fd: "g", vm: "b", as: "gb", perm: ["r", "w"], mode: "share", expect: { ret: 0 } }, slot("b", "gb", 0), { op: "close", fd: "g", expect: { ret: 0 } }, { op: "destroy_vm", vm: "a", expect: { ret: 0 } }, read("b", 0, false, value(7))],
      attack: PEEK(0),
    },
    system: {
      steps: [...OWNER_SYSTEM, bind("g", "b"), slot("b", "g", 0), { op: "gmem_unbind", fd: "g", vm: "a", expect: { ret: 0 } }, { op: "destroy_vm", vm: "a", expect: { ret: 0 } }, read("b", 0, false, value(7))],
      attack: PEEK(0),
    },
  },
  {
    id: "punch-while-shared",
    title: "the owner punches while shared",
    vm: {
      steps: [...OWNER_VM, { op: "gmem_link", fd: "g", vm: "b", as: "gb", perm: ["r"], mode: "share", expect: { ret: 0 } }, slot("b", "gb", 0), read("b", 0, false, value(7)), { op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 4096, expect: { ret: 0 } }, { op: "stats", vm: "b", expect: { sptes: 0 } }, read("b", 0, false, value(0))],
      attack: [{ op: "fallocate", fd: "gb", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0x1000, len: 4096 }],
    },
    system: {
      steps: [...OWNER_SYSTEM, bind("g", "b", ["r"]), slot("b", "g", 0), read("b", 0, false, value(7)), { op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 4096, expect: { ret: 0 } }, { op: "stats", vm: "b", expect: { sptes: 0 } }, read("b", 0, false, value(0))],
      attack: [],
    },
  },
  {
    id: "bind-anywhere",
    title: "a third VM joins (naive \"bind anywhere\")",
    vm: {
      steps: [...OWNER_VM, vm("c"), { op: "gmem_link", fd: "g", vm: "b", as: "gb", perm: ["r"], mode: "share", expect: { ret: 0 } }, { op: "gmem_link", fd: "gb", vm: "c", as: "gc", perm: ["r"], mode: "share", expect: { errno: "EPERM" } }],
      attack: [{ op: "gmem_link", fd: "gb", vm: "c", as: "gc2", perm: ["r", "w"], mode: "share" }, slot("c", "gc2", 0), priv("c", 0x1000), { op: "vcpu_access", vm: "c", gpa: 0x1000, access: "read", private: true }],
    },
    system: {
      steps: [...OWNER_SYSTEM, vm("c"), bind("g", "b", ["r"]), bind("g", "c", ["r"]), slot("c", "g", 0), read("c", 0, false, value(7))],
      attack: [priv("c", 0x1000), { op: "vcpu_access", vm: "c", gpa: 0x1000, access: "read", private: true }],
    },
  },
];
