import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import * as A from "../src/abi/core-abi.js";
import { HvaIndex } from "../src/check/hva-index.js";
import type { SnapMap, SnapSlot } from "../src/check/snapshot.js";

// The checkers' hva index (src/check/hva-index.ts) against a plain scan of every map and memslot, the way the
// checks looked before it: after any sequence of maps made and gone (never overlapping, as VMAs) and memslots of
// several VMs replaced (which may show the same pages), each query answers as the scan does, gmem-only memslots
// aside.

type Step =
  | { kind: "map"; hva: number; npages: number; file: number }
  | { kind: "unmap"; pick: number }
  | { kind: "slots"; vm: number; slots: Array<{ uaddr: number; npages: number; gmemOnly: boolean }> };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("map" as const), hva: fc.nat(300), npages: fc.integer({ min: 1, max: 40 }), file: fc.integer({ min: -1, max: 3 }) }),
  fc.record({ kind: fc.constant("unmap" as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant("slots" as const),
    vm: fc.nat(4),
    slots: fc.array(fc.record({ uaddr: fc.nat(300), npages: fc.integer({ min: 1, max: 60 }), gmemOnly: fc.boolean() }), { maxLength: 3 }),
  }),
);

function run(steps: Step[], bulkFirst: number): { index: HvaIndex; maps: SnapMap[]; slots: Map<number, SnapSlot[]> } {
  const index = new HvaIndex();
  const maps: SnapMap[] = [];
  const slots = new Map<number, SnapSlot[]>();
  let id = 0;
  steps.forEach((s, k) => {
    // The first steps as a snapshot builds them (appended, then sorted once), the rest one change at a time.
    if (k === 0 && bulkFirst > 0) index.beginBulk();
    if (k === bulkFirst && k > 0) index.endBulk();
    if (s.kind === "map") {
      if (maps.some((m) => s.hva < m.hva + m.npages && m.hva < s.hva + s.npages)) return;
      const m: SnapMap = { id: id++, hva: s.hva, npages: s.npages, inode: 0, pgoff: 0, rights: 7, file: s.file, cow: -1 };
      maps.push(m);
      index.addMap(m);
    } else if (s.kind === "unmap" && k >= bulkFirst) {
      if (!maps.length) return;
      const [m] = maps.splice(s.pick % maps.length, 1);
      index.removeMap(m);
    } else if (s.kind === "slots") {
      const after = s.slots.map((x, n) => ({ slot: n, base: 0, npages: x.npages, flags: x.gmemOnly ? A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY : 0, file: -1, pgoff: 0, uaddr: x.uaddr }));
      const before = slots.get(s.vm);
      if (k < bulkFirst) {
        // A snapshot lists each VM once.
        if (before) return;
        for (const x of after) index.addSlot(s.vm, x);
      } else {
        // Some records kept from before (a VM whose memslots partly stay): the others go and come, as the
        // checkers' state changes them.
        if (before?.length && after.length) after[0] = before[0];
        for (const x of before ?? []) if (!after.includes(x)) index.removeSlot(x);
        for (const x of after) if (!before?.includes(x)) index.addSlot(s.vm, x);
      }
      slots.set(s.vm, after);
    }
  });
  if (steps.length > 0 && bulkFirst >= steps.length) index.endBulk();
  return { index, maps, slots };
}

test("the hva index finds the map at each hva, the memslots over each range and the maps of each file, as a scan of all of them does", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), fc.nat(20), (steps, bulk) => {
      const bulkFirst = Math.min(bulk, steps.length);
      const { index, maps, slots } = run(steps, bulkFirst);
      for (let hva = 0; hva < 360; hva++) {
        const want = maps.find((m) => hva >= m.hva && hva < m.hva + m.npages);
        assert.is(index.mapAt(hva), want, `map at ${hva}`);
      }
      for (let lo = 0; lo < 360; lo += 7) {
        for (const len of [1, 5, 40]) {
          const want: string[] = [];
          // A gmem-only memslot's faults never go through its userspace_addr: the index leaves it out.
          for (const [vm, list] of slots) for (const sl of list) if (!(sl.flags & A.SLOT_GMEM_ONLY) && sl.uaddr < lo + len && sl.uaddr + sl.npages > lo) want.push(`${vm}:${sl.slot}:${sl.uaddr}`);
          const got: string[] = [];
          index.slotsOver(lo, lo + len, (vm, sl) => got.push(`${vm}:${sl.slot}:${sl.uaddr}`));
          assert.equal(got.sort(), want.sort(), `memslots over [${lo}, ${lo + len})`);
        }
      }
      for (let file = -1; file <= 3; file++) {
        const want = file < 0 ? [] : maps.filter((m) => m.file === file);
        assert.equal(new Set(index.mapsOfFile(file)), new Set(want), `maps of file ${file}`);
      }
    }),
    { numRuns: 300, seed: 11 },
  );
});

test.run();
