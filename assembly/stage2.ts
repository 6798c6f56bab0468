/**
 * The stage-2 table (EPT/NPT) of a VM: gfn -> pfn << 4 | rights in a block map
 * (rights: RIGHT_* plus SPTE_PRIVATE; pfns stay below 2^28, 1 TiB of frames).
 * Mirrors kvm_zap_gfn_range() / kvm_unmap_gfn_range() (a zap costs what is
 * mapped in the range, never its size) and kvm_mmu_zap_all_fast() (the whole
 * table dropped node by node, for KVM_X86_QUIRK_SLOT_ZAP_ALL).
 */
import { Kvm, s2Ref } from "./kvm";
import { bmRemoveRangeCount, bmDelete, bmClearCount, bmInsertAt, bmValueAddr } from "./blockmap";
import { tracking, noteSptes } from "./notes";
import { CHG_ALL } from "../src/abi/core-abi";

/** An SPTE word: pfn << SPTE_SHIFT | rights (RIGHT_* | SPTE_PRIVATE). */
export const SPTE_SHIFT: u32 = 4;
export const SPTE_BITS: u32 = (1 << SPTE_SHIFT) - 1;

@inline export function zapRange(vm: Kvm, start: u64, end: u64): void {
  if (vm.sptes == 0) return;
  let n = end - start == 1
    ? <i64>(bmDelete(s2Ref(vm), start) != 0)
    : bmRemoveRangeCount(s2Ref(vm), start, end);
  vm.sptes -= n;
  assert(vm.sptes >= 0);
  vm.zaps += n;
  if (tracking && n != 0) noteSptes(vm, start, end);
}

export function zapAll(vm: Kvm): void {
  if (vm.sptes == 0) return;
  let n = bmClearCount(s2Ref(vm));
  vm.sptes = 0;
  vm.zaps += n;
  if (tracking && n != 0) noteSptes(vm, 0, <u64>CHG_ALL);
}

/**
 * Install gfn -> pfn with `rights` (SPTE_PRIVATE included), or widen the rights of the SPTE already
 * mapping gfn to pfn; an SPTE to another pfn is replaced. `old` and `block`
 * are what bmLookup() of gfn gave and left in lookupBlock (the fault looked
 * first, and nothing has changed the table since).
 */
export function install(vm: Kvm, gfn: u64, pfn: u32, rights: u32, old: u32, block: u32): void {
  vm.faults++;
  if (tracking) noteSptes(vm, gfn, gfn + 1);
  if (old == 0) {
    vm.sptes++;
    bmInsertAt(s2Ref(vm), gfn, (pfn << SPTE_SHIFT) | rights, block);
    return;
  }
  if (old >>> SPTE_SHIFT == pfn) rights |= old & SPTE_BITS;
  store<u32>(bmValueAddr(block, gfn), (pfn << SPTE_SHIFT) | rights);
}
