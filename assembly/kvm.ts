/**
 * struct kvm, as far as the core needs it: the memslot set, the stage-2 table,
 * the counters of `stats` and the encryption context (an SEV ASID / TDX
 * HKID stand-in). Mirrors kvm_create_vm() / kvm_destroy_vm().
 */
import { Vec, Table } from "./vec";

@unmanaged
export class Kvm {
  /** Stage-2 table (blockmap.ts gfn -> pfn << 4 | rights, stage2.ts): its directory root, then the block map's copy of a flat directory's base (the root's 8-byte pair). */
  s2: u32 = 0;
  s2FlatBase: u32 = 0;
  id: i32 = 0;
  sptes: i64 = 0;
  faults: i64 = 0;
  zaps: i64 = 0;
  exits: i64 = 0;
  /** Encryption context (VM_SET_CTX; id + 1 at creation, 0 for none): what private faults prepare pages under. */
  ctx: u32 = 0;
  /** Memslots sorted by slot id (the order of snapshots and of the notifier's walk). */
  byId: Vec = changetype<Vec>(0);
  /** The same memslots sorted by base gfn, for gfn lookup (search_memslots()). */
  byBase: Vec = changetype<Vec>(0);
  /** The memslot found last: vCPU accesses cluster, as the kernel's last_used_slot assumes. */
  lastSlot: usize = 0;
}

// Static, not made at start-up: reset() then only has to zero it.
export const vms = changetype<Table>(memory.data(offsetof<Table>(), 8));

export function resetVms(): void {
  memory.fill(changetype<usize>(vms), 0, offsetof<Table>());
}

@inline export function getVm(id: i32): Kvm {
  let p = vms.get(id);
  assert(p != 0, "no such VM");
  return changetype<Kvm>(p);
}

@inline export function s2Ref(vm: Kvm): usize {
  return changetype<usize>(vm) + offsetof<Kvm>("s2");
}
