/**
 * apply()'s hot ops (src/trace/hot-lines.ts readHotOp(), src/trace/hot-run.ts)
 * skip the full reader, and run through the typed tier, only where that gives
 * the full reader's answer: each op below runs on the hot path and, with an
 * empty "expect" added (which no hot path takes), through the full reader, on
 * twin simulators; result lines (with the sentence behind a failure) and
 * states must be identical.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Simulator, type Policy } from "../src/index.js";
import { digestSnapshot } from "../src/core/digest.js";
import { stringifyJson } from "../src/trace/json.js";

const SETUP = [
  { op: "create_vm", as: "a", type: "default" },
  { op: "create_vm", as: "p", type: "sw_protected" },
  { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
  { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
  { op: "create_guest_memfd", vm: "p", as: "pg", size: 65536, flags: 0 },
  { op: "set_user_memory_region2", vm: "p", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "pg", userspace_addr: 0 },
  { op: "create_guest_memfd", vm: "a", as: "gone", size: 65536, flags: 0 },
  { op: "close", fd: "gone" },
  { op: "memfd", as: "mf", size: 65536 },
  { op: "anon_map", as: "m", len: 4096 },
  { op: "create_vm", as: "dead", type: 99 },
];

function twins(frameLimit?: number): [Simulator, Simulator] {
  const s = [new Simulator({ frameLimit, kernel: "6.18+swprot" }), new Simulator({ frameLimit, kernel: "6.18+swprot" })] as [Simulator, Simulator];
  for (const sim of s) {
    const out = sim.apply(SETUP);
    for (const r of out.slice(0, 6)) assert.ok(!("error" in r) && !("errno" in r), JSON.stringify(r));
  }
  return s;
}

/** The same op with an empty "expect", which changes no result and which no hot path takes. */
const slow = (op: object): object => ({ expect: {}, ...op });
/** A result line with the sentence behind it (not enumerable) made visible to the comparison. */
const shown = (r: object) => ({ ...r, message: (r as { message?: unknown }).message });

/** Runs `ops` as one batch on the hot simulator and, each with "expect", on the other; both must agree. Returns the hot lines. */
function agree(hot: Simulator, full: Simulator, ops: object[], what: string): ReturnType<Simulator["apply"]> {
  const h = hot.apply(ops);
  const f = full.apply(ops.map(slow));
  assert.equal(h.map(shown), f.map(shown), what);
  assert.is(h.map((r) => stringifyJson(r)).join("\n"), f.map((r) => stringifyJson(r)).join("\n"), `${what}: the same keys in the same order`);
  assert.is(digestSnapshot(hot.snapshot()), digestSnapshot(full.snapshot()), what);
  return h;
}

/** Hot-shaped objects the full reader refuses, each for one reason: the hot path must refuse each the same way. */
const REFUSED: Array<[string, object]> = [
  ["an unknown key", { op: "vcpu_access", vm: "a", gpa: 0, access: "read", vlaue: 3 }],
  ["an unknown key (fallocate)", { op: "fallocate", fd: "g", mode: 1, offset: 0, len: 4096, flags: 0 }],
  ["a key of Object.prototype's names", { op: "vcpu_access", vm: "a", gpa: 0, access: "read", toString: 1 }],
  ["a missing field", { op: "vcpu_access", vm: "a", gpa: 0 }],
  ["a missing value for a write", { op: "vcpu_access", vm: "a", gpa: 0, access: "write" }],
  ["a missing len", { op: "fallocate", fd: "g", mode: 1, offset: 0 }],
  ["a name of the wrong type", { op: "vcpu_access", vm: 5, gpa: 0, access: "read" }],
  ["an unknown name", { op: "vcpu_access", vm: "nobody", gpa: 0, access: "read" }],
  ["a name of the wrong kind", { op: "vcpu_access", vm: "g", gpa: 0, access: "read" }],
  ["a map where an fd goes", { op: "fallocate", fd: "m", mode: 1, offset: 0, len: 4096 }],
  ["a gpa that is a fraction", { op: "vcpu_access", vm: "a", gpa: 0.5, access: "read" }],
  ["an unknown access", { op: "vcpu_access", vm: "a", gpa: 0, access: "reads" }],
  ["a value past a byte", { op: "vcpu_access", vm: "a", gpa: 0, access: "write", value: 256 }],
  ["a negative len", { op: "fallocate", fd: "g", mode: 1, offset: 0, len: -4096 }],
  ["a mode past an int", { op: "fallocate", fd: "g", mode: 2 ** 31, offset: 0, len: 4096 }],
  ["a private flag the kernel derives otherwise", { op: "vcpu_access", vm: "a", gpa: 0, access: "read", private: true }],
];

