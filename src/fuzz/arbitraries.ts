/**
 * fast-check arbitraries for trace ops (SPEC §5) over a small universe of names,
 * so that random sequences meet each other: few VMs, files and maps, sizes and
 * offsets drawn from sets that collide on purpose, invalid values mixed in to
 * reach the error paths. Exported for users' own property tests.
 */
import fc from "fast-check";
import { DEFAULT_PROFILE, profileByName } from "../kvm/profile.js";
import { Simulator } from "../api/simulator.js";
import * as S from "./choices.js";

/** Arbitraries of a record field that draw nothing: rec() puts their value in place without a draw or a Value. */
const LITERALS = new WeakMap<fc.Arbitrary<unknown>, unknown>();
function lit<T>(value: T): fc.Arbitrary<T> {
  const a = fc.constant(value);
  LITERALS.set(a, value);
  return a;
}

/** The marker of an optional field left out (as fc.record's own). */
const NO_KEY = Symbol("no key");

/**
 * fc.record(model, { requiredKeys }) with the same draws, values and shrinks, cheaper and as a plain object.
 * fc.record draws a tuple of the fields (an optional one through fc.option) and a trailing boolean that, when
 * true, gives the object a null prototype; this draws the same tuple (literals, which draw nothing, left out
 * of it) but always builds a plain object: what the trace reader gets from JSON, and what V8 keeps in fast
 * mode (a null-prototype object is a dictionary, slow to read in every op that reads it). So a seed gives the
 * same traces as with fc.record, and a failing one shrinks through the same candidates.
 */
export function rec<T, K extends keyof T = keyof T>(model: { [P in keyof T]: fc.Arbitrary<T[P]> }, constraints?: { requiredKeys?: K[] }): fc.Arbitrary<fc.RecordValue<T, K>> {
  const keys = Object.keys(model) as Array<keyof T & string>;
  const required = constraints?.requiredKeys;
  const drawn: fc.Arbitrary<unknown>[] = [];
  // Per key: the index of its value in the drawn tuple, or -1 for a literal.
  const at: number[] = [];
  const fixed: unknown[] = [];
  for (const k of keys) {
    const a = model[k] as fc.Arbitrary<unknown>;
    if (LITERALS.has(a)) {
      at.push(-1);
      fixed.push(LITERALS.get(a));
      continue;
    }
    at.push(drawn.length);
    fixed.push(undefined);
    drawn.push(required === undefined || (required as string[]).includes(k) ? a : fc.option(a, { nil: NO_KEY }));
  }
  drawn.push(fc.boolean());
  return fc.tuple(...drawn).map((vs) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const j = at[i];
      const v = j < 0 ? fixed[i] : vs[j];
      if (v !== NO_KEY) o[keys[i]] = v;
    }
    return o as fc.RecordValue<T, K>;
  });
}

export const VM_NAMES = ["v0", "v1", "v2"];
export const FD_NAMES = ["g0", "g1", "g2", "g3"];
export const MAP_NAMES = ["m0", "m1", "m2"];
const ANON = ["a0", "a1"];
export const PIN_NAMES = ["p0", "p1"];

const vm = fc.constantFrom(...VM_NAMES);
const fd = fc.constantFrom(...FD_NAMES);
const map = fc.constantFrom(...MAP_NAMES);
const page = (n: number) => fc.integer({ min: 0, max: n }).map((p) => p * 4096);

// ---- The ops' fields, as choice specs (choices.ts): one fast-check Value per op ----

const C = {
  vm: S.pick(...VM_NAMES),
  fd: S.pick(...FD_NAMES),
  map: S.pick(...MAP_NAMES),
  page: (n: number) => S.map(S.int(0, n), (p: number) => p * 4096),
  byte: S.int(0, 255),
};
/** Byte offsets: mostly pages near the start, sometimes unaligned, negative or huge. */
const offset = S.one([12, C.page(40)], [1, S.pick(2048, -4096, "0x7ffffffffffff000", "0x4000000000")]);
const length = S.one([12, S.map(S.int(1, 24), (p: number) => p * 4096)], [1, S.pick(0, 100, 2097152, "0x4000000000000", -4096)]);
const sizeSpec = S.pick(65536, 131072, 1048576, "0x10000000000", 4097, 0);
const gmemFlagsSpec = S.pick(0, "MMAP", ["MMAP", "INIT_SHARED"], ["MMAP", "INIT_SHARED"], "INIT_SHARED", 4);
const size = S.choice<unknown>(sizeSpec);
const gmemFlags = S.choice<unknown>(gmemFlagsSpec);
const fallocMode = S.pick("KEEP_SIZE", "KEEP_SIZE", ["KEEP_SIZE", "PUNCH_HOLE"], ["KEEP_SIZE", "PUNCH_HOLE"], "PUNCH_HOLE", 0, ["ZERO_RANGE", "KEEP_SIZE"]);
const gpa = S.one([8, S.map(S.int(0, 6), (k: number) => k * 65536)], [1, S.pick(4096, "0x10000000000000")]);
const slotFlags = S.pick("GUEST_MEMFD", "GUEST_MEMFD", "GUEST_MEMFD", 0, "READONLY", ["GUEST_MEMFD", "READONLY"]);
const uaddr = S.one(
  [1, S.lit(0)],
  [1, S.map(S.pick(...ANON), (a: string) => ({ anon: a }))],
  [1, S.map(S.rec({ map: C.map, offset: C.page(2) }), (o: Record<string, unknown>) => ({ map: o.map, offset: o.offset }))],
);

