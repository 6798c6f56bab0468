import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Memslot, Vm } from "../src/kvm/objects.js";
import { Simulator } from "../src/api/simulator.js";
import { GmemError } from "../src/errors.js";

const overlaps = (s: Memslot, start: number, end: number) => start < s.baseGfn + s.npages && s.baseGfn < end;

test("a VM's memslot overlap answers as a scan of every memslot does, with one memslot and with many, through adds, moves and removes", () => {
  const op = fc.record({ kind: fc.constantFrom("add", "add", "remove", "move"), at: fc.nat(400), npages: fc.integer({ min: 1, max: 6 }), pick: fc.nat() });
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 150 }), fc.array(fc.tuple(fc.nat(410), fc.integer({ min: 1, max: 9 })), { minLength: 1, maxLength: 20 }), (ops, probes) => {
      const vm = new Vm(0, 0);
      const live: Memslot[] = [];
      let nextId = 0;
      for (const o of ops) {
        if (o.kind === "add") {
          // Memslots of a VM never overlap: the kernel layer refuses that before adding one.
          if (live.some((s) => overlaps(s, o.at, o.at + o.npages))) continue;
          const s = new Memslot(vm, nextId++, o.at, o.npages, 0, 0, null, 0);
          vm.addSlot(s);
          live.push(s);
        } else if (live.length) {
          const s = live[o.pick % live.length];
          if (o.kind === "remove") {
            vm.removeSlot(s.id);
            live.splice(live.indexOf(s), 1);
          } else if (!live.some((t) => t !== s && overlaps(t, o.at, o.at + s.npages))) vm.moveSlot(s, o.at);
        }
        for (const [at, n] of probes)
          for (const self of [-1, ...live.slice(0, 3).map((s) => s.id)])
            assert.is(vm.overlapsSlot(self, at, at + n), live.some((s) => s.id !== self && overlaps(s, at, at + n)), `[${at}, ${at + n}) skipping ${self}, ${live.length} memslots`);
      }
    }),
    { numRuns: 150, seed: 23 },
  );
});

test("a file's first overlapping binding is the one with the lowest pgoff, with few bindings or many", () => {
  for (const count of [4, 24]) {
    const sim = new Simulator();
    const vm = sim.createVm();
    const g = vm.createGuestMemfd(4096 * 4 * count, []);
    // Bindings made from the last pgoff down, so that the order they were made in is not pgoff order.
    for (let k = count - 1; k >= 0; k--) vm.setUserMemoryRegion2({ slot: k, flags: "GUEST_MEMFD", guestPhysAddr: k * 0x100000, memorySize: 8192, guestMemfd: g, guestMemfdOffset: k * 16384 });
    // Pgoffs [4, 16) meet the bindings of slots 1, 2 and 3 (at 4, 8 and 12): slot 1's comes first.
    const err = (() => {
      try {
        vm.setUserMemoryRegion2({ slot: count, flags: "GUEST_MEMFD", guestPhysAddr: count * 0x100000, memorySize: 16384 * 3, guestMemfd: g, guestMemfdOffset: 16384 });
      } catch (e) {
        return e as GmemError;
      }
      return null;
    })();
    assert.ok(err instanceof GmemError, "the overlapping binding is refused");
    assert.match(err!.message, /are already bound to slot 1$/, `${count} bindings: ${err!.message}`);
  }
});

test.run();