/** Hot-shaped objects the full reader reads another way than as safe integers (a u64 wraps, a string is strtoull's): its answer too. */
const READ_OTHERWISE: Array<[string, object]> = [
  ["a negative gpa (a u64: it wraps)", { op: "vcpu_access", vm: "a", gpa: -4096, access: "read" }],
  ["a gpa as a string", { op: "vcpu_access", vm: "a", gpa: "4096", access: "write", value: 1 }],
  ["a gpa past 2^53", { op: "vcpu_access", vm: "a", gpa: 2 ** 60, access: "read" }],
  ["an offset as a string", { op: "fallocate", fd: "g", mode: 1, offset: "0x1000", len: 4096 }],
];

test("a hot-shaped op object the full reader reads another way gets the full reader's line", () => {
  const [hot, full] = twins();
  for (const [why, op] of READ_OTHERWISE) agree(hot, full, [op], why);
});

test("a hot op object the full reader refuses (unknown key, missing field, wrong type, bad name) is refused with the same line and sentence", () => {
  const [hot, full] = twins();
  for (const [why, op] of REFUSED) {
    const [r] = agree(hot, full, [op], why);
    assert.ok("error" in r || "errno" in r, `${why}: refused`);
  }
  // The same ops in one batch, between hot ops that run: each keeps its place and its line.
  const ok = { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 9 };
  agree(hot, full, REFUSED.flatMap(([, op]) => [ok, op]), "refusals between hot ops");
});

test("a field inherited from Object.prototype is no field of a hot op object, as for the full reader", () => {
  const proto = Object.prototype as Record<string, unknown>;
  for (const enumerable of [true, false]) {
    Object.defineProperty(proto, "value", { value: 7, enumerable, configurable: true, writable: true });
    try {
      const [hot, full] = twins();
      const [r] = agree(hot, full, [{ op: "vcpu_access", vm: "a", gpa: 0, access: "write" }], `inherited value (enumerable ${enumerable})`);
      assert.match(String(r.error), /value/, "a write with no value of its own is refused");
    } finally {
      delete proto.value;
    }
  }
});

test("an op object of another prototype, or one read through getters, gets the full reader's line", () => {
  const [hot, full] = twins();
  class Op {
    op = "vcpu_access";
    vm = "a";
    gpa = 0;
    access = "read";
  }
  const viaGetters = { get op() { return "vcpu_access"; }, get vm() { return "a"; }, get gpa() { return 8192; }, get access() { return "write"; }, get value() { return 5; } };
  const [h1] = hot.apply([new Op()]);
  assert.match(String(h1.error), /expected an op object/);
  assert.equal(hot.apply([Object.create({ op: "vcpu_access", vm: "a", gpa: 0, access: "read" })])[0].error !== undefined, true);
  const [g] = hot.apply([viaGetters]);
  const [f] = full.apply([{ expect: {}, op: "vcpu_access", vm: "a", gpa: 8192, access: "write", value: 5 }]);
  full.apply([new Op(), Object.create(null)]);
  assert.equal(shown(g), shown({ ...f, i: g.i }));
});

