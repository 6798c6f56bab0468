/**
 * The engine against the reference model: seeded random traces must give the
 * same result line for every op and the same core state (snapshot digest),
 * including halfway through, and the engine's final state must satisfy every
 * engine invariant.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Simulator } from "../src/api/simulator.js";
import { checkInvariants } from "../src/check/checker.js";
import { checkSecurity } from "../src/check/checker.js";
import { digestSnapshot } from "../src/core/digest.js";
import { systemTraceArbitrary, traceArbitrary } from "../src/fuzz/arbitraries.js";
import { Replayer, resultLine } from "../src/trace/replay.js";
import * as T from "../src/api/typed.js";
import { ERRNO } from "../src/uapi/errno.js";
import { GmemFile, HostMap, Vm } from "../src/kvm/objects.js";

const RUNS = Number(process.env.GMEMSIM_DIFF_RUNS ?? 10_000);

/** The system design's traces make sw_protected VMs, which need the swprot option (privateness derived from the gfn's attribute). */
const SYSTEM_KERNEL = "6.18+swprot";

function run(engine: "wasm" | "reference", ops: object[], design: "vm" | "system" | "system+implicit" = "vm") {
  const sim = new Simulator({ engine, design, kernel: design === "vm" ? undefined : SYSTEM_KERNEL });
  const half = ops.length >> 1;
  const first = sim.apply(ops.slice(0, half));
  const mid = digestSnapshot(sim.snapshot());
  const second = sim.apply(ops.slice(half));
  return { sim, results: [...first, ...second], mid, end: digestSnapshot(sim.snapshot()) };
}

/** The engine's run of ops, held to the reference model's: the same result lines and the same final state. */
function agreeing(ops: object[]) {
  const e = run("wasm", ops);
  const r = run("reference", ops);
  assert.equal(e.results, r.results);
  assert.is(e.end, r.end);
  return e;
}

test(`the engine and the reference model agree on ${RUNS} random traces (results, state, invariants, security under the default policy)`, () => {
  let ops = 0;
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 48 }), (trace) => {
      ops += trace.length;
      const e = run("wasm", trace);
      const r = run("reference", trace);
      assert.equal(e.results, r.results, "result lines differ");
      assert.is(e.mid, r.mid, "state differs halfway");
      assert.is(e.end, r.end, "final state differs");
      assert.equal(checkInvariants(e.sim.host), [], "engine invariants");
      assert.equal(checkSecurity(e.sim.host), [], "the default policy never breaks a security property");
    }),
    { numRuns: RUNS, seed: Number(process.env.GMEMSIM_SEED ?? 20261125) },
  );
  assert.ok(ops > RUNS * 10, `traces were non-trivial (${ops} ops)`);
});

// The system-scoped design (SPEC §2.3): its own traces (system files bound to several VMs, private memory meeting foreign keys), on both cores.
const SYSTEM_RUNS = Math.ceil(RUNS / 10);
for (const design of ["system", "system+implicit"] as const) {
  test(`design ${design}: the engine and the reference model agree on ${SYSTEM_RUNS} random traces, and the default system policy breaks no property`, () => {
    let ops = 0;
    fc.assert(
      fc.property(systemTraceArbitrary({ maxLength: 48, swProtected: true }), (trace) => {
        ops += trace.length;
        const e = run("wasm", trace, design);
        const r = run("reference", trace, design);
        assert.equal(e.results, r.results, "result lines differ");
        assert.is(e.mid, r.mid, "state differs halfway");
        assert.is(e.end, r.end, "final state differs");
        assert.equal(checkInvariants(e.sim.host), [], "engine invariants");
        assert.equal(checkSecurity(e.sim.host), [], "the default system policy never breaks a security property");
      }),
      { numRuns: SYSTEM_RUNS, seed: Number(process.env.GMEMSIM_SEED ?? 20261201) },
    );
    assert.ok(ops > SYSTEM_RUNS * 10, `traces were non-trivial (${ops} ops)`);
  });
}

