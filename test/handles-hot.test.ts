/**
 * The handles' hot calls (core-abi.ts "Hot calls"): vm.access/read/write and
 * gmem.allocate/punchHole run their command straight in the engine's core
 * where it can (nothing queued, no change log), and fallocate() skips the
 * checks a hot file (src/kvm/ops/fallocate.ts fileHot()) always passes. Neither may
 * change an answer: the same calls on the reference model (which has no hot
 * calls, so every call takes the kernel layer's whole path) must give the same
 * results, errnos, sentences, history and state, and so must the same calls
 * with every fallocate's offset and len given as bigints (which take
 * fallocate()'s whole path), also when an object stops being hot mid-stream (a donation, a link, a closed fd, a frame limit
 * reached, commands queued ahead).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as A from "../src/abi/core-abi.js";
import { EngineCore } from "../src/core/engine.js";
import { NOT_NOW } from "../src/core/core.js";
import { GmemError, Simulator, type GmemFile, type Vm } from "../src/index.js";

const PAGES = 64;

/** What a call gave: its result's fields and sentence, or its error's errno and sentence. */
function outcome(f: () => unknown): string {
  try {
    const r = f();
    if (r === undefined) return "ok";
    return `${JSON.stringify(r)} ${(r as { message?: string }).message ?? ""}`;
  } catch (e) {
    if (e instanceof GmemError) return `${e.errno}: ${e.message}`;
    throw e;
  }
}

/** A seeded run of handle calls on one engine; every call's outcome, the history and the final state. */
function run(engine: "wasm" | "reference", seed: number, whole = false): { outcomes: string[]; events: string; snapshot: number[] } {
  const sim = new Simulator({ engine, kernel: "6.18+swprot", frameLimit: 100 });
  // An offset and len given as bigints take fallocate()'s whole path (the hot one takes numbers only).
  const bytes = (n: number): number | bigint => (whole ? BigInt(n) : n);
  const vms: Vm[] = [];
  const files: GmemFile[] = [];
  for (const type of ["default", "default", "sw_protected"] as const) {
    const vm = sim.createVm(type);
    const g = vm.createGuestMemfd(PAGES * 4096, type === "default" ? ["MMAP", "INIT_SHARED"] : 0);
    vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: PAGES * 4096, guestMemfd: g });
    vms.push(vm);
    files.push(g);
  }
  let x = seed >>> 0;
  const rand = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const outcomes: string[] = [];
  for (let k = 0; k < 1200; k++) {
    // Objects leave the hot set mid-stream: a donated window and a shared link make files the history keeps
    // (fallocateJudged()), a closed file and a destroyed VM answer EBADF, private memory on the sw_protected VM.
    if (k === 300) outcomes.push(outcome(() => files.push(files[0].link(vms[1], ["r", "w"], "donate", { offset: 0, len: 16 * 4096 }))));
    if (k === 450) outcomes.push(outcome(() => files.push(files[1].link(vms[0], ["r", "w"], "share"))));
    if (k === 600) outcomes.push(outcome(() => vms[2].setMemoryAttributes(0, 8 * 4096, "PRIVATE")));
    if (k === 750) outcomes.push(outcome(() => files[1].close()));
    if (k === 900) outcomes.push(outcome(() => vms[1].destroy()));
    const vm = vms[rand(vms.length)];
    const file = files[rand(files.length)];
    // Mostly inside the files and memslots, some pages past them (MMIO exits, EOF).
    const page = rand(PAGES + 8);
    switch (rand(9)) {
      case 0:
        outcomes.push(outcome(() => vm.read(page * 4096)));
        break;
      case 1:
        outcomes.push(outcome(() => vm.write(page * 4096 + rand(4096), rand(256))));
        break;
      case 2:
        outcomes.push(outcome(() => vm.access(page * 4096, rand(2) ? "exec" : "read")));
        break;
      case 3:
        outcomes.push(outcome(() => vm.access(page * 4096, "write", { value: rand(256) })));
        break;
      case 4:
      case 5:
        outcomes.push(outcome(() => file.allocate(bytes(page * 4096), bytes((1 + rand(3)) * 4096))));
        break;
      case 6:
        outcomes.push(outcome(() => file.punchHole(bytes(page * 4096), bytes((1 + rand(3)) * 4096))));
        break;
      case 7:
        // Not whole pages, empty, or given as a bigint: fallocate()'s whole path.
        outcomes.push(outcome(() => file.allocate(rand(2) ? page * 4096 + 512 : BigInt(page * 4096), rand(2) ? 0 : 4096)));
        break;
      default:
        // Bigints: fallocate()'s whole path, whose command stays queued ahead of the next call (no hot call then).
        outcomes.push(outcome(() => file.punchHole(BigInt(page * 4096), 4096n)));
    }
  }
  return { outcomes, events: JSON.stringify(sim.host.events), snapshot: [...sim.snapshot()] };
}