/** Only write and pwrite take a fill byte. */
function onlyWritesFill(o: Record<string, unknown>): Record<string, unknown> {
  if (o.op === "write" || o.op === "pwrite") return o;
  const { value: _value, ...rest } = o;
  return rest;
}

/** Each op's spec: its fields and how often each value comes. */
const opSpecs = {
  create_vm: S.rec({ op: S.lit("create_vm"), as: C.vm, type: S.pick("default", "default", "default", "sw_protected", 7) }),
  destroy_vm: S.rec({ op: S.lit("destroy_vm"), vm: C.vm }),
  create_guest_memfd: S.rec({ op: S.lit("create_guest_memfd"), vm: C.vm, as: C.fd, size: sizeSpec, flags: gmemFlagsSpec }),
  close: S.rec({ op: S.lit("close"), fd: C.fd }),
  fstat: S.rec({ op: S.lit("fstat"), fd: C.fd }),
  fallocate: S.rec({ op: S.lit("fallocate"), fd: C.fd, mode: fallocMode, offset, len: length }),
  set_user_memory_region2: S.rec({
    op: S.lit("set_user_memory_region2"),
    vm: C.vm,
    slot: S.int(0, 3),
    flags: slotFlags,
    guest_phys_addr: gpa,
    memory_size: S.pick(0, 16384, 65536, 65536, 131072),
    userspace_addr: uaddr,
    guest_memfd: S.one([6, C.fd], [1, S.pick(-1, 1)]),
    guest_memfd_offset: S.one([6, C.page(20)], [1, S.pick(2048, "0x7ffffffffffff000")]),
  }),
  mmap: S.rec({ op: S.lit("mmap"), fd: C.fd, as: C.map, offset: C.page(8), len: length, prot: S.pick("rw", "rw", "r", "rwx"), shared: S.pick(false, true) }),
  munmap: S.rec({ op: S.lit("munmap"), map: C.map }),
  load: S.rec({ op: S.lit("load"), map: C.map, offset: C.page(12) }),
  store: S.rec({ op: S.lit("store"), map: C.map, offset: C.page(12), value: C.byte }),
  vcpu_access: S.map(
    S.rec(
      {
        op: S.lit("vcpu_access"),
        vm: C.vm,
        gpa: S.map(S.one([4, S.int(0, 24)], [1, S.int(0, 7 * 16)]), (p: number) => p * 4096 + 8),
        access: S.pick("read", "read", "write", "write", "exec"),
        // Mostly omitted ("as the kernel derives it"); sometimes given, which is a trace error where it disagrees.
        private: S.pick(false, true),
        value: C.byte,
      },
      ["private"],
    ),
    (o: Record<string, unknown>) => (o.private !== undefined && ((o.gpa as number) >> 12) % 4 !== 0 ? (({ private: _p, ...rest }) => rest)(o) : o),
  ),
  set_memory_attributes: S.rec({
    op: S.lit("set_memory_attributes"),
    vm: C.vm,
    address: gpa,
    size: S.pick(4096, 65536, 0, 100),
    attributes: S.pick("PRIVATE", 0, 16),
    flags: S.pick(0, 0, 0, 1),
  }),
  // Low pgoffs, where guest accesses and host stores make pages: memory failure needs a present page.
  memory_failure: S.rec({ op: S.lit("memory_failure"), fd: C.fd, offset: S.one([2, C.page(3)], [1, C.page(24)]) }),
  stats: S.one([1, S.rec({ op: S.lit("stats") })], [1, S.rec({ op: S.lit("stats"), vm: C.vm })]),
  // The inode/file design (SPEC §2.2): windows that meet the pages other ops touch.
  gmem_link: S.rec(
    {
      op: S.lit("gmem_link"),
      fd: C.fd,
      vm: C.vm,
      as: C.fd,
      perm: S.sub("r", "w", "x", "alloc", "punch"),
      offset: C.page(16),
      len: S.map(S.int(1, 16), (p: number) => p * 4096),
      mode: S.pick("share", "share", "donate", "migrate"),
    },
    ["offset", "len"],
  ),
  move_enc_context_from: S.rec({ op: S.lit("move_enc_context_from"), vm: C.vm, src: C.vm }),
  // The rest of SPEC §2.1: plain file operations, capabilities, host memory.
  // On a memfd these move data (a write fills with value) and grow the file; on gmem and VM fds they fail.
  read: S.map(S.rec({ op: S.pick("read", "write"), fd: C.fd, len: S.pick(0, 1, 4096, 5000, 65536), value: C.byte }), onlyWritesFill),
  pread: S.map(
    S.rec({
      op: S.pick("pread", "pwrite"),
      fd: C.fd,
      len: S.pick(0, 4096, 10000),
      offset: S.pick(0, 4096, 6000, 131072, -1, "0x7ffffffffffff000"),
      value: C.byte,
    }),
    onlyWritesFill,
  ),
  ftruncate: S.rec({ op: S.lit("ftruncate"), fd: C.fd, size: S.pick(0, 65536, 1048576, -1) }),
  check_extension: S.one(
    [1, S.rec({ op: S.lit("check_extension"), cap: S.pick("KVM_CAP_GUEST_MEMFD", "KVM_CAP_GUEST_MEMFD_FLAGS", "KVM_CAP_MEMORY_ATTRIBUTES", "KVM_CAP_VM_TYPES", 10, 9999) })],
    [1, S.rec({ op: S.lit("check_extension"), vm: C.vm, cap: S.pick("KVM_CAP_GUEST_MEMFD_FLAGS", "KVM_CAP_MEMORY_ATTRIBUTES", 233) })],
  ),
  anon_map: S.rec({ op: S.lit("anon_map"), as: C.map, len: S.pick(4096, 65536, 1048576, 0) }),
  memfd: S.rec({ op: S.lit("memfd"), as: C.fd, size: S.pick(65536, 1048576) }),
  // ---- Profile next: in-place conversion and pins (SPEC-next.md §2.1, §2.2); other profiles answer ENOTTY / pin plain pages ----
  set_memory_attributes2: S.rec(
    {
      op: S.lit("set_memory_attributes2"),
      // Mostly the setup's g0, the file its mapping m0 shows (so pins there meet conversions).
      fd: S.one([2, S.lit(FD_NAMES[0])], [1, C.fd]),
      offset: S.one([8, C.page(12)], [1, S.pick(2048, "0x10000000")]),
      size: S.one([8, S.map(S.int(1, 8), (p: number) => p * 4096)], [1, S.pick(0, 100, 1048576)]),
      attributes: S.pick("PRIVATE", "PRIVATE", 0, 0, 16),
      flags: S.pick(0, 0, 0, 0, 1),
    },
    ["flags"],
  ),
  pin: S.rec({ op: S.lit("pin"), as: S.pick(...PIN_NAMES), map: S.one([2, S.lit(MAP_NAMES[0])], [1, C.map]), offset: C.page(6), len: S.map(S.int(1, 4), (p: number) => p * 4096) }),
  unpin: S.rec({ op: S.lit("unpin"), pin: S.pick(...PIN_NAMES) }),
} as const;

