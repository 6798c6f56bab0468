/**
 * The core's typed entry (core-abi.ts "Typed entry", src/kvm/hot.ts) runs
 * only what the kernel layer's per-op checks would let through, exactly as
 * they would: random runs of typed commands, over objects of every state
 * (closed, linked, unmapped, sw_protected, near the frame limit), give the
 * same words, the same messages and the same end state on the engine (which
 * has the entry) as on the reference model (which has none: every command
 * goes the kernel layer's way).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import * as A from "../src/abi/core-abi.js";
import { Simulator, TypedBatch, TYPED_RES_WORDS, TYPED_READ, TYPED_WRITE, TYPED_ALLOCATE, TYPED_PUNCH, TYPED_LOAD, TYPED_STORE, TYPED_EXEC, TYPED_PRIVATE, TYPED_STATS_VM, TYPED_STATS_FILE, TYPED_STATS_HOST, ERRNO } from "../src/index.js";

const P = 4096;

interface World {
  sim: Simulator;
  t: TypedBatch;
  /** Changes between runs that alter what the kernel layer would say (closing, unmapping). */
  changes: Array<() => void>;
  handles: number;
}

function world(engine: "wasm" | "reference", kernel: string, frameLimit: number): World {
  const sim = new Simulator({ engine, kernel, frameLimit });
  const a = sim.createVm();
  const ga = a.createGuestMemfd(16 * P, ["MMAP", "INIT_SHARED"]);
  a.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 16 * P, guestMemfd: ga });
  const b = sim.createVm();
  const gb = b.createGuestMemfd(8 * P, ["MMAP", "INIT_SHARED"]);
  b.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0x100 * P, memorySize: 8 * P, guestMemfd: gb });
  // A file linked into b: it may not allocate or punch (the default policy), and its fallocates are judged.
  const linked = ga.link(b, ["r", "w"], "share");
  b.setUserMemoryRegion2({ slot: 1, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 16 * P, guestMemfd: linked });
  const rw = ga.mmap(0, 8 * P, "rw");
  const ro = gb.mmap(0, 4 * P, "r");
  const anon = sim.anonMap(4 * P);
  const objs: Array<{ obj: unknown }> = [a, b, ga, gb, linked, rw, ro, anon] as never;
  if (kernel.includes("swprot")) {
    const c = sim.createVm("sw_protected");
    const gc = c.createGuestMemfd(8 * P, ["MMAP"]);
    c.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 8 * P, guestMemfd: gc });
    // The attribute lives in the VM (6.18) or in the inode (next: in-place conversion).
    if (kernel.startsWith("next")) gc.setMemoryAttributes(0, 2 * P, "PRIVATE");
    else c.setMemoryAttributes(0, 2 * P, "PRIVATE");
    objs.push(c as never, gc as never);
  }
  const t = new TypedBatch(sim);
  for (const o of objs) t.handle(o as never);
  const done = new Set<number>();
  const once = (k: number, f: () => void) => () => {
    if (!done.has(k)) f();
    done.add(k);
  };
  const changes = [once(0, () => b.destroy()), once(1, () => ro.unmap()), once(2, () => gb.close()), () => a.stats()];
  return { sim, t, changes, handles: objs.length };
}

/** Numbers at the edges of every rule a hot command meets. */
// 2^52 - P and 2^52: where the core's word conversion (assembly/words.ts) stops and hands the command back.
const ADDRS = [0, 1, P - 1, P + 5, 7 * P + 9, 16 * P, 17 * P, 0x100 * P, 0x104 * P + 3, 0x108 * P, -P, -1, 0.5, P + 0.5, 2 ** 52 - P, 2 ** 52, 2 ** 53 - P, 2 ** 53, 2 ** 60, -0, Infinity, NaN];
const LENS = [0, 1, P, 2 * P, 3 * P, 16 * P, 17 * P, -P, 0.5, 2 ** 51 * P, 2 ** 52 - P, 2 ** 52, 2 ** 53, 255, 256, 7, -0, Infinity, NaN];
const page = fc.integer({ min: 0, max: 18 }).map((p) => p * P);
const addr = fc.oneof({ weight: 3, arbitrary: page }, { weight: 1, arbitrary: fc.constantFrom(...ADDRS) });
const len = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }).map((p) => p * P) }, { weight: 1, arbitrary: fc.constantFrom(...LENS) });
const byte = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 255 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 256, 0.5, NaN) });

/** Handles by kind, as world() numbers them (the sw_protected VM and its file last, where there are). */
const VMS = [0, 1, 8];
const FILES = [2, 3, 4, 9];
const MAPS = [5, 6, 7];

