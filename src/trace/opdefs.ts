/**
 * The trace ops, declared once as plain data (SPEC §2, §5): each op's fields
 * with their C types or kinds, which are optional and their defaults, whether the
 * op passes a zeroed ioctl struct, a one-line doc, the errnos it can give and an
 * example line. The trace reader and the object API read arguments from this
 * table (src/trace/fields.ts), and the op reference can be generated from it.
 *
 * This module has no runtime dependency: it is data, safe to walk anywhere.
 * Adding an op is adding one entry here and its runner in ops.ts.
 */

/** The C integer types of the kernel's fields, as strtoull's 64 bits are wrapped to them. */
export type CType = "u64" | "s64" | "u32" | "int";

/** Flag families: names with or without the C prefix, OR-ed (SPEC §5). */
export type FlagFamily = "gmem" | "memslot" | "falloc" | "attributes";

/**
 * What a field holds:
 * - int: a number of its C type; flags: a number or names of a family.
 * - vm, fd, map: the name of an object of the trace (a dead VM or fd acts as fd -1).
 * - as: the name an op's new object is bound to.
 * - fd_or_number: a name, or a raw fd number (u32).
 * - userspace_addr: a number, or {"anon": NAME} / {"map": NAME} with an optional offset.
 * - bool, byte (0 to 255), enum (one of values), prot ("rwx" letters, "none" or a number),
 *   vm_type ("default", "sw_protected" or a number), cap (a KVM_CAP_ name or a number),
 *   perm_list (an array of "r", "w", "x", "alloc", "punch"), result (a result object without "i"),
 *   pin (the name of a pin, profile next), u64_list (an array of at most `max` u64, missing entries 0).
 */
export type FieldKind =
  | "int"
  | "flags"
  | "vm"
  | "fd"
  | "map"
  | "as"
  | "fd_or_number"
  | "userspace_addr"
  | "bool"
  | "byte"
  | "enum"
  | "prot"
  | "vm_type"
  | "cap"
  | "perm_list"
  | "result"
  | "pin"
  | "u64_list";

export interface FieldDef {
  readonly kind: FieldKind;
  /** The C type the value is wrapped to (int and flags). */
  readonly ctype?: CType;
  /** The flag family (flags). */
  readonly family?: FlagFamily;
  /** The accepted values (enum). */
  readonly values?: readonly string[];
  /** The most entries (u64_list). */
  readonly max?: number;
  /** May be left out; `default` then applies (in a struct op, a numeric field defaults to 0). */
  readonly optional?: boolean;
  /** The value taken when the field is left out; none means "absent" (the op decides, as documented). */
  readonly default?: number | boolean | string;
  readonly doc: string;
}

export interface OpDef {
  readonly doc: string;
  /** Passes a struct to an ioctl: a missing numeric field is 0, as in a zeroed C struct. */
  readonly struct?: boolean;
  /** Struct padding the kernel ignores: accepted and ignored. */
  readonly ignored?: readonly string[];
  readonly fields: Readonly<Record<string, FieldDef>>;
  /** The errnos the op can answer with. */
  readonly errnos: readonly string[];
  readonly example: Readonly<Record<string, unknown>>;
  /** Ops the example needs run first, beyond the usual setup (an unpin needs its pin). */
  readonly exampleNeeds?: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /**
   * Its int fields are read as numbers where exact (a safe integer inside the
   * C type's range) and as bigints otherwise: the hot ops, whose runners take
   * either, so that guest traffic pays no BigInt.
   */
  readonly numbers?: boolean;
  /** Not an upstream op: "simulator" (counters, host regions, pins), "inode/file design" or "system design" (the 2023 designs), "profile next" (linux-next). */
  readonly extension?: "simulator" | "inode/file design" | "profile next" | "system design";
}

/** Every op also takes this field: the result it must give under --check. */
export const EXPECT_FIELD: FieldDef = { kind: "result", optional: true, doc: 'the expected result, without "i"; replay --check compares every key it gives' };

