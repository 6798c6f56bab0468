/**
 * The host's frame limit: an allocation that would pass it fails with ENOMEM
 * before anything changes, faults cannot be served past it, and the simulator
 * stays usable. And the reference model holds more pages than a JavaScript Map.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/index.js";
import { BigMap } from "../src/core/reference/bigmap.js";
import { ascending } from "../src/core/reference/state.js";


/** A VM with an MMAP|INIT_SHARED file of 64 pages bound at gpa 0, mapped at "m", and a memfd "f". */
const setup = [
  { op: "create_vm", as: "vm", type: "default" },
  { op: "create_guest_memfd", vm: "vm", as: "g", size: 64 * 4096, flags: ["MMAP", "INIT_SHARED"] },
  { op: "set_user_memory_region2", vm: "vm", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 64 * 4096, guest_memfd: "g", guest_memfd_offset: 0 },
  { op: "mmap", fd: "g", as: "m", offset: 0, len: 64 * 4096, prot: "rw", shared: true },
  { op: "memfd", as: "f", size: 64 * 4096 },
];

for (const engine of ["wasm", "reference"] as const) {
  test(`[${engine}] fallocate past the frame limit fails with ENOMEM and changes nothing; counting only absent pages`, () => {
    const sim = new Simulator({ engine, frameLimit: 40 });
    sim.apply(setup);
    assert.equal(sim.apply([{ op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 30 * 4096 }]).map((r) => r.ret), [0]);
    const before = sim.snapshot();
    const [r] = sim.apply([{ op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 41 * 4096 }]);
    assert.is(r.errno, "ENOMEM");
    assert.equal([...sim.snapshot()], [...before], "a refused allocation changes nothing");
    // [0, 40) holds 30 present pages: only 10 are needed, which fits exactly.
    assert.is(sim.apply([{ op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 40 * 4096 }])[0].ret, 0);
    assert.is(sim.apply([{ op: "stats" }])[0].host_pages, 40);
  });

  test(`[${engine}] at the frame limit a guest fault is ENOMEM, a host fault SIGBUS, a memfd write ENOMEM; a punch makes room again`, () => {
    const sim = new Simulator({ engine, frameLimit: 8 });
    sim.apply(setup);
    assert.is(sim.apply([{ op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 8 * 4096 }])[0].ret, 0);
    const before = sim.snapshot();
    const out = sim.apply([
      { op: "vcpu_access", vm: "vm", gpa: 9 * 4096, access: "read" },
      { op: "store", map: "m", offset: 10 * 4096, value: 3 },
      { op: "write", fd: "f", len: 4096, value: 1 },
      { op: "fallocate", fd: "f", mode: 0, offset: 0, len: 4096 },
    ]);
    assert.equal(out.map((r) => r.errno ?? r.signal), ["ENOMEM", "SIGBUS", "ENOMEM", "ENOMEM"]);
    assert.equal([...sim.snapshot()], [...before], "nothing changed");
    assert.is(sim.apply([{ op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 4096 }])[0].ret, 0);
    const [again] = sim.apply([{ op: "vcpu_access", vm: "vm", gpa: 9 * 4096, access: "read" }]);
    assert.equal({ ret: again.ret, value: again.value }, { ret: 0, value: 0 });
  });

  test(`[${engine}] a 16 TiB fallocate under the default limit fails at once with ENOMEM, and the simulator goes on`, () => {
    const sim = new Simulator({ engine });
    const out = sim.apply([
      { op: "create_vm", as: "vm", type: "default" },
      { op: "create_guest_memfd", vm: "vm", as: "g", size: "0x100000000000", flags: 0 },
      { op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: "0x100000000000" },
      { op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 4096 },
      { op: "stats" },
    ]);
    assert.is(out[2].errno, "ENOMEM");
    assert.is(out[3].ret, 0);
    assert.is(out[4].host_pages, 1);
  });
}

test("frameLimit must be a whole number of frames within the engine's limit", () => {
  for (const bad of [0, -1, 1.5, 2 ** 27, Number.NaN]) assert.throws(() => new Simulator({ frameLimit: bad }), /frameLimit/);
});

test("BigMap holds keys across shards like a Map: size, get, delete, iteration", () => {
  const m = new BigMap<number>();
  const keys = [0, 1, 2 ** 22 - 1, 2 ** 22, 2 ** 40 + 5, 2 ** 51 - 1];
  for (const k of keys) m.set(k, k * 2);
  m.set(1, 7);
  assert.is(m.size, keys.length);
  assert.is(m.get(1), 7);
  assert.is(m.get(2 ** 40 + 5), (2 ** 40 + 5) * 2);
  assert.ok(m.has(2 ** 22) && !m.has(3));
  assert.ok(m.delete(2 ** 22) && !m.delete(2 ** 22));
  assert.is(m.size, keys.length - 1);
  assert.equal([...m.keys()].sort((a, b) => a - b), [0, 1, 2 ** 22 - 1, 2 ** 40 + 5, 2 ** 51 - 1]);
  m.clear();
  assert.is(m.size, 0);
});

test("BigMap's keys below 2^22, looked up without the shard map, are found after their shard empties and fills again; iteration keeps insertion order across shards", () => {
  const m = new BigMap<string>();
  m.set(2 ** 40, "high");
  m.set(3, "a");
  assert.is(m.get(3), "a");
  assert.ok(m.delete(3));
  assert.is(m.get(3), undefined);
  assert.ok(!m.has(3));
  m.set(5, "b");
  assert.is(m.get(5), "b");
  assert.ok(m.has(5));
  assert.equal([...m.keys()], [2 ** 40, 5]);
  m.clear();
  assert.is(m.get(5), undefined);
  m.set(5, "c");
  assert.is(m.get(5), "c");
});

test("the reference model's ascending() sorts keys numerically, large ones too, and leaves sorted ones as they are", () => {
  assert.equal(ascending([10, 9, 2 ** 40, 0, 100, 2 ** 22]), [0, 9, 10, 100, 2 ** 22, 2 ** 40]);
  assert.equal(ascending(new Map([[3, 0], [1, 0], [2, 0]]).keys()), [1, 2, 3]);
  assert.equal(ascending([1, 2, 3]), [1, 2, 3]);
  assert.equal(ascending([]), []);
});

test.run();