export type OpName = keyof typeof opSpecs;

/** Each trace op's arbitrary, by op name (for users' own property tests: fast-check arbitraries like any other). */
export const opArbitraries: { readonly [K in OpName]: fc.Arbitrary<Record<string, unknown>> } = Object.fromEntries(
  Object.entries(opSpecs).map(([name, spec]) => [name, S.choice(spec)]),
) as { [K in OpName]: fc.Arbitrary<Record<string, unknown>> };

/** Relative weights: object creation and the operations where bugs live come often. */
export const DEFAULT_WEIGHTS: Record<OpName, number> = {
  create_vm: 4,
  destroy_vm: 1,
  create_guest_memfd: 5,
  close: 2,
  fstat: 1,
  fallocate: 8,
  set_user_memory_region2: 7,
  mmap: 3,
  munmap: 1,
  load: 3,
  store: 3,
  vcpu_access: 8,
  set_memory_attributes: 2,
  memory_failure: 3,
  stats: 1,
  gmem_link: 6,
  move_enc_context_from: 2,
  read: 1,
  pread: 1,
  ftruncate: 1,
  check_extension: 1,
  anon_map: 1,
  memfd: 1,
  set_memory_attributes2: 4,
  pin: 2,
  unpin: 2,
};

/** One trace op. */
export function opArbitrary(weights: Partial<Record<OpName, number>> = DEFAULT_WEIGHTS): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries({ ...DEFAULT_WEIGHTS, ...weights }).filter(([, w]) => w > 0);
  // One choice arbitrary over all the ops (not fc.oneof of one per op): a single Value per op drawn.
  return S.choice(S.one(...entries.map(([name, weight]): [number, S.Spec] => [weight, opSpecs[name as OpName]])));
}

/**
 * A setup that makes the objects most bugs need: VMs, mappable gmem files, a
 * binding or two and a host mapping, each with some probability.
 */
export const setupArbitrary: fc.Arbitrary<Array<Record<string, unknown>>> = setupFor(false);

/** The setup; with swProtected (a profile that can create them), each VM is sw_protected half the time. */
export function setupFor(swProtected: boolean): fc.Arbitrary<Array<Record<string, unknown>>> {
  // rec(), not fc.record: the same draws and shrinks, and a plain object where fc.record makes a null-prototype
  // (dictionary) one half the time; drawn once per fuzzed trace.
  return rec({
    types: fc.array(swProtected ? fc.constantFrom("default", "sw_protected") : fc.constant("default"), { minLength: 3, maxLength: 3 }),
    vms: fc.integer({ min: 1, max: 3 }),
    files: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom<unknown>(["MMAP", "INIT_SHARED"], "MMAP", 0)), { minLength: 1, maxLength: 3 }),
    binds: fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4 })), { maxLength: 3 }),
    mapped: fc.boolean(),
  })
    .map(({ types, vms, files, binds, mapped }) => {
      const ops: Array<Record<string, unknown>> = [];
      for (let v = 0; v < vms; v++) ops.push({ op: "create_vm", as: VM_NAMES[v], type: types[v] });
      files.forEach(([v, flags], k) => ops.push({ op: "create_guest_memfd", vm: VM_NAMES[Math.min(v, vms - 1)], as: FD_NAMES[k], size: 1048576, flags }));
      for (const [slot, f, at] of binds) {
        const k = Math.min(f, files.length - 1);
        const owner = VM_NAMES[Math.min(files[k][0], vms - 1)];
        ops.push({ op: "set_user_memory_region2", vm: owner, slot, flags: "GUEST_MEMFD", guest_phys_addr: at * 65536, memory_size: 65536, userspace_addr: 0, guest_memfd: FD_NAMES[k], guest_memfd_offset: at * 65536 });
      }
      if (mapped) ops.push({ op: "mmap", fd: FD_NAMES[0], as: MAP_NAMES[0], offset: 0, len: 1048576, prot: "rw", shared: true });
      return ops;
    });
}

