/**
 * The checker after each op looks only at what the op changed (the core's
 * change log, core-abi.ts); the whole-state check stays, and these tests hold
 * the first to the second: same first failure on random traces, a change log
 * that misses something caught, an engine bug caught at the op that shows it,
 * and reports that name objects as the trace did.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import * as A from "../src/abi/core-abi.js";
import type { Core } from "../src/core/core.js";
import { EngineCore } from "../src/core/engine.js";
import { ReferenceCore } from "../src/core/reference/index.js";
import { Simulator } from "../src/api/simulator.js";
import { Checker, checkInvariants, checkSecurity } from "../src/check/checker.js";
import { CoreState, Ids, coverageDiff, type Touched } from "../src/check/state.js";
import { render, type Violation } from "../src/check/violation.js";
import { checkInPlace } from "../src/check/inplace.js";
import { RunList } from "../src/check/runs.js";
import { BlockList } from "../src/sorted.js";
import { DEFAULT_SEQUENCE_WEIGHTS, traceArbitrary } from "../src/fuzz/arbitraries.js";
import { loadPolicy } from "../src/policy/load.js";
import type { Policy } from "../src/policy/types.js";

const flawed = (await loadPolicy("examples/policies/flawed.mjs")) as Policy;
const makeCore = (engine: "wasm" | "reference"): Core => (engine === "wasm" ? new EngineCore() : new ReferenceCore());

/** A core that passes every command on, except those `drop` names (replaced by a no-op, so result indexes stay), and may edit its change stream. */
class FaultyCore implements Core {
  constructor(
    readonly inner: Core,
    private readonly drop: (op: number) => boolean,
    private readonly editChanges: (s: Float64Array) => Float64Array = (s) => s,
  ) {}
  get kind() {
    return this.inner.kind;
  }
  get results() {
    return this.inner.results;
  }
  get onFlush() {
    return this.inner.onFlush;
  }
  set onFlush(f) {
    this.inner.onFlush = f;
  }
  push(op: number, a?: number, b?: number, c?: number, d?: number, e?: number, f?: number, g?: number): number {
    return this.drop(op) ? this.inner.push(A.OP_STATS_HOST) : this.inner.push(op, a, b, c, d, e, f, g);
  }
  flush(): void {
    this.inner.flush();
  }
  now(op: number, a?: number, b?: number, c?: number, d?: number, e?: number, f?: number, g?: number): number {
    const i = this.push(op, a, b, c, d, e, f, g);
    this.flush();
    return i;
  }
  snapshot(): Float64Array {
    return this.inner.snapshot();
  }
  memoryBytes(): number {
    return this.inner.memoryBytes();
  }
  reset(): boolean {
    return this.inner.reset();
  }
  trackChanges(on: boolean): void {
    this.inner.trackChanges(on);
  }
  changes(): Float64Array {
    return this.editChanges(this.inner.changes());
  }
}

/** The index of the first op after which a check reports something, and the rules it reports then. */
function firstFailure(trace: Array<Record<string, unknown>>, engine: "wasm" | "reference", mode: "step" | "whole", policy: Policy) {
  const sim = new Simulator({ core: makeCore(engine), policy });
  const checker = mode === "step" ? new Checker(sim.host) : null;
  for (let k = 0; k < trace.length; k++) {
    sim.apply([trace[k]]);
    const rules = checker
      ? (({ invariants, security }) => [...invariants, ...security].map((v) => v.rule))(checker.step())
      : [...checkInvariants(sim.host), ...checkSecurity(sim.host)].map((t) => t.split(":")[0]);
    if (rules.length) return { at: k, rules: [...new Set(rules)].sort() };
  }
  return null;
}

for (const engine of ["wasm", "reference"] as const) {
  test(`the per-op check finds the first failure where a whole-state check after every op finds it, on random traces under a flawed policy (${engine})`, () => {
    let failing = 0;
    fc.assert(
      fc.property(traceArbitrary({ maxLength: 40, sequences: DEFAULT_SEQUENCE_WEIGHTS }), (trace) => {
        const step = firstFailure(trace, engine, "step", flawed);
        const whole = firstFailure(trace, engine, "whole", flawed);
        assert.equal(step, whole);
        if (step) failing++;
      }),
      { numRuns: engine === "wasm" ? 200 : 150, seed: 11 },
    );
    assert.ok(failing >= 3, `traces that broke a property: ${failing}`);
  });

  test(`the state kept from the change log equals a full snapshot after random traces (${engine})`, () => {
    fc.assert(
      fc.property(traceArbitrary({ maxLength: 48, sequences: DEFAULT_SEQUENCE_WEIGHTS }), (trace) => {
        const sim = new Simulator({ core: makeCore(engine) });
        const checker = new Checker(sim.host);
        for (const op of trace) {
          sim.apply([op]);
          checker.step();
        }
        assert.equal(checker.full().invariants.map((v) => render(v)), []);
      }),
      { numRuns: engine === "wasm" ? 200 : 60, seed: 12 },
    );
  });
}

test("a per-op check told the last check was clean still checks an op whose change stream is only its closing counts, when they moved", () => {
  // Drop the CHG_PAGES records: the allocate's stream is then CHG_END alone, with two more gmem pages than kept.
  const onlyEnd = (s: Float64Array) => {
    let i = 0;
    while (s[i] === A.CHG_PAGES) i += 5 + s[i + 4] * 5;
    return s.subarray(i);
  };
  let editing = false;
  const core = new FaultyCore(new EngineCore(), () => false, (s) => (editing ? onlyEnd(s) : s));
  const sim = new Simulator({ core });
  const checker = new Checker(sim.host);
  sim.apply([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: [] },
  ]);
  assert.equal(checker.step(true).invariants, []);
  editing = true;
  sim.apply([{ op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 8192 }]);
  assert.equal(checker.step(true).invariants.map((v) => v.rule), ["3 accounting"]);
});

