/**
 * Punches out of full blocks of the block map (assembly/blockmap.ts: a block
 * of 64 keys grown to the direct class, where a value sits at its key's bit):
 * a page punched, one page or a range, out of a full block of the page cache
 * and of the stage-2 table faults again and reads 0, the block's other pages
 * stay, and a direct block made again from the pool holds none of the keys of
 * the block it was; on the engine as on the reference model. (The random
 * traces of the differential suite use files too small to fill a block.)
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/index.js";

const P = 4096;

/** A VM over a 128-page gmem file, bound whole at gfn 0. */
function world(engine: "wasm" | "reference") {
  const sim = new Simulator({ engine });
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(128 * P, ["MMAP", "INIT_SHARED"]);
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 128 * P, guestMemfd: g });
  return { sim, vm, g };
}

function run(engine: "wasm" | "reference"): unknown[] {
  const { sim, vm, g } = world(engine);
  // Every page of block 0 (and a few of block 1): both tables' block 0 grows to the direct class.
  for (let p = 0; p < 70; p++) vm.access(p * P, "write", { value: 1 + (p % 200) });
  const out: unknown[] = [];
  g.punchHole(5 * P, P); // one page: bmDelete()
  g.punchHole(10 * P, 11 * P); // pages 10..20: a range inside the block
  g.punchHole(60 * P, 8 * P); // pages 60..67: across two blocks
  for (const p of [4, 5, 6, 9, 10, 15, 20, 21, 59, 60, 63, 64, 67, 68]) out.push([p, vm.access(p * P, "read")]);
  out.push(vm.stats(), g.stats(), Array.from(sim.snapshot()));
  return out;
}

test("pages punched out of a full block fault again and read 0; the others keep their bytes (engine = reference model)", () => {
  const got = run("wasm");
  assert.equal(got, run("reference"));
  // Page 5 was punched: a fresh zero page; page 4 kept its byte.
  assert.equal(got[1], [5, { ret: 0, value: 0 }]);
  assert.equal(got[0], [4, { ret: 0, value: 5 }]);
});

function reuse(engine: "wasm" | "reference"): unknown[] {
  const { sim, vm, g } = world(engine);
  for (let p = 0; p < 64; p++) vm.access(p * P, "write", { value: 7 });
  // The whole block goes: its direct blocks return to their pool with their values in them.
  g.punchHole(0, 128 * P);
  // 20 pages of block 1 grow new blocks to the direct class, taken from that pool.
  for (let p = 64; p < 84; p++) vm.access(p * P, "write", { value: 9 });
  const out: unknown[] = [];
  for (const p of [84, 90, 127]) out.push([p, vm.access(p * P, "read")]);
  out.push(vm.stats(), g.stats(), Array.from(sim.snapshot()));
  return out;
}

test("a direct block made from a freed one holds none of its keys: the pages never written there fault and read 0", () => {
  const got = reuse("wasm");
  assert.equal(got, reuse("reference"));
  assert.equal(got[1], [90, { ret: 0, value: 0 }]);
});

test.run();