test("every outcome of the hot ops (exits, signals, errnos, frame limit) is the full reader's, line for line", () => {
  const [hot, full] = twins(12);
  const ops: object[] = [
    // Memory fault exits: a private access with no gmem behind it (EFAULT), a poisoned page (EHWPOISON), shared and private.
    { op: "create_vm", as: "q", type: "sw_protected" },
    { op: "anon_map", as: "qm", len: 65536 },
    { op: "set_user_memory_region2", vm: "q", slot: 0, flags: 0, guest_phys_addr: 0, memory_size: 65536, userspace_addr: { map: "qm", offset: 0 } },
    { op: "set_memory_attributes", vm: "q", address: 0, size: 8192, attributes: "PRIVATE" },
    { op: "vcpu_access", vm: "q", gpa: 4096, access: "read" },
    { op: "vcpu_access", vm: "a", gpa: 12288, access: "write", value: 1 },
    { op: "memory_failure", fd: "g", offset: 12288 },
    { op: "vcpu_access", vm: "a", gpa: 12288, access: "read" },
    { op: "set_memory_attributes", vm: "p", address: 0, size: 65536, attributes: "PRIVATE" },
    { op: "fallocate", fd: "pg", mode: 1, offset: 0, len: 4096 },
    { op: "memory_failure", fd: "pg", offset: 0 },
    { op: "vcpu_access", vm: "p", gpa: 0, access: "read" },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 3 },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "read" },
    { op: "vcpu_access", vm: "a", gpa: 1048576, access: "read" }, // outside every memslot: MMIO exit
    { op: "vcpu_access", vm: "a", gpa: 1048576 + 5, access: "exec" },
    { op: "vcpu_access", vm: "p", gpa: 0, access: "read" }, // sw_protected, shared gfn of a gmem file without MMAP
    { op: "vcpu_access", vm: "dead", gpa: 0, access: "read" }, // EBADF
    { op: "fallocate", fd: "gone", mode: 1, offset: 0, len: 4096 }, // EBADF
    { op: "fallocate", fd: "g", mode: 1, offset: 4097, len: 4096 }, // EINVAL
    { op: "fallocate", fd: "g", mode: 1, offset: 61440, len: 8192 }, // beyond EOF
    { op: "fallocate", fd: "g", mode: 0, offset: 0, len: 4096 }, // no KEEP_SIZE
    { op: "fallocate", fd: "g", mode: 3, offset: 0, len: 65536 },
    { op: "fallocate", fd: "a", mode: 1, offset: 0, len: 4096 }, // a VM fd: ENODEV
    { op: "fallocate", fd: "mf", mode: 1, offset: 0, len: 4096 }, // a memfd: the shmem path
    { op: "memory_failure", fd: "g", offset: 8192 },
    { op: "vcpu_access", vm: "a", gpa: 8192, access: "read" },
    { op: "fallocate", fd: "g", mode: 1, offset: 0, len: 65536 }, // past the frame limit: ENOMEM
    ...Array.from({ length: 20 }, (_, k) => ({ op: "vcpu_access", vm: "a", gpa: (k % 16) * 4096, access: k % 2 ? "read" : "write", value: k })),
  ];
  const lines = agree(hot, full, ops, "outcomes").map((r) => stringifyJson(r));
  // The outcomes this batch is for, each met.
  for (const want of ['"exit":"mmio"', '"exit":"internal_error"', '"errno":"EFAULT","exit":"memory_fault"', '"errno":"EHWPOISON","exit":"memory_fault"', '"flags":["PRIVATE"]', '"errno":"EBADF"', '"errno":"ENOMEM"', '"errno":"ENODEV"', '"errno":"EOPNOTSUPP"'])
    assert.ok(lines.some((l) => l.includes(want)), want);
});

test("random batches of hot ops, refusals and other ops: apply() gives the full reader's lines and state", () => {
  const name = fc.constantFrom("a", "p", "g", "pg", "gone", "mf", "m", "dead", "nobody");
  const num = fc.oneof(fc.integer({ min: 0, max: 20 }).map((k) => k * 4096), fc.constantFrom(-4096, 4097, 0.5, 2 ** 53, 1048576));
  const access = fc
    .record({ op: fc.constant("vcpu_access"), vm: name, gpa: num, access: fc.constantFrom("read", "write", "exec", "reads"), value: fc.integer({ min: 0, max: 300 }) })
    .map((o): object => (o.access === "read" ? { op: o.op, vm: o.vm, gpa: o.gpa, access: o.access } : o));
  const falloc: fc.Arbitrary<object> = fc.record({ op: fc.constant("fallocate"), fd: name, mode: fc.constantFrom(1, 3, 0, 2), offset: num, len: fc.constantFrom(4096, 8192, 0, 65536) });
  const other = fc.constantFrom<object>({ op: "memory_failure", fd: "g", offset: 0 }, { op: "stats", vm: "a" }, { op: "close", fd: "g" }, { op: "vcpu_access", vm: "a", gpa: 0, access: "read", extra: 1 });
  fc.assert(
    fc.property(fc.array(fc.oneof({ weight: 4, arbitrary: access }, { weight: 3, arbitrary: falloc }, { weight: 1, arbitrary: other }), { maxLength: 40 }), fc.integer({ min: 6, max: 40 }), (ops, frames) => {
      const [hot, full] = twins(frames);
      agree(hot, full, ops, JSON.stringify(ops));
    }),
    { numRuns: 150, seed: 12 },
  );
});