/**
 * The design's setup, on top of the upstream one: sometimes file g0 is linked to
 * another VM as g3 (shared, donated or migrating, with random permissions) and
 * bound there, so that permission exits, donations and moves are reachable.
 */
const designSetup = fc.option(
  rec({ perm: fc.subarray(["r", "w", "x", "alloc", "punch"] as const), mode: fc.constantFrom("share", "donate", "migrate") }),
  { freq: 2 },
);

/** A trace: a setup, then random ops. */
// ---- Sequences: ops that reach a state only together ----
// A sequence is drawn like one op (with its own weight) and spliced into the
// trace whole, so that states several ops deep come often rather than by luck.

/**
 * Intra-host migration carried through: a fresh file of the source VM, linked
 * to another VM in migrate mode, both bound identically (same slot, gfns and
 * inode offset), the encryption context moved, a punch through the new file,
 * a touch of the memory, and the new file closed. The sequence makes what it
 * needs (VMs that may already exist, names it frees first by closing them),
 * so that it mostly succeeds; a step may still fail on what earlier ops left
 * (a slot in use, a source whose context already moved), which reaches the
 * refusals too.
 */
const migratePunchClose = rec({
  vms: fc.constantFrom<[number, number]>([0, 1], [1, 0], [0, 2], [2, 0], [1, 2], [2, 1]),
  file: fd,
  as: fd,
  flags: fc.constantFrom<unknown>(0, "MMAP", ["MMAP", "INIT_SHARED"]),
  slot: fc.integer({ min: 0, max: 3 }),
  at: fc.integer({ min: 0, max: 4 }),
  punch: page(15),
  touch: fc.boolean(),
  close: fc.constantFrom(true, true, false),
})
  .filter(({ file, as }) => file !== as)
  .map(({ vms: [s, d], file, as, flags, slot, at, punch, touch, close }) => {
    const [src, dst] = [VM_NAMES[s], VM_NAMES[d]];
    const bind = (v: string, f: string) => ({ op: "set_user_memory_region2", vm: v, slot, flags: "GUEST_MEMFD", guest_phys_addr: at * 65536, memory_size: 65536, userspace_addr: 0, guest_memfd: f, guest_memfd_offset: at * 65536 });
    const ops: Array<Record<string, unknown>> = [
      { op: "create_vm", as: src, type: "default" },
      { op: "create_vm", as: dst, type: "default" },
      { op: "close", fd: file },
      { op: "close", fd: as },
      { op: "create_guest_memfd", vm: src, as: file, size: 1048576, flags },
      { op: "fallocate", fd: file, mode: "KEEP_SIZE", offset: at * 65536, len: 65536 },
      { op: "gmem_link", fd: file, vm: dst, as, perm: [], mode: "migrate" },
      bind(src, file),
      bind(dst, as),
      { op: "move_enc_context_from", vm: dst, src },
      { op: "fallocate", fd: as, mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: at * 65536 + punch, len: 4096 },
    ];
    if (touch) ops.push({ op: "vcpu_access", vm: dst, gpa: at * 65536 + punch, access: "write", private: false, value: 1 });
    if (close) ops.push({ op: "close", fd: as });
    return ops;
  });

export const sequenceArbitraries = {
  migrate_punch_close: migratePunchClose,
} as const;

export type SequenceName = keyof typeof sequenceArbitraries;

/** What fuzzing runs with (traceArbitrary alone draws no sequences unless asked). */
export const DEFAULT_SEQUENCE_WEIGHTS: Record<SequenceName, number> = { migrate_punch_close: 2 };

/** One element of a trace's body: a single op, or a sequence (an array of ops), by weight. */
function bodyArbitrary(
  weights: Partial<Record<OpName, number>> | undefined,
  sequences: Partial<Record<SequenceName, number>> = {},
): fc.Arbitrary<Record<string, unknown> | Array<Record<string, unknown>>> {
  const single = opArbitrary(weights);
  const seqs = Object.entries(sequences).filter(([, w]) => (w ?? 0) > 0);
  if (seqs.length === 0) return single;
  const singleWeight = Object.values({ ...DEFAULT_WEIGHTS, ...weights }).reduce((a, w) => a + (w > 0 ? w : 0), 0);
  type Part = Record<string, unknown> | Array<Record<string, unknown>>;
  return fc.oneof(
    { weight: singleWeight, arbitrary: single as fc.Arbitrary<Part> },
    ...seqs.map(([name, weight]) => ({ weight: weight!, arbitrary: sequenceArbitraries[name as SequenceName] as fc.Arbitrary<Part> })),
  );
}