test("system-design traces reach their paths: binds, unbinds, foreign-key refusals, closed-file exits", () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(systemTraceArbitrary({ maxLength: 48, swProtected: true }), (trace) => {
      const sim = new Simulator({ engine: "reference", design: "system", kernel: SYSTEM_KERNEL });
      sim.apply(trace).forEach((r, k) => {
        const op = (trace[k] as { op: string }).op;
        if (r.ret === 0 && (op === "gmem_bind" || op === "gmem_unbind")) seen.add(`${op}:ok`);
        if (r.exit && r.errno && (r.flags as string[]).includes("PRIVATE")) seen.add(`private exit:${r.errno}`);
        if (r.errno && !r.exit) seen.add(`${op}:${r.errno}`);
      });
    }),
    { numRuns: 1500, seed: 8 },
  );
  for (const k of ["gmem_bind:ok", "gmem_unbind:ok", "private exit:EACCES", "gmem_bind:EEXIST", "gmem_bind:EPERM", "gmem_unbind:EINVAL"]) assert.ok(seen.has(k), `never saw ${k} (saw ${[...seen].sort().join(", ")})`);
});

const ERRNO_NAME = Object.fromEntries(Object.entries(ERRNO).map(([k, v]) => [v, k]));
const EXIT_NAME: Record<number, string> = { [T.KVM_EXIT_MMIO]: "mmio", [T.KVM_EXIT_INTERNAL_ERROR]: "internal_error", [T.KVM_EXIT_MEMORY_FAULT]: "memory_fault" };

/** A typed result's words as the result line the other tiers print. */
function typedLine(i: number, op: number, w: Float64Array, o: number): Record<string, unknown> {
  const line: Record<string, unknown> = { i };
  if (w[o] === 0 && w[o + 2] === 0) line.ret = 0;
  if (w[o]) line.errno = ERRNO_NAME[w[o]];
  if (w[o + 2]) line.signal = w[o + 2] === T.SIGBUS ? "SIGBUS" : "SIGSEGV";
  const exit = EXIT_NAME[w[o + 1]];
  if (exit) line.exit = exit;
  if (exit === "mmio") line.gpa = w[o + 4];
  else if (exit === "internal_error") line.suberror = w[o + 5];
  else if (exit === "memory_fault") Object.assign(line, { gpa: w[o + 4], size: w[o + 6], flags: w[o + 5] ? ["PRIVATE"] : [] });
  else if (!w[o] && !w[o + 2]) {
    if (op === T.TYPED_READ || op === T.TYPED_LOAD) line.value = w[o + 3];
    if (op === T.TYPED_STATS_VM) Object.assign(line, { sptes: w[o + 3], faults: w[o + 4], zaps: w[o + 5], exits: w[o + 6] });
    if (op === T.TYPED_STATS_HOST) line.host_pages = w[o + 3];
  }
  return line;
}