test("a change log that misses a page is caught by the full check", () => {
  // Drop every CHG_PAGES record from the engine's stream: the kept state then lacks the pages allocate made.
  const dropPages = (s: Float64Array) => {
    const out: number[] = [];
    for (let i = 0; i < s.length; ) {
      const tag = s[i];
      if (tag === A.CHG_PAGES) i += 5 + s[i + 4] * 5;
      else {
        const len = tag === A.CHG_END ? 5 : s.length - i; // only CHG_PAGES and CHG_END come in this trace's last op
        out.push(...s.subarray(i, i + len));
        i += len;
      }
    }
    return Float64Array.from(out);
  };
  let editing = false;
  const core = new FaultyCore(new EngineCore(), () => false, (s) => (editing ? dropPages(s) : s));
  const sim = new Simulator({ core });
  sim.apply([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: [] },
  ]);
  const checker = new Checker(sim.host);
  checker.step();
  editing = true;
  sim.apply([{ op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 8192 }]);
  const step = checker.step();
  assert.equal(step.invariants.map((v) => v.rule), ["3 accounting"], "the per-op totals already disagree");
  editing = false;
  const full = checker.full();
  assert.equal(full.invariants.map((v) => v.rule), ["0 change log"]);
  assert.match(render(full.invariants[0]), /inode 0 pgoff 0: kept absent, snapshot pfn 1/);
});

/** A checker after a few ops that leave pages, SPTEs and private runs, with its kept state (a test reaches into it to damage it). */
function keptAfterOps(): { checker: Checker; kept: CoreState } {
  const sim = new Simulator({ core: new EngineCore() });
  const checker = new Checker(sim.host);
  for (const op of [
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP"] },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 5 },
    { op: "vcpu_access", vm: "a", gpa: 8192, access: "read" },
  ]) {
    sim.apply([op]);
    assert.equal(checker.step().invariants, []);
  }
  return { checker, kept: (checker as unknown as { state: CoreState }).state };
}

// The full check compares the kept state with a snapshot and then checks the kept state itself: its indexes must
// be those a state built from the snapshot has (they were rebuilt from the snapshot before, so nothing checked them).
test("a kept index of pages by pfn that lost a page is caught by the full check", () => {
  const { checker, kept } = keptAfterOps();
  const pfn = [...kept.byPfn.keys()][0];
  kept.byPfn.delete(pfn);
  const full = checker.full();
  assert.equal(full.invariants.map((v) => v.rule), ["0 change log"]);
  assert.match(render(full.invariants[0]), new RegExp(`index of pages by pfn misses pfn ${pfn}`));
});

test("a kept index of SPTEs by pfn that lost an SPTE is caught by the full check", () => {
  const { checker, kept } = keptAfterOps();
  const [pfn] = [...kept.mappers][0];
  kept.mappers.delete(pfn);
  const full = checker.full();
  assert.equal(full.invariants.map((v) => v.rule), ["0 change log"]);
  assert.match(render(full.invariants[0]), /index of SPTEs by pfn misses/);
});

test("a kept index of memslots by gfn that lost a memslot is caught by the full check", () => {
  const { checker, kept } = keptAfterOps();
  const vm = [...kept.vms.values()][0];
  vm.byGfn = new BlockList();
  const full = checker.full();
  assert.equal(full.invariants.map((v) => v.rule), ["0 change log"]);
  assert.match(render(full.invariants[0]), /memslots by gfn differs/);
});

test("kept counts of held pages that drifted are caught by the full check", () => {
  const { checker, kept } = keptAfterOps();
  kept.heldGmem++;
  assert.equal(checker.full().invariants.map((v) => v.rule), ["0 change log"]);
});

test("kept private runs the snapshot does not have are caught by the full check", () => {
  const { checker, kept } = keptAfterOps();
  kept.attrs.set([...kept.inodes.keys()][0], RunList.from([[0, 1]]));
  const full = checker.full();
  assert.equal(full.invariants.map((v) => v.rule), ["0 change log"]);
  assert.match(render(full.invariants[0]), /private runs differ/);
});

test("a kept file or VM the snapshot does not have is caught by the full check, named", () => {
  for (const kind of ["files", "vms"] as const) {
    const { checker, kept } = keptAfterOps();
    const table = kept[kind] as Map<number, unknown>;
    table.set(99, { ...(table.values().next().value as object), id: 99 });
    const full = checker.full();
    assert.equal(full.invariants.map((v) => v.rule), ["0 change log"], kind);
    assert.match(render(full.invariants[0]), kind === "files" ? /file 99 differs/ : /vm 99 is in the kept state only/, kind);
  }
});

test("a checker told its core is empty when it is not is caught by the full check (the objects are in the snapshot only)", () => {
  const sim = new Simulator({ core: new EngineCore() });
  sim.apply([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: [] },
  ]);
  const checker = new Checker(sim.host, true);
  const full = checker.full();
  assert.equal(full.invariants.map((v) => v.rule), ["0 change log"]);
  assert.match(render(full.invariants[0]), /is in the snapshot only/);
});

/**
 * Runs `setup` on the reference model with a per-op check after each op (all clean), then `op` with the model's
 * method `lost` made a no-op for it (a step of the core's that a bug left out); returns the per-op check's
 * invariant violations after it, rendered.
 */