/** A trace: a setup, then random ops (and, with `sequences` weights, random sequences among them). */
export function traceArbitrary(
  opts: { minLength?: number; maxLength?: number; weights?: Partial<Record<OpName, number>>; sequences?: Partial<Record<SequenceName, number>>; swProtected?: boolean } = {},
) {
  const body = fc.array(bodyArbitrary(opts.weights, opts.sequences), { minLength: opts.minLength ?? 8, maxLength: opts.maxLength ?? 40, size: "max" });
  // Plain loops, not find/flat/flatMap/spread: this runs once per generated trace, on the fuzzer's hot path.
  return fc.tuple(opts.swProtected ? setupFor(true) : setupArbitrary, designSetup, body).map(([setup, link, parts]) => {
    const out: Array<Record<string, unknown>> = [];
    let owner: unknown;
    for (const o of setup) {
      out.push(o);
      if (owner === undefined && o.op === "create_guest_memfd" && o.as === FD_NAMES[0]) owner = o.vm;
    }
    if (link && owner) {
      let other: string | undefined;
      for (const v of VM_NAMES) {
        if (v === owner) continue;
        for (const o of setup) if (o.op === "create_vm" && o.as === v) other = v;
        if (other) break;
      }
      if (other) {
        out.push({ op: "gmem_link", fd: FD_NAMES[0], vm: other, as: FD_NAMES[3], perm: [...link.perm], mode: link.mode });
        out.push({ op: "set_user_memory_region2", vm: other, slot: 3, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, userspace_addr: 0, guest_memfd: FD_NAMES[3], guest_memfd_offset: 0 });
      }
    }
    const body = (o: Record<string, unknown>) => {
      // Memory failure needs a present page: at low pgoffs, allocate the page first (the failure then poisons it),
      // and let v0 touch the gfn of the same number (the setup binds gfn = pgoff) to meet the poison.
      if (o.op === "memory_failure" && typeof o.offset === "number" && o.offset <= 3 * 4096) {
        out.push({ op: "fallocate", fd: o.fd, mode: "KEEP_SIZE", offset: o.offset, len: 4096 }, o, { op: "vcpu_access", vm: VM_NAMES[0], gpa: o.offset, access: "read", value: 0 });
      } else out.push(o);
    };
    for (const p of parts) {
      if (Array.isArray(p)) for (const o of p) body(o);
      else body(p);
    }
    return out;
  });
}

/**
 * Against the live kernel (gmemsim fuzz --against kernel): the same ops, kept to
 * what the kernel can answer and what its memory can afford. Default VMs only
 * (the host has no sw_protected type), no private accesses, no memory_failure
 * (CONFIG_MEMORY_FAILURE=n) and no stats (the kernel has no counters to
 * compare); files of at most 4 MiB (huge punches stay: they allocate nothing);
 * gpas below 2^48 and clear of the oracle's reserved slot 32700 and its range
 * at 0xff0000000000 (oracle/README.md).
 */
export const KERNEL_WEIGHTS: Record<OpName, number> = {
  ...DEFAULT_WEIGHTS,
  create_vm: 2,
  mmap: 4,
  load: 4,
  store: 4,
  vcpu_access: 12,
  set_memory_attributes: 1,
  memory_failure: 0,
  stats: 0,
  // The design's ops are an extension the kernel does not have.
  gmem_link: 0,
  move_enc_context_from: 0,
  read: 1,
  pread: 1,
  ftruncate: 1,
  check_extension: 1,
  anon_map: 1,
  memfd: 2,
  // Profile next's ops: the live kernel (6.18) has neither.
  set_memory_attributes2: 0,
  pin: 0,
  unpin: 0,
};

/** A gpa just below 2^48 that a 128 KiB memslot still fits under. */
const HIGH_GPA = "0xfffffffe0000";

/** A byte count or offset given as a plain non-negative number, made a whole number of pages (up, or down for an offset); others as they are. */
function wholePages(v: unknown, down: boolean): unknown {
  if (typeof v !== "number" || v < 0 || v % 4096 === 0) return v;
  return (down ? Math.floor(v / 4096) : Math.ceil(v / 4096)) * 4096;
}

/**
 * Rewrites one op so that the live kernel can run it, and so that what the two
 * sides answer can be compared; ops it cannot run at all are in KERNEL_WEIGHTS
 * at 0. A page's contents are one byte (SPEC §1), exact against the kernel
 * while traces fill or clear whole pages: the byte counts and offsets of file
 * writes, reads (which move the position writes use) and fallocates are
 * whole pages here, their negative and huge values kept (the alignment
 * errnos are the conformance traces' to check: fallocate.jsonl).
 */
