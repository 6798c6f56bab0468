/**
 * JavaScript bytes per object at scale: what a user holds for each VM, gmem
 * file (with its inode) and host mapping made through the public API, handles
 * included, measured on the heap after full garbage collections (the figure
 * `gmemsim bench --tiers` prints). Per object, a VM, a file or a mapping stays
 * under 500 bytes, beside what the core keeps in linear memory; so does a
 * memslot binding a file (the VM's memslots and the file's bindings it adds).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { jsBytesPerObject } from "../bench/tiers.js";
import { Simulator } from "../src/index.js";

const LIMIT = 500;

test("a VM, a gmem file with its inode and a mapping each hold under 500 bytes of JavaScript (5,000 of each, handles kept)", () => {
  // The first run also pays for compiling the creation paths once. Of the next two, the smaller figure per kind:
  // code the optimizer finishes on its own thread lands on the heap during whichever step it happens to end in.
  jsBytesPerObject(1000);
  const [a, b] = [jsBytesPerObject(5000), jsBytesPerObject(5000)];
  const m = { vm: Math.min(a.vm, b.vm), gmem_file: Math.min(a.gmem_file, b.gmem_file), mapping: Math.min(a.mapping, b.mapping) };
  assert.ok(m.vm < LIMIT, `a VM holds ${m.vm.toFixed(0)} B of JavaScript (limit ${LIMIT})`);
  assert.ok(m.gmem_file < LIMIT, `a gmem file with its inode holds ${m.gmem_file.toFixed(0)} B of JavaScript (limit ${LIMIT})`);
  assert.ok(m.mapping < LIMIT, `a mapping holds ${m.mapping.toFixed(0)} B of JavaScript (limit ${LIMIT})`);
});

test("a memslot binding a gmem file holds under 500 bytes of JavaScript, the VM's slot list and the file's binding list included (5,000 VMs, one each)", () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const perSlot = (count: number): number => {
    const sim = new Simulator();
    const vms = Array.from({ length: count }, () => sim.createVm());
    const files = vms.map((vm) => vm.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]));
    const maps = files.map((f) => f.mmap(0, 1 << 20, "rw"));
    const before = heap();
    vms.forEach((vm, i) => vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 1 << 20, userspaceAddr: maps[i], guestMemfd: files[i], guestMemfdOffset: 0 }));
    const bytes = (heap() - before) / count;
    // Every memslot is there: a guest write through each one reaches its file.
    for (const vm of vms) vm.access(0, "write", { value: 7 });
    for (const f of files) assert.is(f.stats().pages, 1);
    return bytes;
  };
  perSlot(1000);
  const bytes = Math.min(perSlot(5000), perSlot(5000));
  assert.ok(bytes < LIMIT, `a memslot holds ${bytes.toFixed(0)} B of JavaScript (limit ${LIMIT})`);
});

test.run();