test("under a policy of the caller's (refusing punches, or calling back into its simulator), hot ops get the full reader's lines", () => {
  /** A policy that refuses punches, and first calls back into its own simulator (which refuses that call with EDEADLK). */
  const strict = (own: { sim?: Simulator }): Policy => ({
    name: "strict",
    fallocate(req) {
      const [r] = own.sim!.apply([{ op: "vcpu_access", vm: "a", gpa: 0, access: "read" }]);
      assert.match(String(r.error), /must not call back/);
      return req.op === "punch" ? { allow: false, reason: "no punching here" } : { allow: true };
    },
  });
  const a: { sim?: Simulator } = {};
  const b: { sim?: Simulator } = {};
  const hot = (a.sim = new Simulator({ kernel: "6.18+swprot", policy: strict(a) }));
  const full = (b.sim = new Simulator({ kernel: "6.18+swprot", policy: strict(b) }));
  for (const sim of [hot, full]) sim.apply(SETUP);
  const ops = [
    { op: "fallocate", fd: "g", mode: 1, offset: 0, len: 8192 },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 2 },
    { op: "fallocate", fd: "g", mode: 3, offset: 0, len: 4096 },
    { op: "vcpu_access", vm: "a", gpa: 0, access: "read" },
  ];
  const lines = agree(hot, full, ops, "a policy of the caller's");
  assert.is(lines[2].errno, "EPERM");
  assert.match(String(lines[2].message), /no punching here/);
});

test("a name bound again (its VM destroyed, a new one created under it) names the new VM on the hot paths, met before or not", () => {
  const sim = new Simulator();
  // Names made per op (as a caller's template strings are), so no two lookups share a string.
  const vm = (k: number) => `vm${k}`.slice(0, 2) + "x";
  const out = sim.apply([
    { op: "create_vm", as: vm(0), type: "default" },
    { op: "create_guest_memfd", vm: vm(0), as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
    { op: "set_user_memory_region2", vm: vm(0), slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
    { op: "vcpu_access", vm: vm(1), gpa: 0, access: "write", value: 7 },
    { op: "vcpu_access", vm: vm(2), gpa: 0, access: "read" },
  ]);
  assert.equal(out[4], { i: 4, ret: 0, value: 7 });
  // Destroyed: the name now names a dead VM (fd -1); bound again, it names a VM with no memslot (an MMIO exit).
  const again = sim.apply([
    { op: "destroy_vm", vm: vm(3) },
    { op: "vcpu_access", vm: vm(4), gpa: 0, access: "read" },
    { op: "create_vm", as: vm(5), type: "default" },
    { op: "vcpu_access", vm: vm(6), gpa: 0, access: "read" },
  ]);
  assert.is(again[1].errno, "EBADF", JSON.stringify(again[1]));
  assert.is((again[3] as { exit?: unknown }).exit, "mmio", JSON.stringify(again[3]));
});

test("an op object's getter that calls apply() again sees every earlier op of the batch run, and each op keeps its place and its i", () => {
  const [sim] = twins();
  let seen: unknown = null;
  let calls = 0;
  const op1 = {
    op: "vcpu_access",
    get vm() {
      // Once: the batch's first op (a hot write, gathered for the typed tier) must have run by now.
      // As a JSONL string, which has no op objects of its own to wait behind.
      if (calls++ === 0) seen = sim.apply('{"op":"vcpu_access","vm":"a","gpa":4096,"access":"read"}')[0];
      return "a";
    },
    gpa: 8192,
    access: "write",
    value: 5,
  };
  const out = sim.apply([{ op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 7 }, op1, { op: "vcpu_access", vm: "a", gpa: 8192, access: "read" }]);
  const first = out[0].i;
  assert.equal(seen, { i: first + 1, ret: 0, value: 7 }, "the nested read ran after the batch's first op");
  assert.equal(out.map((r) => r.i), [first, first + 2, first + 3]);
  assert.equal(out[2], { i: first + 3, ret: 0, value: 5 });
});

test.run();