const exact = (x: unknown): number | null => {
  try {
    const b = BigInt.asIntN(64, BigInt(x as never));
    return b >= BigInt(-Number.MAX_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : null;
  } catch {
    return null;
  }
};

/**
 * Runs a trace with every op the typed tier can say sent through it (one
 * command at a time, so that it interleaves with the trace's other ops), the
 * rest through the trace reader; returns result lines.
 */
function runTyped(ops: Record<string, any>[]) {
  const sim = new Simulator({ engine: "wasm" });
  const rp = new Replayer(sim.host);
  const typed = new T.TypedBatch(sim);
  const live = (name: unknown): object | undefined => {
    try {
      return typeof name === "string" && rp.names.has(name) ? ((rp.names as any).table.get(name) as object) : undefined;
    } catch {
      return undefined;
    }
  };
  const results: Record<string, unknown>[] = [];
  let typedCount = 0;
  ops.forEach((op, n) => {
    let cmd: number[] | null = null;
    const keys = Object.keys(op).filter((k) => k !== "op").sort().join(",");
    if (op.op === "vcpu_access" && (keys === "access,gpa,vm" || keys === "access,gpa,private,vm" || keys === "access,gpa,value,vm" || keys === "access,gpa,private,value,vm")) {
      const vm = live(op.vm);
      const gpa = exact(op.gpa);
      const code = { read: T.TYPED_READ, write: T.TYPED_WRITE, exec: T.TYPED_EXEC }[op.access as string];
      // A private flag that disagrees with the derived privateness is a trace error in a trace and malformed in the typed tier: those stay with the trace reader.
      if (vm instanceof Vm && gpa !== null && gpa >= 0 && code && (op.private === undefined || op.private === false) && (code !== T.TYPED_WRITE || Number.isInteger(op.value)))
        cmd = [code, typed.handle({ obj: vm }), gpa, code === T.TYPED_WRITE ? op.value : 0];
    } else if (op.op === "fallocate" && keys === "fd,len,mode,offset" && (op.mode === "KEEP_SIZE" || op.mode === 1 || JSON.stringify(op.mode) === '["KEEP_SIZE","PUNCH_HOLE"]' || op.mode === 3)) {
      const f = live(op.fd);
      const off = exact(op.offset);
      const len = exact(op.len);
      if (f instanceof GmemFile && off !== null && len !== null) cmd = [op.mode === "KEEP_SIZE" || op.mode === 1 ? T.TYPED_ALLOCATE : T.TYPED_PUNCH, typed.handle({ obj: f }), off, len];
    } else if ((op.op === "load" || op.op === "store") && keys === (op.op === "load" ? "map,offset" : "map,offset,value")) {
      const m = live(op.map);
      const off = exact(op.offset);
      if (m instanceof HostMap && m.alive && off !== null && off >= 0 && off < m.npages * 4096) cmd = [op.op === "load" ? T.TYPED_LOAD : T.TYPED_STORE, typed.handle({ obj: m }), off, op.value ?? 0];
    } else if (op.op === "stats" && keys === "") cmd = [T.TYPED_STATS_HOST, 0, 0, 0];
    else if (op.op === "stats" && keys === "vm" && live(op.vm) instanceof Vm) cmd = [T.TYPED_STATS_VM, typed.handle({ obj: live(op.vm) as Vm }), 0, 0];
    if (cmd) {
      typedCount++;
      const w = typed.run(new Float64Array(cmd));
      assert.ok(w[0] !== -1, `typed command ${JSON.stringify(cmd)} for ${JSON.stringify(op)} was malformed: ${typed.message(0)}`);
      rp.op({ op: "_typed" } as never, n + 1); // keeps the counted-line numbering of the trace reader
      results.push(typedLine(results.length, cmd[0] & 0xff, w, 0));
    } else {
      const rec = rp.op(op as never, n + 1);
      sim.host.sync();
      results.push(resultLine(rec) as Record<string, unknown>);
    }
  });
  return { results, end: digestSnapshot(sim.snapshot()), typedCount };
}

test("the typed tier gives the same result lines and state as the trace reader on random traces", () => {
  let typedOps = 0;
  const runs = Math.min(RUNS, 2000);
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 48 }), (trace) => {
      const t = runTyped(trace as Record<string, any>[]);
      const sim = new Simulator({ engine: "reference" });
      const r = sim.apply(trace);
      typedOps += t.typedCount;
      assert.equal(t.results, r, "result lines differ");
      assert.is(t.end, digestSnapshot(sim.snapshot()), "final state differs");
    }),
    { numRuns: runs, seed: Number(process.env.GMEMSIM_SEED ?? 20261125) },
  );
  assert.ok(typedOps > runs * 3, `the typed tier ran a fair share of the ops (${typedOps})`);
});

test("random traces do reach the interesting paths (guest exits, EACCES from file permissions, EIO after a move, SIGBUS)", () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 48 }), (trace) => {
      const sim = new Simulator({ engine: "reference" });
      for (const r of sim.apply(trace)) {
        if (r.exit) seen.add(`exit:${r.exit}:${r.errno ?? "ok"}`);
        if (r.signal) seen.add(`signal:${r.signal}`);
        if (r.errno && !r.exit) seen.add(`errno:${r.errno}`);
        if (typeof r.zaps === "number" && r.zaps > 0) seen.add("zaps");
        if (r.value !== undefined && (r.value as number) > 0) seen.add("nonzero read");
      }
    }),
    { numRuns: 3000, seed: 7 },
  );
  for (const k of ["exit:mmio:ok", "exit:memory_fault:EFAULT", "exit:memory_fault:EHWPOISON", "exit:memory_fault:EACCES", "signal:SIGBUS", "errno:EINVAL", "errno:EEXIST", "errno:EBADF", "errno:EPERM", "errno:EIO", "nonzero read"]) {
    assert.ok(seen.has(k), `random traces never produced ${k}; seen: ${[...seen].join(", ")}`);
  }
});

