/**
 * Freed frames wait on the core's free stack at 4 bytes each: the stack is a
 * list of fixed blocks, so punching a million pages does not strand the
 * copies that growing one array by doubling leaves behind, and allocating
 * them again reuses the frames without growing the memory.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/api/simulator.js";

test("punching 1 M pages grows linear memory by about 4 bytes per freed frame, and reallocating them grows nothing", () => {
  const sim = new Simulator();
  const vm = sim.createVm();
  const N = 1 << 20;
  const g = vm.createGuestMemfd(N * 4096, 0);
  g.allocate(0, N * 4096);
  sim.host.sync();
  const before = sim.host.core.memoryBytes();
  for (let k = 0; k < N; k += 4096) g.punchHole(k * 4096, 4096 * 4096);
  sim.host.sync();
  const grown = sim.host.core.memoryBytes() - before;
  assert.ok(grown <= N * 4 * 1.25, `the free stack cost ${grown} bytes for ${N} frames`);
  g.allocate(0, N * 4096);
  assert.is(sim.stats().host_pages, N);
  assert.is(sim.host.core.memoryBytes() - before, grown, "reallocating reuses the freed frames and their memory");
});

test.run();