export function kernelSafeOp(op: Record<string, unknown>): Record<string, unknown> {
  switch (op.op) {
    case "read":
    case "write":
      return { ...op, len: wholePages(op.len, false) };
    case "pread":
    case "pwrite":
      return { ...op, len: wholePages(op.len, false), offset: wholePages(op.offset, true) };
    case "create_vm":
      return op.type === "sw_protected" ? { ...op, type: "default" } : op;
    case "create_guest_memfd":
      return op.size === "0x10000000000" ? { ...op, size: 4194304 } : op;
    case "set_user_memory_region2":
      return op.guest_phys_addr === "0x10000000000000" ? { ...op, guest_phys_addr: HIGH_GPA } : op;
    case "set_memory_attributes":
      return op.address === "0x10000000000000" ? { ...op, address: HIGH_GPA } : op;
    case "fallocate": {
      // On a memfd an allocation is real memory, even past EOF: keep it to a few MiB (a gmem file here is at most 4 MiB, so
      // longer allocations there fail with EINVAL all the same).
      const aligned = { ...op, offset: wholePages(op.offset, true), len: wholePages(op.len, false) };
      return aligned.len === "0x4000000000000" && !String(op.mode).includes("PUNCH_HOLE") ? { ...aligned, len: 8388608 } : aligned;
    }
    case "vcpu_access": {
      const { private: _private, ...rest } = op;
      return rest;
    }
    default:
      return op;
  }
}

/**
 * Guest accesses aimed where the memslots are (every 64 KiB slot base up to
 * 0x60000, and the slot just below 2^48), at the start, the middle or the last
 * byte of a page; the generic vcpu_access arbitrary mostly misses them.
 */
const kernelVcpuAccess = fc
  .record({
    op: lit("vcpu_access"),
    vm,
    gpa: fc.oneof(
      { weight: 8, arbitrary: fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 31 }), fc.constantFrom(8, 0, 4095)).map(([k, p, b]) => k * 65536 + p * 4096 + b) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 31 }).map((p) => `0x${(0xfffffffe0000 + p * 4096 + 8).toString(16)}`) },
    ),
    access: fc.constantFrom("read", "read", "write", "write", "exec"),
    value: fc.integer({ min: 0, max: 255 }),
  })
  .map((o) => o as Record<string, unknown>);

/** One trace op that the live kernel can run (see KERNEL_WEIGHTS). */
export function kernelOpArbitrary(weights: Partial<Record<OpName, number>> = KERNEL_WEIGHTS): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries({ ...KERNEL_WEIGHTS, ...weights }).filter(([name, w]) => w > 0 && KERNEL_WEIGHTS[name as OpName] > 0);
  return fc.oneof(
    ...entries.map(([name, weight]) => {
      const generic = (opArbitraries[name as OpName] as fc.Arbitrary<Record<string, unknown>>).map(kernelSafeOp);
      if (name !== "vcpu_access") return { weight, arbitrary: generic };
      return { weight, arbitrary: fc.oneof({ weight: 1, arbitrary: generic }, { weight: 2, arbitrary: kernelVcpuAccess }) };
    }),
  );
}

const NAME_KIND: Record<string, "vm" | "fd" | "map"> = { create_vm: "vm", create_guest_memfd: "fd", mmap: "map" };

/**
 * Names that meet, steered by a reference-model run of the trace so far (it only
 * chooses which objects later ops name; every op's result is still compared):
 * - every object the body creates gets a name of its own, so no create is a
 *   trace error for re-binding a live name;
 * - a reference to the k-th name of a kind (v1, g3) means the k-th VM or file
 *   the trace made (modulo their number);
 * - a map reference (m2) means the k-th most recent live mapping (a failed or
 *   unmapped one's name is a trace error in load, store and userspace_addr);
 * - two guest accesses in three (those naming v0 or v1) go to a memslot that
 *   was created successfully (its VM, a gpa inside it), most recent first.
 * Half the guest reads go to the last successful guest write, half the loads
 * to the last successful store.
 * With no live mapping, a load or store becomes an mmap (1 MiB, shared, rw) of
 * one of the trace's files, and a {map} userspace_addr becomes {anon: "a0"}.
 * A kind with no object yet keeps the name as generated (a trace error).
 */