test("memslots that share one userspace_addr are each found and taken out of the hva index alone: deletes in any order, then a punch's notifier, agree with the reference model", () => {
  // Six one-page memslots of one VM over the same page of a shared memfd mapping (KVM lets memslots alias an hva);
  // each guest read maps it, then memslots go in an order that is neither their creation's nor its reverse, and
  // the punch's notifier must zap exactly the SPTEs of those left.
  const ops: object[] = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "memfd", as: "f", size: 4096 },
    { op: "mmap", fd: "f", as: "p", offset: 0, len: 4096, prot: "rw", shared: true },
  ];
  for (let k = 0; k < 6; k++) ops.push({ op: "set_user_memory_region2", vm: "a", slot: k, flags: 0, guest_phys_addr: k * 1048576, memory_size: 4096, userspace_addr: { map: "p" } });
  for (let k = 0; k < 6; k++) ops.push({ op: "vcpu_access", vm: "a", gpa: k * 1048576, access: "read" });
  for (const k of [3, 0, 5]) ops.push({ op: "set_user_memory_region2", vm: "a", slot: k, flags: 0, guest_phys_addr: 0, memory_size: 0, userspace_addr: 0 });
  // A delete zaps the whole VM (KVM_X86_QUIRK_SLOT_ZAP_ALL): the memslots left map the page again.
  for (const k of [1, 2, 4]) ops.push({ op: "vcpu_access", vm: "a", gpa: k * 1048576, access: "read" });
  ops.push({ op: "stats", vm: "a" }, { op: "fallocate", fd: "f", mode: ["PUNCH_HOLE", "KEEP_SIZE"], offset: 0, len: 4096 }, { op: "stats", vm: "a" });
  const e = agreeing(ops);
  const sptes = (k: number) => (e.results.at(k) as unknown as { sptes: number }).sptes;
  assert.is(sptes(-3), 3);
  assert.is(sptes(-1), 0, "the punch's notifier zaps the SPTE of every memslot left over the page");
  assert.equal(checkInvariants(e.sim.host), []);
});

test("a released file's bindings leave its inode's index: its memslot, shared and deleted later, is not zapped or touched by the inode's punches", () => {
  // The owner's file keeps the inode alive; b's share of it is bound in a memslot that shows a memfd page at its
  // userspace_addr (a file without MMAP: not gmem-only, so a shared access maps the memfd page). Closing the share
  // drops its binding: b's read then maps the memfd page again, and the owner's punches of the inode must not zap
  // it; then the memslot goes (freed in the core), and punches must find nothing of it.
  const ops: object[] = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_vm", as: "b", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: [] },
    { op: "gmem_link", fd: "g", vm: "b", as: "s", perm: ["r", "w"], mode: "share" },
    { op: "memfd", as: "f", size: 65536 },
    { op: "mmap", fd: "f", as: "p", offset: 0, len: 65536, prot: "rw", shared: true },
    { op: "set_user_memory_region2", vm: "b", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "s", userspace_addr: { map: "p" } },
    { op: "vcpu_access", vm: "b", gpa: 4096, access: "write", value: 9 },
    { op: "close", fd: "s" },
    { op: "vcpu_access", vm: "b", gpa: 4096, access: "read" },
    { op: "stats", vm: "b" },
    { op: "fallocate", fd: "g", mode: ["KEEP_SIZE"], offset: 0, len: 65536 },
    { op: "fallocate", fd: "g", mode: ["PUNCH_HOLE", "KEEP_SIZE"], offset: 0, len: 65536 },
    { op: "stats", vm: "b" },
    { op: "set_user_memory_region2", vm: "b", slot: 0, flags: 0, guest_phys_addr: 0, memory_size: 0, userspace_addr: 0 },
    { op: "fallocate", fd: "g", mode: ["KEEP_SIZE"], offset: 0, len: 65536 },
    { op: "fallocate", fd: "g", mode: ["PUNCH_HOLE", "KEEP_SIZE"], offset: 0, len: 8192 },
    { op: "stats", vm: "b" },
  ];
  const e = agreeing(ops);
  const st = (k: number) => e.results.at(k) as unknown as { sptes: number; zaps: number };
  assert.is(st(10).sptes, 1, "b's read after the close maps the memfd page through userspace_addr");
  assert.is(st(13).sptes, 1, "the owner's punch does not zap b's memslot, which no longer binds the inode");
  assert.is(st(13).zaps, st(10).zaps);
  assert.equal(checkInvariants(e.sim.host), []);
});