function afterLostStep(setup: object[], lost: string, op: (sim: Simulator) => void): string[] {
  const core = new ReferenceCore();
  const sim = new Simulator({ core });
  const checker = new Checker(sim.host);
  const before = setup.map((o) => (sim.apply([o]), checker.step()));
  assert.equal(before.flatMap((r) => r.invariants.map((v) => render(v))), []);
  const model = core.model as unknown as Record<string, unknown>;
  const kept = model[lost];
  assert.type(kept, "function", lost);
  model[lost] = () => {};
  try {
    op(sim);
  } finally {
    model[lost] = kept;
  }
  return checker.step().invariants.map((v) => render(v));
}

const applied = (op: object) => (sim: Simulator) => assert.equal(sim.apply([op])[0].ret, 0);

test("a copy-on-write that forgets its MMU notifier is caught at the store that copies, by the per-op check", () => {
  const setup = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "memfd", as: "f", size: 16384 },
    { op: "mmap", fd: "f", as: "p", offset: 0, len: 16384, prot: "rw", shared: false },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: 0, guest_phys_addr: 0, memory_size: 16384, userspace_addr: { map: "p" } },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "read" },
  ];
  // The copy's notifier is lost: the guest's SPTE stays on the file's page.
  const said = afterLostStep(setup, "invalidateHva", applied({ op: "store", map: "p", offset: 4096, value: 9 }));
  assert.ok(said.some((v) => v.startsWith("1 no stale mapping")), said.join("; "));
});

test("a donation whose notifier forgets a host mapping of the donor file is caught at the donation, through another VM's memslot over that mapping, by the per-op check", () => {
  const setup = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_vm", as: "b", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
    { op: "mmap", fd: "g", as: "p", offset: 0, len: 65536, prot: "rw", shared: true },
    // VM b reaches a's file only through the host mapping (the shared path): no VM of the file sees its SPTE.
    { op: "set_user_memory_region2", vm: "b", slot: 0, flags: 0, guest_phys_addr: 0, memory_size: 65536, userspace_addr: { map: "p" } },
    { op: "vcpu_access", vm: "b", gpa: 4096, access: "write", value: 5 },
  ];
  // The donation blocks page 1 of g; its notifier over g's host mappings is lost, so b's SPTE stays on a page g no
  // longer reaches.
  const said = afterLostStep(setup, "notifyMaps", applied({ op: "gmem_link", fd: "g", vm: "a", as: "h", perm: ["r"], offset: 4096, len: 4096, mode: "donate" }));
  assert.ok(said.some((v) => v.startsWith("1 no stale mapping") && v.includes("SPTE vm 1 ")), said.join("; "));
});

test("a memslot delete that leaves its SPTEs is caught at the delete, by the per-op check looking at that memslot's gfns", () => {
  const setup = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP"] },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 32768, guest_memfd: "g" },
    { op: "set_user_memory_region2", vm: "a", slot: 1, flags: "GUEST_MEMFD", guest_phys_addr: 1048576, memory_size: 32768, guest_memfd: "g", guest_memfd_offset: 32768 },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 1 },
    { op: "vcpu_access", vm: "a", gpa: 1048576 + 8192, access: "write", value: 2 },
  ];
  // The delete's zap (KVM_X86_QUIRK_SLOT_ZAP_ALL: the whole VM) is lost.
  const said = afterLostStep(setup, "zapAll", applied({ op: "set_user_memory_region2", vm: "a", slot: 1, flags: 0, guest_phys_addr: 0, memory_size: 0, userspace_addr: 0 }));
  // Slot 0's SPTE still reaches its page; slot 1's lies in no memslot now.
  assert.equal(said, ["1 no stale mapping: SPTE vm 0 gfn 0x102 -> pfn 2 lies in no memslot"]);
});

for (const engine of ["wasm", "reference"] as const) {
  test(`the state kept from the change log follows a memslot moved and deleted, as a snapshot has it, through a LOG_DIRTY_PAGES toggle the core does not keep (${engine})`, () => {
    const sim = new Simulator({ core: makeCore(engine) });
    const checker = new Checker(sim.host);
    const slot = (gpa: number, flags: string | number) => ({ op: "set_user_memory_region2", vm: "a", slot: 3, flags, guest_phys_addr: gpa, memory_size: 65536, userspace_addr: { map: "m" } });
    const ops = [
      { op: "create_vm", as: "a", type: "default" },
      { op: "anon_map", as: "m", len: 65536 },
      slot(1 << 20, 0),
      { op: "set_user_memory_region2", vm: "a", slot: 1, flags: 0, guest_phys_addr: 1 << 24, memory_size: 65536, userspace_addr: { map: "m" } },
      { op: "vcpu_access", vm: "a", gpa: (1 << 20) + 4096, access: "write", value: 1 },
      slot(1 << 21, 0),
      { op: "vcpu_access", vm: "a", gpa: (1 << 21) + 8192, access: "read" },
      slot(1 << 21, "LOG_DIRTY_PAGES"),
      { op: "set_user_memory_region2", vm: "a", slot: 1, flags: 0, guest_phys_addr: 0, memory_size: 0, userspace_addr: 0 },
    ];
    for (const op of ops) {
      assert.is(sim.apply([op])[0].ret, 0, JSON.stringify(op));
      assert.equal(checker.step().invariants.map((v) => render(v)), [], JSON.stringify(op));
      // The full check compares the kept state with a snapshot, record by record.
      assert.equal(checker.full().invariants.map((v) => render(v)), [], JSON.stringify(op));
    }
  });
}