export function kernelNames(setup: Array<Record<string, unknown>>, body: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const created: Record<"vm" | "fd" | "map", string[]> = { vm: [], fd: [], map: [] };
  const prefix = { vm: "v", fd: "g", map: "m" } as const;
  const used = new Set<string>();
  const live: string[] = [];
  const slots: Array<{ vm: unknown; gpa: bigint; size: bigint }> = [];
  const sim = new Simulator({ engine: "reference" });
  const num = (x: unknown): bigint | null => {
    try {
      return typeof x === "number" || typeof x === "string" ? BigInt.asUintN(64, BigInt(x)) : null;
    } catch {
      return null;
    }
  };
  let lastGuestWrite: { vm: unknown; gpa: unknown } | null = null;
  let lastStore: { map: unknown; offset: unknown } | null = null;
  const observe = (op: Record<string, unknown>) => {
    const [r] = sim.apply([op]);
    if (!r || r.ret !== 0) return;
    if (op.op === "vcpu_access" && op.access === "write" && !r.exit) lastGuestWrite = { vm: op.vm, gpa: op.gpa };
    if (op.op === "store") lastStore = { map: op.map, offset: op.offset };
    if (op.op === "mmap") live.push(op.as as string);
    if (op.op === "munmap") live.splice(live.indexOf(op.map as string) >>> 0, 1);
    if (op.op === "set_user_memory_region2") {
      const gpa = num(op.guest_phys_addr);
      const size = num(op.memory_size);
      if (gpa !== null && size) slots.push({ vm: op.vm, gpa, size });
    }
  };
  for (const op of setup) {
    const kind = NAME_KIND[op.op as string];
    if (kind && typeof op.as === "string") {
      created[kind].push(op.as);
      used.add(op.as);
    }
    observe(op);
  }
  const indexOf = (name: string) => Number(/\d+$/.exec(name)?.[0] ?? 0);
  const resolve = (kind: "vm" | "fd" | "map", name: unknown): unknown => {
    const list = kind === "map" && live.length ? live : created[kind];
    if (typeof name !== "string" || list.length === 0) return name;
    const k = indexOf(name);
    return kind === "map" ? list[list.length - 1 - (k % list.length)] : list[k % list.length];
  };
  return body.map((op) => {
    let out: Record<string, unknown> = { ...op };
    // With no live mapping, a load or store becomes the mmap that later ones can use.
    if ((out.op === "load" || out.op === "store") && live.length === 0 && created.fd.length) {
      out = { op: "mmap", fd: created.fd[indexOf(String(out.map)) % created.fd.length], as: "", offset: 0, len: 1048576, prot: "rw", shared: true };
    }
    const uaddr = out.userspace_addr as Record<string, unknown> | undefined;
    if (uaddr && typeof uaddr === "object" && "map" in uaddr && live.length === 0) out.userspace_addr = { anon: "a0", offset: uaddr.offset ?? 0 };
    const gpa = num(out.gpa);
    if (out.op === "vcpu_access" && slots.length && typeof out.vm === "string" && indexOf(out.vm) < 2 && gpa !== null) {
      const slot = slots[slots.length - 1 - Number((gpa >> 12n) % BigInt(slots.length))];
      out.vm = slot.vm;
      const at = slot.gpa + (gpa % slot.size);
      out.gpa = at <= 0x7fffffffn ? Number(at) : `0x${at.toString(16)}`;
    } else if (typeof out.vm === "string") out.vm = resolve("vm", out.vm);
    if (typeof out.fd === "string") out.fd = resolve("fd", out.fd);
    if (typeof out.guest_memfd === "string") out.guest_memfd = resolve("fd", out.guest_memfd);
    if (typeof out.map === "string") out.map = resolve("map", out.map);
    const ua = out.userspace_addr as Record<string, unknown> | undefined;
    if (ua && typeof ua === "object" && typeof ua.map === "string") out.userspace_addr = { ...ua, map: resolve("map", ua.map) };
    const kind = NAME_KIND[out.op as string];
    if (kind) {
      let n = created[kind].length;
      while (used.has(`${prefix[kind]}${n}`)) n++;
      const name = `${prefix[kind]}${n}`;
      used.add(name);
      created[kind].push(name);
      out.as = name;
    }
    // Reads come back to what was written: half the guest reads (those whose
    // unused value is even) go to the last guest write, half the loads (at an
    // even page) to the last store, if its map is still live.
    if (out.op === "vcpu_access" && out.access === "read" && lastGuestWrite && Number(out.value) % 2 === 0) Object.assign(out, lastGuestWrite);
    if (out.op === "load" && lastStore && live.includes(lastStore.map as string) && (Number(out.offset) >> 12) % 2 === 0) Object.assign(out, lastStore);
    observe(out);
    return out;
  });
}

/** A trace for the live kernel: the usual setup (default VMs, 1 MiB files), then kernel-safe ops whose names meet (kernelNames). */
export function kernelTraceArbitrary(opts: { minLength?: number; maxLength?: number; weights?: Partial<Record<OpName, number>> } = {}) {
  const body = fc.array(kernelOpArbitrary(opts.weights), { minLength: opts.minLength ?? 8, maxLength: opts.maxLength ?? 40, size: "max" });
  return fc.tuple(setupArbitrary, body).map(([setup, ops]) => [...setup, ...kernelNames(setup, ops)]);
}

// ---- The system-scoped design (SPEC §2.3, an extension) ----

/** The system design's own ops, over the same names as the rest. */
export const systemOpArbitraries = {
  create_guest_memfd_system: rec({ op: lit("create_guest_memfd_system"), as: fd, size, flags: gmemFlags }),
  gmem_bind: fc.oneof(
    { weight: 3, arbitrary: rec({ op: lit("gmem_bind"), fd, vm }) },
    { weight: 2, arbitrary: rec({ op: lit("gmem_bind"), fd, vm, perm: fc.subarray(["r", "w", "x"] as const).map((p) => [...p]) }) },
  ),
  gmem_unbind: rec({ op: lit("gmem_unbind"), fd, vm }),
} as const;

export type SystemOpName = keyof typeof systemOpArbitraries;

/** Weights under the system design: its ops often, the inode/file design's never (they are ENOTTY there), private accesses often. */
export const SYSTEM_WEIGHTS: Record<OpName | SystemOpName, number> = {
  ...DEFAULT_WEIGHTS,
  create_guest_memfd: 1,
  gmem_link: 0,
  create_guest_memfd_system: 3,
  gmem_bind: 5,
  gmem_unbind: 3,
  set_memory_attributes: 3,
};