test("a deleted memslot's binding leaves its inode's index: the gfns it had, bound again to another inode, keep their SPTEs when the first inode is punched (whole, and a page at a time)", () => {
  // The whole file, and its pages one at a time: a one-page punch takes the inode's one binding when it has one.
  for (const punch of [[{ op: "fallocate", fd: "g", mode: ["PUNCH_HOLE", "KEEP_SIZE"], offset: 0, len: 65536 }], Array.from({ length: 16 }, (_, p) => ({ op: "fallocate", fd: "g", mode: ["PUNCH_HOLE", "KEEP_SIZE"], offset: p * 4096, len: 4096 }))]) {
    const ops: object[] = [
      { op: "create_vm", as: "a", type: "default" },
      { op: "create_vm", as: "b", type: "default" },
      { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
      { op: "gmem_link", fd: "g", vm: "b", as: "s", perm: ["r", "w"], mode: "share" },
      { op: "create_guest_memfd", vm: "b", as: "h", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
      { op: "set_user_memory_region2", vm: "b", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "s" },
      { op: "vcpu_access", vm: "b", gpa: 4096, access: "write", value: 3 },
      { op: "set_user_memory_region2", vm: "b", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 0, guest_memfd: "s" },
      { op: "set_user_memory_region2", vm: "b", slot: 1, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "h" },
      { op: "vcpu_access", vm: "b", gpa: 4096, access: "write", value: 4 },
      { op: "stats", vm: "b" },
      { op: "fallocate", fd: "g", mode: ["KEEP_SIZE"], offset: 0, len: 65536 },
      ...punch,
      { op: "stats", vm: "b" },
      { op: "vcpu_access", vm: "b", gpa: 4096, access: "read" },
    ];
    const e = agreeing(ops);
    const st = (k: number) => e.results.at(k) as unknown as { sptes: number; zaps: number };
    assert.is(st(10).sptes, 1);
    assert.is(st(-2).sptes, 1, "punching g zaps nothing of b: its memslot over those gfns binds h now");
    assert.is(st(-2).zaps, st(10).zaps);
    assert.is((e.results.at(-1) as unknown as { value: number }).value, 4);
  }
});

test("a one-page punch zaps through the inode's one binding only while it has exactly one and no host map: a second binding and a host map each agree with the reference model (a deleted memslot: the test before)", () => {
  const PUNCH = (fd: string, page: number) => ({ op: "fallocate", fd, mode: ["PUNCH_HOLE", "KEEP_SIZE"], offset: page * 4096, len: 4096 });
  const sptes = (res: unknown[], k: number) => (res.at(k) as { sptes: number }).sptes;
  const agree = (ops: object[]) => agreeing(ops).results as unknown[];
  // Two memslots bind pgoffs [0, 4) and [4, 8) of one file: the punch of pgoff 5 is the second binding's.
  let res = agree([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 16384, guest_memfd: "g" },
    { op: "set_user_memory_region2", vm: "a", slot: 1, flags: "GUEST_MEMFD", guest_phys_addr: 1048576, memory_size: 16384, guest_memfd: "g", guest_memfd_offset: 16384 },
    { op: "vcpu_access", vm: "a", gpa: 0, access: "write", value: 1 },
    { op: "vcpu_access", vm: "a", gpa: 1048576 + 4096, access: "write", value: 2 },
    { op: "stats", vm: "a" },
    PUNCH("g", 5),
    { op: "stats", vm: "a" },
  ]);
  assert.is(sptes(res, -3), 2);
  assert.is(sptes(res, -1), 1, "the punch of pgoff 5 zaps the second memslot's SPTE");
  // A host map of the file, shown to the guest through a plain memslot: the punch's notifier zaps that SPTE too.
  res = agree([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
    { op: "mmap", fd: "g", as: "p", offset: 0, len: 65536, prot: "rw", shared: true },
    { op: "set_user_memory_region2", vm: "a", slot: 1, flags: 0, guest_phys_addr: 1048576, memory_size: 65536, userspace_addr: { map: "p" } },
    { op: "vcpu_access", vm: "a", gpa: 0, access: "write", value: 1 },
    { op: "vcpu_access", vm: "a", gpa: 1048576, access: "read" },
    { op: "stats", vm: "a" },
    PUNCH("g", 0),
    { op: "stats", vm: "a" },
    { op: "munmap", map: "p" },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 2 },
    PUNCH("g", 1),
    { op: "stats", vm: "a" },
  ]);
  assert.is(sptes(res, -7), 2);
  assert.is(sptes(res, -5), 0, "the punch zaps the binding's SPTE and, through the notifier, the host map's");
  assert.is(sptes(res, -1), 0, "once the map is gone, the inode's one binding takes the punch");
});

test.run();
