/**
 * EngineCore.reset() gives the linear memory back: WebAssembly memory cannot
 * shrink, so a core that grew past its start-up size is re-instantiated, and
 * either way it then runs exactly as a new core.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { EngineCore } from "../src/core/engine.js";
import { digestSnapshot } from "../src/core/digest.js";
import { Simulator } from "../src/api/simulator.js";

function workload(sim: Simulator, pages: number): string {
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(pages * 4096, ["MMAP", "INIT_SHARED"]);
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: pages * 4096, guestMemfd: g });
  g.allocate(0, pages * 4096);
  vm.access(4096, "write", { value: 7 });
  g.punchHole(0, 4096 * (pages >> 1));
  return digestSnapshot(sim.snapshot());
}

test("reset() of a core whose memory grew (past 1 MiB) returns it to the start-up size, and the core then runs as a new one", () => {
  const fresh = new EngineCore();
  const start = fresh.memoryBytes();
  const want = workload(new Simulator({ core: new EngineCore() }), 64);
  const core = new EngineCore();
  workload(new Simulator({ core }), 1 << 20);
  assert.ok(core.memoryBytes() > start, `a million pages grew the memory (${core.memoryBytes()} bytes)`);
  assert.ok(core.reset());
  assert.is(core.memoryBytes(), start, "linear memory back to its start-up size");
  assert.is(workload(new Simulator({ core }), 64), want, "the reset core runs as a new one");
});

test.run();