/**
 * A guest access where the setup put memslots and private memory. Its
 * privateness is mostly left to the kernel to derive (on a sw_protected VM,
 * private exactly where the gfn is PRIVATE, which the setup made most of the
 * slot); sometimes given, which is a trace error where it disagrees.
 */
const systemAccess = fc
  .record({
    op: lit("vcpu_access"),
    vm,
    gpa: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }).map((p) => p * 4096 + 8),
    access: fc.constantFrom("read", "read", "write", "write", "exec"),
    private: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    value: fc.integer({ min: 0, max: 255 }),
  })
  .map((o) => {
    const line: Record<string, unknown> = { op: o.op, vm: o.vm, gpa: o.gpa, access: o.access };
    if (o.private !== undefined) line.private = o.private;
    if (o.access === "write") line.value = o.value;
    return line;
  });

function systemOpArbitrary(weights: Partial<Record<OpName | SystemOpName, number>> = SYSTEM_WEIGHTS): fc.Arbitrary<Record<string, unknown>> {
  const all = { ...opArbitraries, ...systemOpArbitraries } as Record<string, fc.Arbitrary<Record<string, unknown>>>;
  const entries = Object.entries({ ...SYSTEM_WEIGHTS, ...weights }).filter(([, w]) => w > 0);
  return fc.oneof(
    ...entries.map(([name, weight]) => ({
      weight,
      arbitrary: name === "vcpu_access" ? fc.oneof({ weight: 1, arbitrary: all.vcpu_access }, { weight: 3, arbitrary: systemAccess }) : all[name],
    })),
  );
}

/**
 * The system design's setup: VMs (with swProtected, a profile that can create
 * them, confidential ones, sw_protected, often), one or two system files, most
 * VMs bound to g0 with a memslot at gpa 0 and, on the confidential ones,
 * private memory there, so that two contexts meet on one page within a few ops.
 */
export function systemSetupFor(swProtected: boolean): fc.Arbitrary<Array<Record<string, unknown>>> {
  return fc
    .record({
      vms: fc.array(swProtected ? fc.constantFrom("sw_protected", "sw_protected", "default") : fc.constant("default"), { minLength: 2, maxLength: 3 }),
      files: fc.array(fc.constantFrom<unknown>(0, "MMAP", 0), { minLength: 1, maxLength: 2 }),
      bound: fc.array(fc.tuple(fc.boolean(), fc.constantFrom<string[] | undefined>(undefined, undefined, ["r"], ["r", "w"])), { minLength: 3, maxLength: 3 }),
      privateMemory: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), { minLength: 3, maxLength: 3 }),
    })
    .map(({ vms, files, bound, privateMemory }) => {
      const ops: Array<Record<string, unknown>> = [];
      vms.forEach((type, v) => ops.push({ op: "create_vm", as: VM_NAMES[v], type }));
      files.forEach((flags, k) => ops.push({ op: "create_guest_memfd_system", as: FD_NAMES[k], size: 1048576, flags }));
      vms.forEach((type, v) => {
        const [on, perm] = bound[v];
        if (!on && v > 0) return;
        ops.push(perm ? { op: "gmem_bind", fd: FD_NAMES[0], vm: VM_NAMES[v], perm } : { op: "gmem_bind", fd: FD_NAMES[0], vm: VM_NAMES[v] });
        ops.push({ op: "set_user_memory_region2", vm: VM_NAMES[v], slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, userspace_addr: 0, guest_memfd: FD_NAMES[0], guest_memfd_offset: 0 });
        if (type === "sw_protected" && privateMemory[v]) ops.push({ op: "set_memory_attributes", vm: VM_NAMES[v], address: 0, size: 65536, attributes: "PRIVATE" });
      });
      return ops;
    });
}

/**
 * A trace for the system design: its setup, then random ops of both kinds
 * (gmem_link excluded). swProtected: the profile can create sw_protected VMs
 * (its name has +swprot), so the setup makes confidential ones.
 */
export function systemTraceArbitrary(opts: { minLength?: number; maxLength?: number; weights?: Partial<Record<OpName | SystemOpName, number>>; swProtected?: boolean } = {}) {
  const body = fc.array(systemOpArbitrary(opts.weights), { minLength: opts.minLength ?? 8, maxLength: opts.maxLength ?? 40, size: "max" });
  return fc.tuple(systemSetupFor(opts.swProtected ?? false), body).map(([setup, ops]) => [...setup, ...ops]);
}

/**
 * The traces a fuzzing run of this design and kernel profile draws: the
 * system design's own, or the vm design's (with `sequences` where the run
 * asks for them); sw_protected VMs in the setup where the profile has them.
 */
export function runTraceArbitrary(design: string | undefined, kernel: string | undefined, sequences?: Partial<Record<SequenceName, number>>) {
  const swProtected = profileByName(kernel ?? DEFAULT_PROFILE.name).swProtected;
  return design && design !== "vm" ? systemTraceArbitrary({ maxLength: 60, swProtected }) : traceArbitrary({ maxLength: 60, sequences, swProtected });
}
