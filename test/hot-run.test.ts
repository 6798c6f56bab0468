/**
 * HotRun (src/trace/hot-run.ts) keeps one place and one "i" for a run, the
 * first op's, and gives op k of the run the next ones: an op taken where
 * neither follows the run (another place, or another "i") must first run what
 * the run holds, and every line must land at its own place with its own "i".
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/index.js";
import { HotRun } from "../src/trace/hot-run.js";
import { readHotOp } from "../src/trace/hot-lines.js";
import type { Names } from "../src/trace/names.js";

function world(): { sim: Simulator; names: Names } {
  const sim = new Simulator();
  const setup = sim.apply([
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g" },
  ]);
  for (const r of setup) assert.ok(!("error" in r) && !("errno" in r), JSON.stringify(r));
  return { sim, names: (sim as unknown as { replayer: { names: Names } }).replayer.names };
}

test("an op taken at a place or an i that does not follow the run's lands at its own place with its own i", () => {
  const { sim, names } = world();
  const run = new HotRun(sim.host);
  const out: unknown[] = new Array(10);
  run.bind(out);
  const take = (op: object, i: number, at: number) => {
    const hot = readHotOp(names, op as Record<string, unknown>);
    assert.ok(hot !== 0, "a hot op");
    assert.ok(run.take(hot, i, at), "taken");
  };
  take({ op: "vcpu_access", vm: "a", gpa: 0, access: "write", value: 7 }, 100, 0);
  take({ op: "vcpu_access", vm: "a", gpa: 0, access: "read" }, 101, 1);
  // Another place (a gap of three), then another i at the next place, then both following again.
  take({ op: "vcpu_access", vm: "a", gpa: 4096, access: "write", value: 9 }, 102, 5);
  take({ op: "vcpu_access", vm: "a", gpa: 4096, access: "read" }, 300, 6);
  take({ op: "fallocate", fd: "g", mode: 3, offset: 4096, len: 4096 }, 301, 7);
  take({ op: "vcpu_access", vm: "a", gpa: 0, access: "read" }, 302, 8);
  run.run();
  assert.equal(out, [
    { i: 100, ret: 0 },
    { i: 101, ret: 0, value: 7 },
    undefined,
    undefined,
    undefined,
    { i: 102, ret: 0 },
    { i: 300, ret: 0, value: 9 },
    { i: 301, ret: 0 },
    { i: 302, ret: 0, value: 7 },
    undefined,
  ]);
});

test.run();
