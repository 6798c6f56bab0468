/** The Memfd handle: the same answers and the same state as the trace tier's memfd ops (memfd-io.jsonl checks those on the kernel). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GmemError, Simulator } from "../src/index.js";

for (const engine of ["wasm", "reference"] as const) {
  test(`[${engine}] Memfd handle calls give the trace tier's results and state`, () => {
    const a = new Simulator({ engine });
    const f = a.memfd(10000);
    const got = [
      f.write(5000, 7),
      f.read(10000),
      f.read(10),
      f.pwrite(4096, 65536, 9),
      f.pread(100000, 0),
    ];
    f.ftruncate(4096);
    f.fallocate("KEEP_SIZE", 1 << 20, 4096);
    const st = f.fstat();
    const m = f.mmap(0, 8192);
    const load = m.load(0);
    const past = m.load(4096);

    const b = new Simulator({ engine });
    const out = b.apply([
      { op: "memfd", as: "f", size: 10000 },
      { op: "write", fd: "f", len: 5000, value: 7 },
      { op: "read", fd: "f", len: 10000 },
      { op: "read", fd: "f", len: 10 },
      { op: "pwrite", fd: "f", len: 4096, offset: 65536, value: 9 },
      { op: "pread", fd: "f", len: 100000, offset: 0 },
      { op: "ftruncate", fd: "f", size: 4096 },
      { op: "fallocate", fd: "f", mode: "KEEP_SIZE", offset: 1 << 20, len: 4096 },
      { op: "fstat", fd: "f" },
      { op: "mmap", fd: "f", as: "m", offset: 0, len: 8192, prot: "rw", shared: true },
      { op: "load", map: "m", offset: 0 },
      { op: "load", map: "m", offset: 4096 },
    ]);
    assert.equal(got, out.slice(1, 6).map((r) => r.ret));
    assert.equal(st, { size: out[8].size, blocks: out[8].blocks });
    assert.equal(load, { value: out[10].value });
    assert.equal(past.signal, out[11].signal);
    assert.equal([...a.snapshot()], [...b.snapshot()]);
  });

  test(`[${engine}] a Memfd handle as guest_memfd is EINVAL, and a second close is EBADF`, () => {
    const sim = new Simulator({ engine });
    const vm = sim.createVm();
    const f = sim.memfd(65536);
    assert.throws(() => vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 65536, guestMemfd: f }), (e: unknown) => e instanceof GmemError && e.errno === "EINVAL");
    f.close();
    assert.throws(() => f.close(), (e: unknown) => e instanceof GmemError && e.errno === "EBADF");
    assert.throws(() => f.write(4096), (e: unknown) => e instanceof GmemError && e.errno === "EBADF");
  });
}

test.run();