test("coverageDiff gives exactly the pages one list of runs covers and the other does not, each way, as runs", () => {
  // As the core lists blocked windows (core-abi.ts): ascending runs, apart or touching.
  const ranges = fc.array(fc.tuple(fc.nat(6), fc.integer({ min: 1, max: 8 })), { maxLength: 6 }).map((gaps) => {
    let at = 0;
    return gaps.map(([gap, n]) => [(at += gap), (at += n)] as [number, number]);
  });
  const pages = (list: Array<[number, number]>) => list.flatMap(([s, e]) => Array.from({ length: e - s }, (_, k) => s + k));
  fc.assert(
    fc.property(ranges, ranges, (a, b) => {
      const covered = (list: Array<[number, number]>, p: number) => list.some(([s, e]) => p >= s && p < e);
      const gained: number[] = [];
      const lost: number[] = [];
      for (let p = 0; p < 120; p++) {
        if (covered(b, p) && !covered(a, p)) gained.push(p);
        if (covered(a, p) && !covered(b, p)) lost.push(p);
      }
      const d = coverageDiff(a, b);
      assert.equal(pages(d.gained), gained);
      assert.equal(pages(d.lost), lost);
      // Runs, not pieces: none starts where the one before it ends.
      for (const list of [d.gained, d.lost]) for (let k = 1; k < list.length; k++) assert.ok(list[k][0] > list[k - 1][1], JSON.stringify(list));
    }),
    { numRuns: 800, seed: 5 },
  );
});

/** Two VMs, a's gmem file g bound whole in a's slot 0: the donor's side of the donation tests. */
const DONOR_SETUP = [
  { op: "create_vm", as: "a", type: "default" },
  { op: "create_vm", as: "b", type: "default" },
  { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP"] },
  { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
];

test("a donation whose zap of the donor's bindings is lost is caught at the donation, over the donated window's gfns", () => {
  const setup = [
    ...DONOR_SETUP,
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 1 },
    { op: "vcpu_access", vm: "a", gpa: 8192, access: "write", value: 2 },
  ];
  // Page 1 is donated to b; the zap of a's SPTE there is lost, while page 2's SPTE stays rightly.
  const said = afterLostStep(setup, "zapFileRange", applied({ op: "gmem_link", fd: "g", vm: "b", as: "h", perm: ["r", "w"], offset: 4096, len: 4096, mode: "donate" }));
  assert.equal(said, ["1 no stale mapping: SPTE vm 0 gfn 0x1 -> pfn 1 (slot 0) points at no page reachable through its slot"]);
});

test("a punch whose zap is lost is caught at the punch in every VM that mapped the page, one SPTE or several per frame", () => {
  const shared = [
    ...DONOR_SETUP,
    { op: "gmem_link", fd: "g", vm: "b", as: "h", perm: ["r", "w"], mode: "share" },
    { op: "set_user_memory_region2", vm: "b", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "h" },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 1 },
    { op: "vcpu_access", vm: "b", gpa: 4096, access: "read" },
  ];
  const punch = applied({ op: "fallocate", fd: "g", mode: ["PUNCH_HOLE", "KEEP_SIZE"], offset: 4096, len: 4096 });
  // The frame both VMs map (the checker's index of SPTEs by pfn holds several for it), then only a's.
  const both = afterLostStep(shared, "zapFileRange", punch);
  assert.equal(both.length, 2, both.join("; "));
  assert.ok(both.some((v) => v.includes("SPTE vm 0 gfn 0x1 ")) && both.some((v) => v.includes("SPTE vm 1 gfn 0x1 ")), both.join("; "));
  const one = afterLostStep(shared.slice(0, -1), "zapFileRange", punch);
  assert.equal(one.length, 1, one.join("; "));
  assert.match(one[0], /SPTE vm 0 gfn 0x1 /);
});

test("a donor file that stops blocking a window it donated is caught at that change, through the donations of that file", () => {
  const core = new ReferenceCore();
  const sim = new Simulator({ core });
  const checker = new Checker(sim.host);
  const ops = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_vm", as: "b", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP"] },
    { op: "gmem_link", fd: "g", vm: "b", as: "h", perm: ["r"], offset: 4096, len: 4096, mode: "donate" },
    { op: "gmem_link", fd: "g", vm: "b", as: "k", perm: ["r"], offset: 16384, len: 8192, mode: "donate" },
  ];
  const before = ops.map((op) => (sim.apply([op]), checker.step()));
  assert.equal(before.flatMap((r) => [...r.invariants, ...r.security].map((v) => render(v))), []);
  // The core forgets g's second window (the model's record edited; a command that notes g changed carries it
  // into the change log, and no host event is recorded).
  const model = core.model as unknown as { s: { files: Map<number, { blocked: Array<[number, number]> }> } };
  model.s.files.get(0)!.blocked = [[1, 2]];
  sim.host.core.push(A.OP_FILE_SET_RIGHTS, 0, A.RIGHTS_ALL);
  sim.host.core.flush();
  const r = checker.step();
  assert.equal([...r.invariants, ...r.security].map((v) => render(v)), ["3 donation is final: file 0 (vm 0) can still reach the window [4, 6) it donated"]);
});

test("a file whose rights shrink with its SPTEs left in place is caught at that change, through its bindings' gfns", () => {
  const setup = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "big", size: 1 << 24, flags: ["MMAP"] },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP"] },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 1 << 24, guest_memfd: "big" },
    { op: "set_user_memory_region2", vm: "a", slot: 1, flags: "GUEST_MEMFD", guest_phys_addr: 1 << 30, memory_size: 65536, guest_memfd: "g" },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 1 },
    { op: "vcpu_access", vm: "a", gpa: (1 << 30) + 4096, access: "write", value: 2 },
  ];
  // g's rights drop to read-only and the zap over its bindings that goes with it is lost (a command sent straight
  // to the core: no host event is recorded, so no VM is looked at whole).
  const said = afterLostStep(setup, "zapFileRange", (sim) => {
    sim.host.core.push(A.OP_FILE_SET_RIGHTS, 1, A.RIGHT_R);
    sim.host.core.flush();
  });
  assert.equal(said, [`1 no stale mapping: SPTE vm 0 gfn 0x40001 -> pfn 2 has rights ${A.RIGHT_R | A.RIGHT_W} beyond the file's ${A.RIGHT_R}`]);
});