test("handle calls give the kernel layer's whole path's results, errnos, sentences, history and state while objects leave the hot set", () => {
  for (const seed of [1, 2, 3]) {
    const engine = run("wasm", seed);
    // The reference model has no hot calls; offsets and lens given as bigints make every fallocate take every check.
    for (const [what, other] of [["the reference model", run("reference", seed)], ["fallocate()'s whole path", run("wasm", seed, true)]] as const) {
      for (let k = 0; k < engine.outcomes.length; k++) assert.is(engine.outcomes[k], other.outcomes[k], `seed ${seed}, call ${k}, against ${what}`);
      assert.is(engine.events, other.events, `seed ${seed}: the history, against ${what}`);
      assert.equal(engine.snapshot, other.snapshot, `seed ${seed}: the state, against ${what}`);
    }
    // The run reached every kind of answer the hot paths could get wrong.
    const all = engine.outcomes.join("\n");
    for (const seen of ['"value":', '"exit":"mmio"', "ENOMEM", "beyond the file size", "EBADF", "multiples of 4096", '"exit":"memory_fault"'])
      assert.ok(all.includes(seen), `seed ${seed}: no outcome with ${seen}`);
  }
});

test("the core's hot calls give a batch of one's result words, and run nothing with commands queued or changes noted", () => {
  const script = (hot: boolean): number[][] => {
    const core = new EngineCore();
    core.push(A.OP_VM_CREATE, 0);
    core.push(A.OP_INODE_CREATE, 0, 16, A.INODE_GMEM, 2);
    core.push(A.OP_FILE_CREATE, 0, 0, 0, A.RIGHT_R | A.RIGHT_W | A.RIGHT_X);
    core.push(A.OP_SLOT_CREATE, 0, 0, 0, 16, 0, 0, A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY);
    core.flush();
    const words: number[][] = [];
    const take = () => words.push(Array.from(core.results.subarray(0, A.RES_WORDS)));
    for (let k = 0; k < 24; k++) {
      const gfn = k % 8 === 7 ? 16 : k % 8; // gfn 16 is past the memslot (an MMIO exit)
      const access = k % 3 === 0 ? A.ACCESS_WRITE : A.ACCESS_READ;
      if (hot) {
        const v = core.hot.access(0, gfn, access, k, 0);
        take();
        // The answer: the value word (the byte, for a read) on RES_OK, -1 - code otherwise.
        const [code, value] = words[words.length - 1];
        assert.is(v, code === A.RES_OK ? value : -1 - code);
      } else {
        core.now(A.OP_GUEST_ACCESS, 0, gfn, access, 0, k, 0);
        take();
      }
      if (k % 4 === 3) {
        if (hot) assert.ok(core.hot.fallocate(0, gfn % 16, (gfn % 16) + 1, true));
        else core.now(A.OP_PUNCH, 0, gfn % 16, (gfn % 16) + 1);
        take();
      }
    }
    // With a command queued, or the change log on, nothing runs (the caller queues the command instead).
    core.push(A.OP_STATS_HOST);
    assert.is(core.hot.access(0, 1, A.ACCESS_READ, 0, 0), NOT_NOW);
    assert.is(core.hot.fallocate(0, 1, 2, false), false);
    core.flush();
    core.trackChanges(true);
    assert.is(core.hot.access(0, 1, A.ACCESS_READ, 0, 0), NOT_NOW);
    assert.is(core.hot.fallocate(0, 1, 2, false), false);
    return words;
  };
  assert.equal(script(true), script(false));
});

test.run();