const u64 = (doc: string, optional = false): FieldDef => ({ kind: "int", ctype: "u64", doc, ...(optional ? { optional } : {}) });
const s64 = (doc: string, optional = false): FieldDef => ({ kind: "int", ctype: "s64", doc, ...(optional ? { optional } : {}) });
const vm = (doc = "the VM"): FieldDef => ({ kind: "vm", doc });
const fd = (doc = "the file"): FieldDef => ({ kind: "fd", doc });
const as = (doc: string): FieldDef => ({ kind: "as", doc });

export const OP_DEFS: Readonly<Record<string, OpDef>> = {
  create_vm: {
    doc: "KVM_CREATE_VM: a new VM of a type.",
    fields: { as: as("the name of the new VM"), type: { kind: "vm_type", doc: '"default" (0), "sw_protected" (1) or a number' } },
    errnos: ["EINVAL"],
    example: { op: "create_vm", as: "c", type: "default" },
  },
  destroy_vm: {
    doc: "Closes the VM's fd; the VM lives on while any of its gmem files is open.",
    fields: { vm: vm() },
    errnos: ["EBADF"],
    example: { op: "destroy_vm", vm: "a" },
  },
  check_extension: {
    doc: "KVM_CHECK_EXTENSION on /dev/kvm, or on a VM: the capability's value.",
    fields: { vm: { kind: "vm", optional: true, doc: "ask this VM instead of /dev/kvm" }, cap: { kind: "cap", doc: "a KVM_CAP_ name (the prefix may be left out) or a number" } },
    errnos: ["EBADF"],
    example: { op: "check_extension", cap: "GUEST_MEMFD" },
  },
  create_guest_memfd: {
    doc: "KVM_CREATE_GUEST_MEMFD: a gmem file (and its inode) of size bytes; flags checked before size.",
    struct: true,
    ignored: ["reserved"],
    fields: {
      vm: vm(),
      as: as("the name of the new file"),
      size: u64("bytes, a positive multiple of 4096 as a loff_t"),
      flags: { kind: "flags", family: "gmem", ctype: "u64", doc: "MMAP, INIT_SHARED" },
    },
    errnos: ["EBADF", "EINVAL"],
    example: { op: "create_guest_memfd", vm: "a", as: "g3", size: 2097152, flags: "MMAP" },
  },
  fstat: {
    doc: "fstat(2): size and blocks (512-byte units).",
    fields: { fd: fd() },
    errnos: ["EBADF"],
    example: { op: "fstat", fd: "g" },
  },
  read: {
    doc: "read(2) at the file position: a memfd reads (ret: bytes read) and advances it; a gmem or VM fd has no read method (EINVAL).",
    fields: { fd: fd(), len: { ...u64("bytes", true), default: 4096 } },
    errnos: ["EBADF", "EINVAL", "EFAULT"],
    example: { op: "read", fd: "g", len: 4096 },
  },
  write: {
    doc: "write(2) at the file position: a memfd writes (ret: bytes written), grows and advances; a gmem or VM fd has no write method (EINVAL).",
    fields: { fd: fd(), len: { ...u64("bytes", true), default: 4096 }, value: { kind: "byte", optional: true, default: 0, doc: "the byte that fills what is written" } },
    errnos: ["EBADF", "EINVAL", "EFAULT", "ENOMEM"],
    example: { op: "write", fd: "g", len: 4096 },
  },
  pread: {
    doc: "pread64(2) at an offset: a memfd reads there (ret: bytes read); a gmem or VM fd cannot be read at an offset (ESPIPE).",
    fields: { fd: fd(), len: { ...u64("bytes", true), default: 4096 }, offset: { ...s64("file offset", true), default: 0 } },
    errnos: ["EBADF", "EINVAL", "ESPIPE", "EFAULT"],
    example: { op: "pread", fd: "g", len: 4096, offset: 0 },
  },
  pwrite: {
    doc: "pwrite64(2) at an offset: a memfd writes there and grows; a gmem or VM fd cannot be written at an offset (ESPIPE).",
    fields: {
      fd: fd(),
      len: { ...u64("bytes", true), default: 4096 },
      offset: { ...s64("file offset", true), default: 0 },
      value: { kind: "byte", optional: true, default: 0, doc: "the byte that fills what is written" },
    },
    errnos: ["EBADF", "EINVAL", "ESPIPE", "EFAULT", "ENOMEM"],
    example: { op: "pwrite", fd: "g", len: 4096, offset: 0 },
  },
  ftruncate: {
    doc: "ftruncate(2): a memfd takes the new size (freeing pages past it); a gmem file's size is immutable (EINVAL).",
    fields: { fd: fd(), size: s64("the new size") },
    errnos: ["EBADF", "EINVAL", "ENOMEM"],
    example: { op: "ftruncate", fd: "g", size: 8192 },
  },
  close: {
    doc: "close(2): a gmem file is released at once, even while bound; its memslots stay.",
    fields: { fd: fd() },
    errnos: ["EBADF"],
    example: { op: "close", fd: "g" },
  },
  fallocate: {
    doc: "fallocate(2): KEEP_SIZE allocates, PUNCH_HOLE|KEEP_SIZE punches (zapping every binding's SPTEs).",
    numbers: true,
    fields: {
      fd: fd(),
      mode: { kind: "flags", family: "falloc", ctype: "int", doc: "KEEP_SIZE, PUNCH_HOLE, ..." },
      offset: s64("file offset, 4 KiB aligned"),
      len: s64("bytes, 4 KiB aligned"),
    },
    errnos: ["EBADF", "EINVAL", "EOPNOTSUPP", "EFBIG", "ENODEV", "EPERM", "ENOMEM"],
    example: { op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 4096 },
  },
  set_user_memory_region2: {
    doc: "KVM_SET_USER_MEMORY_REGION2: create, move or delete (memory_size 0) a memslot, optionally bound to a gmem file.",
    struct: true,
    ignored: ["pad1", "pad2"],
    fields: {
      vm: vm(),
      slot: { kind: "int", ctype: "u32", doc: "address space << 16 | slot id" },
      flags: { kind: "flags", family: "memslot", ctype: "u32", doc: "LOG_DIRTY_PAGES, READONLY, GUEST_MEMFD" },
      guest_phys_addr: u64("the memslot's first gpa"),
      memory_size: u64("bytes; 0 deletes the slot"),
      userspace_addr: { kind: "userspace_addr", doc: 'a number, {"anon": NAME} (created on first use) or {"map": NAME}, each with an optional offset' },
      guest_memfd: { kind: "fd_or_number", doc: "the gmem file to bind: a name or a raw fd number" },
      guest_memfd_offset: u64("the binding's offset in the file"),
    },
    errnos: ["EBADF", "EINVAL", "EEXIST", "EPERM"],
    example: { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 2097152, guest_memfd: "g", guest_memfd_offset: 0 },
  },
  anon_map: {
    doc: "Anonymous shared host memory, to back plain memslots and the shared side of private ones.",
    fields: { as: as("the name of the new map"), len: u64("bytes") },
    errnos: ["EINVAL", "ENOMEM"],
    example: { op: "anon_map", as: "m3", len: 65536 },
    extension: "simulator",
  },
  memfd: {
    doc: "memfd_create(2) and its size: an ordinary shmem file.",
    fields: { as: as("the name of the new memfd"), size: u64("bytes") },
    errnos: [],
    example: { op: "memfd", as: "mf", size: 65536 },
    extension: "simulator",
  },
  mmap: {
    doc: "mmap(2) of a file: gmem needs GUEST_MEMFD_FLAG_MMAP and a shared mapping; a memfd may also be mapped private, copy-on-write (a store or a guest write copies the file's page; punches keep the copies, a shrink drops them).",
    fields: {
      fd: fd(),
      as: as("the name of the new map"),
      offset: s64("file offset, page-aligned"),
      len: u64("bytes"),
      prot: { kind: "prot", doc: 'letters of "rwx", "none" or a number' },
      shared: { kind: "bool", doc: "MAP_SHARED (true) or MAP_PRIVATE" },
    },
    errnos: ["EBADF", "EINVAL", "ENODEV", "ENOMEM", "EOVERFLOW", "EPERM", "EACCES"],
    example: { op: "mmap", fd: "g", as: "m2", offset: 0, len: 4096, prot: "rw", shared: true },
  },
  munmap: {
    doc: "munmap(2) of a whole map: it stops pinning its file.",
    fields: { map: { kind: "map", doc: "the map" } },
    errnos: ["EBADF"],
    example: { op: "munmap", map: "m" },
  },
  load: {
    doc: "A host load of the byte at offset of a map: its value, or a signal.",
    numbers: true,
    fields: { map: { kind: "map", doc: "the map" }, offset: { kind: "int", ctype: "s64", doc: "byte offset inside the page-rounded map" } },
    errnos: [],
    example: { op: "load", map: "m", offset: 0 },
    extension: "simulator",
  },
  store: {
    doc: "A host store: fills the 4 KiB page holding offset with value.",
    numbers: true,
    fields: { map: { kind: "map", doc: "the map" }, offset: { kind: "int", ctype: "s64", doc: "byte offset inside the page-rounded map" }, value: { kind: "byte", doc: "the byte stored" } },
    errnos: [],
    example: { op: "store", map: "m", offset: 0, value: 7 },
    extension: "simulator",
  },
  vcpu_access: {
    doc: "A vCPU access at gpa through the x86 fault path: a value, an exit, or an errno.",
    numbers: true,
    fields: {
      vm: vm(),
      gpa: u64("the guest physical address"),
      access: { kind: "enum", values: ["read", "write", "exec"], doc: "the kind of access" },
      private: { kind: "bool", optional: true, doc: "the guest's choice, where its VM type lets it choose; by default as the kernel derives it" },
      value: { kind: "byte", optional: true, doc: "the byte a write stores (required for a write)" },
    },
    errnos: ["EBADF", "EFAULT", "EHWPOISON", "EACCES", "EIO", "ENOMEM"],
    example: { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 7 },
    extension: "simulator",
  },
  set_memory_attributes: {
    doc: "KVM_SET_MEMORY_ATTRIBUTES: private or shared per gfn range (zaps the range).",
    struct: true,
    fields: {
      vm: vm(),
      address: u64("the first gpa"),
      size: u64("bytes"),
      attributes: { kind: "flags", family: "attributes", ctype: "u64", doc: "PRIVATE or 0" },
      flags: u64("must be 0"),
    },
    errnos: ["EBADF", "EINVAL", "ENOTTY"],
    example: { op: "set_memory_attributes", vm: "a", address: 0, size: 4096, attributes: 0 },
  },
  memory_failure: {
    doc: "A hardware memory error on the present page at offset: poisoned, its SPTEs zapped.",
    fields: { fd: fd(), offset: s64("file offset") },
    errnos: ["EBADF", "EINVAL", "ENOMEM"],
    example: { op: "memory_failure", fd: "g", offset: 0 },
    extension: "simulator",
  },
  gmem_link: {
    doc: "A new gmem file of vm on fd's inode, shared, donated or migrating, over a window; the policy decides.",
    fields: {
      fd: fd("the source file (an owner)"),
      vm: vm("the VM of the new file"),
      as: as("the name of the new file"),
      perm: { kind: "perm_list", doc: 'the permissions asked: "r", "w", "x", "alloc", "punch"' },
      mode: { kind: "enum", values: ["share", "donate", "migrate"], doc: "how the window is given" },
      offset: s64("the window's first byte (default 0)", true),
      len: s64("the window's length (default: to the end of the inode)", true),
    },
    errnos: ["EBADF", "EINVAL", "EPERM"],
    example: { op: "gmem_link", fd: "g", vm: "b", as: "g2", perm: ["r", "w"], mode: "share" },
    extension: "inode/file design",
  },
  move_enc_context_from: {
    doc: "Takes src's encryption context once vm's migrating files are bound exactly as src's.",
    fields: { vm: vm("the target VM"), src: vm("the source VM") },
    errnos: ["EBADF", "EINVAL", "EPERM"],
    example: { op: "move_enc_context_from", vm: "b", src: "a" },
    extension: "inode/file design",
  },
  // ---- profile next: in-place conversion (SPEC-next.md §2.1, §2.2) ----
  set_memory_attributes2: {
    doc: "KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd (profile next): converts [offset, offset + size) of its inode to PRIVATE or shared.",
    struct: true,
    fields: {
      fd: fd("the guest_memfd (a VM fd or memfd: ENOTTY)"),
      offset: u64("the first byte (a union with address)", true),
      address: u64("the same field as offset (give one of them)", true),
      size: u64("bytes"),
      attributes: { kind: "flags", family: "attributes", ctype: "u64", doc: "PRIVATE or 0" },
      flags: u64("must be 0"),
      error_offset: u64("output: ignored on input", true),
      reserved: { kind: "u64_list", max: 11, optional: true, doc: "reserved[11]: every entry must be 0" },
    },
    errnos: ["EBADF", "ENOTTY", "EINVAL", "EPERM", "EAGAIN"],
    example: { op: "set_memory_attributes2", fd: "g", offset: 0, size: 4096, attributes: "PRIVATE" },
    extension: "profile next",
  },
  pin: {
    doc: "A long-term writable GUP pin of [offset, offset + len) of a map (as VFIO takes one): an outstanding reference (profile next).",
    fields: { as: as("the name of the pin"), map: { kind: "map", doc: "the map" }, offset: s64("byte offset in the map, page-aligned"), len: s64("bytes, page-aligned, > 0") },
    errnos: ["EFAULT", "ENOMEM"],
    example: { op: "pin", as: "p", map: "m", offset: 0, len: 4096 },
    extension: "simulator",
  },
  unpin: {
    doc: "Releases a pin: a page truncated while pinned is freed now.",
    fields: { pin: { kind: "pin", doc: "the pin" } },
    errnos: [],
    example: { op: "unpin", pin: "p" },
    exampleNeeds: [{ op: "pin", as: "p", map: "m", offset: 0, len: 4096 }],
    extension: "simulator",
  },
  // ---- The system-scoped design (SPEC §2.3, an extension; design "system") ----
  create_guest_memfd_system: {
    doc: "KVM_CREATE_GUEST_MEMFD on /dev/kvm (design system): a gmem fd owned by no VM; the same flag and size rules, in the same order.",
    struct: true,
    ignored: ["reserved"],
    fields: {
      as: as("the name of the new fd"),
      size: u64("bytes, a positive multiple of 4096 as a loff_t"),
      flags: { kind: "flags", family: "gmem", ctype: "u64", doc: "MMAP, INIT_SHARED" },
    },
    errnos: ["EINVAL", "ENOTTY"],
    example: { op: "create_guest_memfd_system", as: "gs", size: 65536, flags: "MMAP" },
    extension: "system design",
  },
  gmem_bind: {
    doc: "Binds a VM to a system gmem fd (design system), with the guest rights the policy's bind hook grants.",
    fields: { fd: fd("the system gmem fd"), vm: vm(), perm: { kind: "perm_list", optional: true, doc: 'the guest rights asked: "r", "w", "x" (default all three)' } },
    errnos: ["EBADF", "EINVAL", "EEXIST", "EPERM", "ENOTTY"],
    example: { op: "gmem_bind", fd: "g", vm: "b", perm: ["r"] },
    extension: "system design",
  },
  gmem_unbind: {
    doc: "Unbinds a VM from a system gmem fd (design system): its bindings are dropped as a closed file's, its memslots stay without a file.",
    fields: { fd: fd("the system gmem fd"), vm: vm() },
    errnos: ["EBADF", "EINVAL", "ENOTTY"],
    example: { op: "gmem_unbind", fd: "g", vm: "a" },
    extension: "system design",
  },

  stats: {
    doc: "Counters: host_pages; with vm, its sptes, faults, zaps and exits; with fd, its inode's pages and poisoned.",
    fields: { vm: { kind: "vm", optional: true, doc: "a VM's counters" }, fd: { kind: "fd", optional: true, doc: "a gmem inode's counters" } },
    errnos: ["EBADF"],
    example: { op: "stats", vm: "a" },
    extension: "simulator",
  },
};

/** An op's declaration, or undefined (Object.prototype names are no ops). */
export function opDef(name: string): OpDef | undefined {
  return Object.hasOwn(OP_DEFS, name) ? OP_DEFS[name] : undefined;
}
