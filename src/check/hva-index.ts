/**
 * The host-virtual-address side of the checkers' state (state.ts): host
 * mappings by hva and memslots by userspace_addr across every VM, so that
 * the checks that follow the shared path (hva_to_pfn(), the MMU notifier)
 * cost what an op changed, not what the host holds: which map an SPTE's hva
 * falls in (find_vma()), which memslots of any VM show a map's pages
 * (kvm_handle_hva_range() over every VM), and which maps go through a file.
 *
 * Maps never overlap (VMAs), so they are kept sorted by hva and found by a
 * binary search, as the core keeps them (in blocks: src/sorted.ts). Memslots of different VMs may show
 * the same pages, so they are kept sorted by userspace_addr with the largest
 * memslot's size beside: the memslots meeting a range start within that size
 * before it. A gmem-only memslot (SLOT_GMEM_ONLY) is left out: its faults never
 * go through its userspace_addr, so no map decides what its SPTEs reach (and
 * such memslots, often at userspace_addr 0 and large, would widen every
 * search). All addresses are in pages.
 */
import * as A from "../abi/core-abi.js";
import type { SnapMap, SnapSlot } from "./snapshot.js";
import { BlockList } from "../sorted.js";

export interface SlotRef {
  readonly vm: number;
  readonly slot: SnapSlot;
}

export class HvaIndex {
  private readonly maps = new BlockList<SnapMap>();
  private readonly slots = new BlockList<SlotRef>();
  /** Memslots by size (pages), each size's count: the largest bounds how far before a range a memslot meeting it starts. */
  private readonly sizes = new Map<number, number>();
  private largest = 0;
  private readonly byFile = new Map<number, Set<SnapMap>>();
  /** Adding in bulk (a whole snapshot): appended, sorted once at the end (endBulk()). */
  private bulk = false;

  beginBulk(): void {
    this.bulk = true;
  }

  endBulk(): void {
    this.bulk = false;
    this.maps.sortBy(mapStart);
    this.slots.sortBy(slotStart);
  }

  // ---- maps ----

  /** First index whose map starts at or after hva. */
  private mapIndex(hva: number): number {
    return this.maps.lowerBound(hva, mapStart);
  }

  addMap(m: SnapMap): void {
    if (this.bulk) this.maps.push(m);
    else this.maps.insertSorted(m, mapStart);
    if (m.file >= 0) {
      let set = this.byFile.get(m.file);
      if (!set) this.byFile.set(m.file, (set = new Set()));
      set.add(m);
    }
  }

  removeMap(m: SnapMap): void {
    // Maps at one hva are at most one live map and the record it replaces.
    this.maps.removeSorted(m, mapStart);
    const set = m.file >= 0 ? this.byFile.get(m.file) : undefined;
    if (set) {
      set.delete(m);
      if (set.size === 0) this.byFile.delete(m.file);
    }
  }

  /** The map holding hva page, if any. */
  mapAt(hva: number): SnapMap | undefined {
    const i = this.mapIndex(hva + 1) - 1;
    const m = this.maps.at(i);
    return m && hva < m.hva + m.npages ? m : undefined;
  }

  /** The maps through gmem file (or memfd) id `file`. */
  mapsOfFile(file: number): Iterable<SnapMap> {
    return this.byFile.get(file) ?? NONE;
  }

  // ---- memslots ----

  /** First index whose memslot starts at or after uaddr. */
  private slotIndex(uaddr: number): number {
    return this.slots.lowerBound(uaddr, slotStart);
  }

  addSlot(vm: number, slot: SnapSlot): void {
    if (slot.flags & A.SLOT_GMEM_ONLY) return;
    if (this.bulk) this.slots.push({ vm, slot });
    else this.slots.insertSorted({ vm, slot }, slotStart);
    this.sizes.set(slot.npages, (this.sizes.get(slot.npages) ?? 0) + 1);
    if (slot.npages > this.largest) this.largest = slot.npages;
  }

  removeSlot(slot: SnapSlot): void {
    if (slot.flags & A.SLOT_GMEM_ONLY) return;
    const a = this.slots;
    for (let i = this.slotIndex(slot.uaddr); i < a.length && a.at(i)!.slot.uaddr === slot.uaddr; i++) {
      if (a.at(i)!.slot === slot) {
        a.removeAt(i);
        break;
      }
    }
    const n = (this.sizes.get(slot.npages) ?? 1) - 1;
    if (n > 0) this.sizes.set(slot.npages, n);
    else {
      this.sizes.delete(slot.npages);
      // The sizes in use are few (memslots come in a handful of sizes): the next largest is found among them.
      if (slot.npages === this.largest) {
        this.largest = 0;
        for (const size of this.sizes.keys()) if (size > this.largest) this.largest = size;
      }
    }
  }

  /** Calls fn for each memslot, of any VM, that shows some page of hva pages [lo, hi) (gmem-only ones aside). */
  slotsOver(lo: number, hi: number, fn: (vm: number, slot: SnapSlot) => void): void {
    const a = this.slots;
    for (let i = this.slotIndex(lo - this.largest + 1); i < a.length; i++) {
      const r = a.at(i)!;
      if (r.slot.uaddr >= hi) break;
      if (r.slot.uaddr + r.slot.npages > lo) fn(r.vm, r.slot);
    }
  }
}

const NONE: readonly SnapMap[] = [];
const mapStart = (m: SnapMap) => m.hva;
const slotStart = (r: SlotRef) => r.slot.uaddr;