const command = (handles: number) => {
  const of = (hs: number[]) => fc.constantFrom(...hs.filter((h) => h < handles));
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(TYPED_READ, TYPED_WRITE, TYPED_EXEC, TYPED_READ | TYPED_PRIVATE), of(VMS), addr, byte) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(TYPED_ALLOCATE, TYPED_PUNCH), of(FILES), addr, len) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(TYPED_LOAD, TYPED_STORE), of(MAPS), addr, byte) },
    // Anything at all: another kind's handle, an unknown opcode, a handle that is none.
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom(TYPED_READ, TYPED_WRITE, TYPED_ALLOCATE, TYPED_PUNCH, TYPED_LOAD, TYPED_STORE, TYPED_STATS_VM, TYPED_STATS_FILE, TYPED_STATS_HOST, 0, 11, 0x102, 1.5),
        fc.oneof(fc.integer({ min: 0, max: handles - 1 }), fc.constantFrom(-1, handles, 0.5, 2 ** 40)),
        fc.constantFrom(...ADDRS),
        fc.constantFrom(...LENS),
      ),
    },
  );
};

function runs(kernel: string, frameLimit: number, numRuns: number): void {
  const handles = kernel.includes("swprot") ? 10 : 8;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.array(command(handles), { maxLength: 120 }), fc.option(fc.nat(3), { nil: undefined })), { minLength: 1, maxLength: 6 }), (plan) => {
      const eng = world("wasm", kernel, frameLimit);
      const ref = world("reference", kernel, frameLimit);
      for (const [cmds, change] of plan) {
        const words = new Float64Array(cmds.flat());
        const got = eng.t.run(words);
        const want = ref.t.run(words);
        for (let i = 0; i < cmds.length; i++) {
          const g = Array.from(got.subarray(i * TYPED_RES_WORDS, (i + 1) * TYPED_RES_WORDS));
          const w = Array.from(want.subarray(i * TYPED_RES_WORDS, (i + 1) * TYPED_RES_WORDS));
          assert.equal(g, w, `command ${i} ${JSON.stringify(cmds[i])}: ${g} vs ${w}`);
          assert.is(eng.t.message(i), ref.t.message(i), `command ${i}'s message`);
        }
        if (change !== undefined) {
          eng.changes[change]();
          ref.changes[change]();
        }
      }
      assert.equal(Array.from(eng.sim.snapshot()), Array.from(ref.sim.snapshot()), "the end state");
    }),
    { numRuns, seed: 20261201 },
  );
}

test("the core's typed entry answers as the kernel layer does, command by command, with the same end state (6.18)", () => {
  runs("6.18", 1 << 20, 150);
});

test("the same near the frame limit: a fault past the headroom the kernel layer granted goes its way (ENOMEM, SIGBUS)", () => {
  runs("6.18", 6, 150);
});

test("the same with a sw_protected VM whose attribute lives in the VM (6.18+swprot): its accesses stay with the kernel layer", () => {
  runs("6.18+swprot", 40, 100);
});

test("the same with in-place conversion (next+swprot): a default VM's accesses read the attribute through the binding (DERIVED)", () => {
  runs("next+swprot", 40, 100);
});

test("a VM closed between runs is EBADF on the next run: the table is rewritten for every run", () => {
  const w = world("wasm", "6.18", 1 << 20);
  const V = 1; // vm b
  const first = w.t.run(new Float64Array([TYPED_WRITE, V, 0x100 * P, 7]));
  assert.is(first[0], 0);
  w.changes[0]();
  const second = w.t.run(new Float64Array([TYPED_WRITE, V, 0x100 * P, 7, TYPED_READ, 0, 0, 0]));
  assert.is(second[0], ERRNO.EBADF);
  assert.is(second[TYPED_RES_WORDS], 0, "the next command, on an open VM, still runs");
});

test("a run whose changes are noted goes the kernel layer's way, and the notes see it", () => {
  const w = world("wasm", "6.18", 1 << 20);
  const core = w.sim.host.core;
  core.trackChanges(true);
  w.t.run(new Float64Array([TYPED_ALLOCATE, 2, 3 * P, P]));
  const notes = Array.from(core.changes());
  core.trackChanges(false);
  // CHG_PAGES, inode, start, end, ...: the allocate's page range [3, 4), as the change log notes an ALLOCATE.
  const noted = notes.some((w, k) => w === A.CHG_PAGES && notes[k + 2] === 3 && notes[k + 3] === 4);
  assert.ok(noted, "the allocate's pages were noted");
});

test.run();