test("a file whose blocked ranges grow with its SPTEs left in place is caught at that change, through the bindings over the new range only", () => {
  const setup = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 1 << 20, flags: ["MMAP"] },
    // Two bindings of g: the block reaches one of them.
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g", guest_memfd_offset: 0 },
    { op: "set_user_memory_region2", vm: "a", slot: 1, flags: "GUEST_MEMFD", guest_phys_addr: 1 << 30, memory_size: 65536, guest_memfd: "g", guest_memfd_offset: 65536 },
    { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 1 },
    { op: "vcpu_access", vm: "a", gpa: (1 << 30) + 8192, access: "write", value: 2 },
  ];
  // g blocks pages [17, 19) (a donation's FILE_BLOCK, sent straight to the core: no host event, so no donation is
  // looked at) and the zap that goes with it is lost: memslot 1's SPTE at gfn 0x40002 (page 18) stays.
  const said = afterLostStep(setup, "zapFileRange", (sim) => {
    sim.host.core.push(A.OP_FILE_BLOCK, 0, 17, 19);
    sim.host.core.flush();
  });
  assert.equal(said, ["1 no stale mapping: SPTE vm 0 gfn 0x40002 -> pfn 2 (slot 1) points at no page reachable through its slot"]);
});

for (const engine of ["wasm", "reference"] as const) {
  test(`a core that forgets kvm_gmem_release() is caught at the close that shows it, by the per-op check (${engine})`, () => {
    const core = new FaultyCore(makeCore(engine), (op) => op === A.OP_FILE_RELEASE);
    const sim = new Simulator({ core });
    const checker = new Checker(sim.host);
    const ops = [
      { op: "create_vm", as: "a", type: "default" },
      { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP"] },
      { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
      { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 5 },
      { op: "close", fd: "g" },
    ];
    const reports = ops.map((op) => (sim.apply([op]), checker.step()));
    assert.equal(reports.slice(0, 4).map((r) => r.invariants.length), [0, 0, 0, 0]);
    // The inode went with its last file, but the SPTE the release should have zapped still maps its freed page.
    assert.ok(reports[4].invariants.some((v) => v.rule === "1 no stale mapping"), JSON.stringify(reports[4]));
    assert.ok(reports[4].security.some((v) => v.rule === "5 no use after free"), JSON.stringify(reports[4]));
  });

  test(`a core that forgets kvm_gmem_release() at a gmem_unbind is caught there: the VM still maps the inode it gave up (${engine})`, () => {
    const core = new FaultyCore(makeCore(engine), (op) => op === A.OP_FILE_RELEASE);
    const sim = new Simulator({ core, design: "system" });
    const checker = new Checker(sim.host);
    const ops = [
      { op: "create_vm", as: "a", type: "default" },
      { op: "create_vm", as: "b", type: "default" },
      { op: "create_guest_memfd_system", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
      { op: "gmem_bind", fd: "g", vm: "a" },
      { op: "gmem_bind", fd: "g", vm: "b" },
      // Memslots of a over other files as well: what the check reads is the given-up file's bindings, not all of a.
      { op: "create_guest_memfd", vm: "a", as: "other", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
      { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "other" },
      { op: "set_user_memory_region2", vm: "a", slot: 1, flags: "GUEST_MEMFD", guest_phys_addr: 1 << 20, memory_size: 65536, guest_memfd: "g" },
      { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 4 },
      { op: "vcpu_access", vm: "a", gpa: (1 << 20) + 8192, access: "write", value: 5 },
      { op: "gmem_unbind", fd: "g", vm: "a" },
    ];
    const reports = ops.map((op) => (sim.apply([op]), checker.step()));
    assert.equal(reports.slice(0, 10).map((r) => r.security.length), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const said = reports[10].security.map((v) => render(v));
    assert.equal(said, ["3 donation is final: vm 0 maps gfn 0x102 of inode 0, which it gave up by gmem_unbind"]);
  });

  test(`a core that forgets to block a donated window is caught at the donation, by the per-op check (${engine})`, () => {
    const core = new FaultyCore(makeCore(engine), (op) => op === A.OP_FILE_BLOCK);
    const sim = new Simulator({ core });
    const checker = new Checker(sim.host);
    const ops = [
      ...DONOR_SETUP,
      { op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 5 },
      { op: "gmem_link", fd: "g", vm: "b", as: "gb", perm: ["r", "w"], offset: 0, len: 16384, mode: "donate" },
    ];
    const reports = ops.map((op) => (sim.apply([op]), checker.step()));
    assert.equal(reports.slice(0, 5).map((r) => r.security.length), [0, 0, 0, 0, 0]);
    // FILE_BLOCK never ran: the donor still maps gfn 1 of the window, and its file still reaches the window.
    const said = reports[5].security.map((v) => render(v));
    assert.ok(said.includes("3 donation is final: vm 0 maps gfn 0x1 in the window [0, 4) file 0 donated"), said.join("; "));
    assert.ok(said.includes("3 donation is final: file 0 (vm 0) can still reach the window [0, 4) it donated"), said.join("; "));
  });

  test(`a donor's shared access through userspace_addr maps the anon page, not the donated window (${engine})`, () => {
    // A default VM's accesses are shared, and a memslot bound to a file without MMAP is not gmem-only: the gfn
    // maps the page of userspace_addr, so the donated window of the file stays unmapped (SPEC §2 vcpu_access).
    const sim = new Simulator({ core: makeCore(engine) });
    const checker = new Checker(sim.host);
    const ops = [
      { op: "create_vm", as: "a", type: "default" },
      { op: "create_vm", as: "b", type: "default" },
      { op: "create_guest_memfd", vm: "a", as: "g", size: 131072, flags: 0 },
      { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, userspace_addr: { anon: "m" }, guest_memfd: "g", guest_memfd_offset: 4096 },
      { op: "gmem_link", fd: "g", vm: "b", as: "gb", perm: ["r", "w"], offset: 8192, len: 16384, mode: "donate" },
      { op: "vcpu_access", vm: "a", gpa: 8192, access: "write", value: 7 },
      { op: "vcpu_access", vm: "a", gpa: 4096, access: "exec" },
    ];
    const results: Array<{ ret?: number }> = [];
    const reports = ops.map((op) => (results.push(sim.apply([op])[0] as { ret?: number }), checker.step()));
    assert.equal(results.map((r) => r.ret), [0, 0, 0, 0, 0, 0, 0], JSON.stringify(results));
    assert.equal(reports.flatMap((r) => r.security.map((v) => render(v))), []);
    assert.equal(checker.full().security.map((v) => render(v)), []);
  });

  test(`a pfn freed and reused within one batch is not taken for a pfn held twice (${engine})`, () => {
    const core = makeCore(engine);
    core.push(A.OP_VM_CREATE, 0);
    core.push(A.OP_INODE_CREATE, 0, 16, A.INODE_GMEM, 0);
    core.push(A.OP_INODE_CREATE, 1, 16, A.INODE_GMEM, 0);
    core.push(A.OP_ALLOCATE, 0, 0, 1);
    core.flush();
    core.trackChanges(true);
    const kept = CoreState.fromSnapshot(core.snapshot());
    // One batch: inode 1 takes the frame inode 0 gives back (the free stack is LIFO), its record first.
    core.push(A.OP_ALLOCATE, 1, 3, 4);
    core.push(A.OP_PUNCH, 0, 0, 1);
    core.push(A.OP_ALLOCATE, 1, 5, 6);
    const touched = kept.apply(core.changes());
    assert.equal(touched.doubled, []);
    const fresh = CoreState.fromSnapshot(core.snapshot());
    assert.equal([...kept.byPfn.keys()].sort(), [...fresh.byPfn.keys()].sort());
    assert.equal(kept.byPfn.get(1), { inode: 1, pgoff: 5, pfn: 1, flags: 0, ctx: 0 });
  });
}

/** Applies ops one at a time, each succeeding and leaving the per-op check clean. */
function applyClean(sim: Simulator, checker: Checker, ops: object[]): void {
  for (const op of ops) {
    const [r] = sim.apply([op]);
    assert.is(r.ret, 0, JSON.stringify(r));
    assert.equal(checker.step().invariants, []);
  }
}

/** A VM whose memory is a gmem file converted in place (profile next): a sw_protected VM, its file (MMAP, INIT_SHARED) bound whole. */
const CONVERTING = [
  { op: "create_vm", as: "a", type: "sw_protected" },
  { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
  { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
];

/** The change stream without its CHG_SPTES records. */
const withoutSptes = (s: Float64Array) => withoutRecords(s, A.CHG_SPTES);

/** The change stream without its records of one kind (every record walked by its length, core-abi.ts "Change log"). */
function withoutRecords(s: Float64Array, drop: number): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const tag = s[i];
    let len: number;
    if (tag === A.CHG_SPTES) len = 5 + s[i + 4] * 3;
    else if (tag === A.CHG_PAGES) len = 5 + s[i + 4] * 5;
    else if (tag === A.CHG_INODE) len = 6 + s[i + 5] * 2;
    else if (tag === A.CHG_ATTRS || tag === A.CHG_BLOCKED) len = 5 + s[i + 4] * 2;
    else if (tag === A.CHG_SLOT) len = s[i + 3] === 1 ? 10 : 4;
    else if (tag === A.CHG_BINDING) len = 5;
    else if (tag === A.CHG_FILE) len = 6 + s[i + 5] * 3 + 1 + s[i + 6 + s[i + 5] * 3] * 2;
    else if (tag === A.CHG_VM) len = 3 + s[i + 2] * 7 + 1;
    else if (tag === A.CHG_MAP) len = 9;
    else if (tag === A.CHG_GONE) len = 3;
    else len = s.length - i; // CHG_END closes the stream
    if (tag !== drop) out.push(...s.subarray(i, i + len));
    i += len;
  }
  return Float64Array.from(out);
}

for (const engine of ["wasm", "reference"] as const) {
  test(`with in-place conversion, a conversion whose zap the kept state never saw is caught by the per-op check, through the inode's bindings (kvm_gmem_set_attributes()) (${engine})`, () => {
    let editing = false;
    const core = new FaultyCore(makeCore(engine), () => false, (s) => (editing ? withoutSptes(s) : s));
    const sim = new Simulator({ core, kernel: "next+swprot" });
    const checker = new Checker(sim.host);
    applyClean(sim, checker, [...CONVERTING, { op: "vcpu_access", vm: "a", gpa: 4096, access: "read" }]);
    // The conversion zaps gfn 1's shared SPTE in the core; the kept state, missing that record, still maps it shared.
    editing = true;
    const [r] = sim.apply([{ op: "set_memory_attributes2", fd: "g", offset: 4096, size: 4096, attributes: "PRIVATE" }]);
    assert.is(r.ret, 0, JSON.stringify(r));
    const said = checker.step().invariants.map((v) => render(v));
    assert.ok(said.some((t) => /^1 no stale mapping: vm 0 gfn 0x1 is mapped shared, but inode 0 page 1 is PRIVATE \(in-place conversion\)$/.test(t)), said.join("; "));
  });
}

/** A checker on profile next's in-place conversion, after `ops`, with the Touched of each later step recorded. */
function convertingChecker(ops: object[]): { sim: Simulator; checker: Checker; kept: CoreState; touched: () => Touched } {
  const sim = new Simulator({ core: new EngineCore(), kernel: "next+swprot" });
  const checker = new Checker(sim.host);
  applyClean(sim, checker, ops);
  const kept = (checker as unknown as { state: CoreState }).state;
  let last: Touched | null = null;
  const apply = kept.apply.bind(kept);
  kept.apply = (s) => (last = apply(s));
  return { sim, checker, kept, touched: () => last! };
}

test("with in-place conversion, the per-op check looks at the pages a conversion changed, not at every run of the inode", () => {
  const { sim, checker, touched } = convertingChecker(CONVERTING);
  const convert = (offset: number, size: number, attributes: string | number) => {
    const [r] = sim.apply([{ op: "set_memory_attributes2", fd: "g", offset, size, attributes }]);
    assert.is(r.ret, 0, JSON.stringify(r));
    assert.equal(checker.step().invariants, []);
    return touched().converted;
  };
  assert.equal(convert(0, 8192, "PRIVATE"), [0, 0, 2]);
  assert.equal(convert(8 * 4096, 3 * 4096, "PRIVATE"), [0, 8, 11], "a second run: only its pages");
  // Pages 1..9: 1 and 8 were private already; 2..7 become private, joining the two runs into one.
  assert.equal(convert(4096, 9 * 4096, "PRIVATE"), [0, 2, 8]);
  assert.equal(convert(4 * 4096, 2 * 4096, 0), [0, 4, 6], "back to shared: the hole it makes");
  // A conversion that changes nothing (already shared) changes no page.
  assert.equal(convert(14 * 4096, 4096, 0), []);
});

for (const engine of ["wasm", "reference"] as const) {
  test(`with in-place conversion, the runs kept from CHG_ATTRS records equal the snapshot's after batches of conversions that merge and split runs (${engine})`, () => {
    const conversion = fc.record({ at: fc.nat(63), pages: fc.integer({ min: 1, max: 8 }), toPrivate: fc.boolean() });
    fc.assert(
      fc.property(fc.array(fc.array(conversion, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }), (batches) => {
        const sim = new Simulator({ core: makeCore(engine), kernel: "next+swprot" });
        const checker = new Checker(sim.host);
        sim.apply(CONVERTING.map((o) => (o.op === "create_guest_memfd" ? { ...o, size: 72 * 4096 } : o.op === "set_user_memory_region2" ? { ...o, memory_size: 72 * 4096 } : o)));
        checker.step();
        for (const batch of batches) {
          // One apply: the change stream of the batch holds a CHG_ATTRS record per conversion, all for the one inode.
          const res = sim.apply(batch.map((c) => ({ op: "set_memory_attributes2", fd: "g", offset: c.at * 4096, size: c.pages * 4096, attributes: c.toPrivate ? "PRIVATE" : 0 })));
          for (const r of res) assert.is(r.ret, 0, JSON.stringify(r));
          assert.equal(checker.step().invariants, []);
        }
        const full = checker.full();
        assert.equal(full.invariants.map((v) => render(v)), []);
      }),
      { numRuns: 60, seed: 5 },
    );
  });
}

for (const engine of ["wasm", "reference"] as const) {
  test(`the blocked ranges kept from CHG_BLOCKED records equal the snapshot's after batches of donations that merge with their neighbours or stand apart (${engine})`, () => {
    const donation = fc.record({ at: fc.nat(63), pages: fc.integer({ min: 1, max: 4 }) });
    fc.assert(
      fc.property(fc.array(fc.array(donation, { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 4 }), (batches) => {
        const sim = new Simulator({ core: makeCore(engine) });
        const checker = new Checker(sim.host);
        sim.apply([...DONOR_SETUP.slice(0, 2), { op: "create_guest_memfd", vm: "a", as: "g", size: 72 * 4096, flags: ["MMAP"] }]);
        checker.step();
        let n = 0;
        for (const batch of batches) {
          // One apply: a CHG_BLOCKED record per donation the default policy lets through (one over a donated page is EPERM).
          const res = sim.apply(batch.map((d) => ({ op: "gmem_link", fd: "g", vm: "b", as: `d${n++}`, perm: ["r"], offset: d.at * 4096, len: d.pages * 4096, mode: "donate" })));
          for (const r of res) assert.ok(r.ret === 0 || r.errno === "EPERM", JSON.stringify(r));
          assert.equal(checker.step().invariants, []);
        }
        assert.equal(checker.full().invariants.map((v) => render(v)), []);
      }),
      { numRuns: 60, seed: 6 },
    );
  });
}

test("with in-place conversion, an SPTE whose privateness disagrees with its page is caught among several runs, on either side of each edge", () => {
  const { sim, checker, kept } = convertingChecker(CONVERTING);
  for (const [offset, size] of [[0, 2], [4, 3], [9, 1], [12, 2]]) sim.apply([{ op: "set_memory_attributes2", fd: "g", offset: offset * 4096, size: size * 4096, attributes: "PRIVATE" }]);
  // A private or shared access on each page installs an SPTE of the page's own kind.
  for (let p = 0; p < 16; p++) sim.apply([{ op: "vcpu_access", vm: "a", gpa: p * 4096, access: "read" }]);
  assert.equal(checker.step().invariants, []);
  const runs = [...kept.attrs.values()][0].toArray();
  assert.equal(runs, [[0, 2], [4, 7], [9, 10], [12, 14]]);
  // Flip each SPTE's private bit: every page, inside a run or outside, then disagrees with its SPTE.
  const vm = [...kept.vms.values()][0];
  for (const e of vm.sptes.values()) e.rights ^= A.SPTE_PRIVATE;
  const found: Violation[] = [];
  checkInPlace(kept, found);
  const said = found.map((v) => render(v));
  const pages = said.map((t) => Number(/page (\d+)/.exec(t)![1])).sort((x, y) => x - y);
  assert.equal(pages, [...Array(16).keys()], said.join("; "));
});

for (const engine of ["wasm", "reference"] as const) {
  test(`a memslot delete whose binding stays in its file is caught at the delete, by the per-op check looking at that binding where it lies (${engine})`, () => {
    let editing = false;
    const core = new FaultyCore(makeCore(engine), () => false, (s) => (editing ? withoutRecords(s, A.CHG_BINDING) : s));
    const sim = new Simulator({ core });
    const checker = new Checker(sim.host);
    const ops = [
      { op: "create_vm", as: "a", type: "default" },
      { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP"] },
      { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 16384, guest_memfd: "g" },
      { op: "set_user_memory_region2", vm: "a", slot: 1, flags: "GUEST_MEMFD", guest_phys_addr: 1048576, memory_size: 16384, guest_memfd: "g", guest_memfd_offset: 16384 },
      { op: "set_user_memory_region2", vm: "a", slot: 2, flags: "GUEST_MEMFD", guest_phys_addr: 2097152, memory_size: 16384, guest_memfd: "g", guest_memfd_offset: 32768 },
    ];
    applyClean(sim, checker, ops);
    // The kept state misses the record that the binding of slot 1 went: as a core that forgot to unbind it.
    editing = true;
    const [r] = sim.apply([{ op: "set_user_memory_region2", vm: "a", slot: 1, flags: 0, guest_phys_addr: 1048576, memory_size: 0, userspace_addr: 0 }]);
    assert.is(r.ret, 0, JSON.stringify(r));
    const said = checker.step().invariants.map((v) => render(v));
    assert.equal(said, ["2 bindings: file 0 binding at pgoff 4 names slot 1, which is not bound to it in vm 0"]);
  });
}

test("bench --check --quick times the spread trace in three modes, the host trace on two hosts, the VM trace in two VMs, the slots trace in two VMs and the conversion trace on two inodes, and reports the ratios (no timing threshold)", async () => {
  const { measureCheck, checkBenchLines } = await import("../bench/check.js");
  const b = measureCheck(true);
  assert.equal(b.rows.map((r) => r.ops), [250, 2000]);
  for (const r of b.rows) assert.ok(r.unchecked_s > 0 && r.checked_s > 0 && r.checked_over_unchecked > 0);
  assert.ok(b.rows[0].full_every_op_s! > 0);
  assert.equal(b.host.rows.map((r) => r.vms), [100, 800]);
  for (const r of b.host.rows) assert.ok(r.unchecked_s > 0 && r.checked_s > 0 && r.checked_over_unchecked > 0);
  assert.ok(b.host.check_ratio_growth > 0);
  assert.equal(b.vm.rows.map((r) => r.pages), [500, 4000]);
  for (const r of b.vm.rows) assert.ok(r.unchecked_s > 0 && r.checked_s > 0 && r.checked_over_unchecked > 0);
  assert.equal(b.slots.rows.map((r) => r.slots), [250, 2000]);
  for (const r of b.slots.rows) assert.ok(r.unchecked_s > 0 && r.checked_s > 0 && r.checked_over_unchecked > 0);
  assert.equal(b.conversion.rows.map((r) => r.pages), [500, 4000]);
  for (const r of b.conversion.rows) assert.ok(r.unchecked_s > 0 && r.checked_s > 0 && r.checked_over_unchecked > 0);
  assert.is(checkBenchLines(b).length, 20);
});

test("reports name objects as the trace bound them", () => {
  const p = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", "test/policy/flawed-punch.jsonl", "--check", "--policy", "examples/policies/flawed.mjs"], { encoding: "utf8" });
  assert.is(p.status, 1, p.stderr);
  assert.match(p.stderr, /2 owner control: file lent \(vm guest\) punched pages \[0, 16\) without a punch right granted by the owner/);
});

test("the ids an op touched (Ids) hold each id once, in the order first added, as a list and past 16 ids through a set; clear() empties them", () => {
  const ids = new Ids();
  for (const id of [3, 1, 3, 2, 1]) ids.add(id);
  assert.equal(ids.list, [3, 1, 2]);
  assert.is(ids.size, 3);
  assert.ok(ids.has(2) && !ids.has(4));
  for (let id = 0; id < 40; id++) ids.add(id);
  for (let id = 39; id >= 0; id--) ids.add(id);
  assert.is(ids.size, 40);
  assert.equal(ids.list.slice(0, 4), [3, 1, 2, 0]);
  assert.ok(ids.has(39) && !ids.has(40));
  ids.clear();
  assert.is(ids.size, 0);
  assert.ok(!ids.has(3));
  ids.add(3);
  assert.equal(ids.list, [3]);
});

test.run();
