/**
 * Memslots: kvm_set_memory_region()'s create / delete / move and
 * search_memslots(). Per VM, two sorted arrays of record pointers (by slot id,
 * by base gfn); across VMs, an index by userspace_addr for the MMU notifier
 * (kvm_handle_hva_range() finds memslots by hva through an interval tree).
 *
 * The hva index: memslots bucketed by floor(log2(npages)), each bucket sorted
 * by uaddr. Within a bucket every slot is shorter than 2^(c+1) pages, so the
 * slots that can reach hva page h start after h - 2^(c+1): a binary search per
 * non-empty bucket plus the matches, however large some slots are.
 */
import { Vec } from "./vec";
import { Kvm } from "./kvm";
import { make } from "./alloc";

@unmanaged
export class Memslot {
  vm: Kvm = changetype<Kvm>(0);
  id: i32 = 0;
  flags: u32 = 0;
  /** The bound file's id, or -1 (none, or released). */
  file: i32 = -1;
  base: u64 = 0;
  npages: u64 = 0;
  pgoff: u64 = 0;
  /** userspace_addr >> 12. */
  uaddr: u64 = 0;
}

// ---- per VM ----

/** Index in vm.byId of slot id, or -(insertion point) - 1. */
function searchId(vm: Kvm, id: i32): i32 {
  let v = vm.byId;
  let lo = 0, hi = v.len;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    let s = changetype<Memslot>(<usize>v.get(mid)).id;
    if (s < id) lo = mid + 1; else if (s > id) hi = mid; else return mid;
  }
  return -lo - 1;
}

/** The memslot with this id, or null (the change log asks after a command that may have deleted it). */
export function findSlot(vm: Kvm, id: i32): Memslot | null {
  let i = searchId(vm, id);
  return i >= 0 ? changetype<Memslot>(<usize>vm.byId.get(i)) : null;
}

export function slotById(vm: Kvm, id: i32): Memslot {
  let m = findSlot(vm, id);
  assert(m !== null, "no such memslot");
  return changetype<Memslot>(m);
}

/** Insertion point of base in vm.byBase. */
function searchBase(vm: Kvm, base: u64): i32 {
  let v = vm.byBase;
  let lo = 0, hi = v.len;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (changetype<Memslot>(<usize>v.get(mid)).base < base) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * The memslot holding gfn, or null (memslots of one VM never overlap). The
 * last slot found is checked inline: a fault then makes no call for its slot.
 */
@inline export function slotByGfn(vm: Kvm, gfn: u64): Memslot | null {
  let s = vm.lastSlot;
  if (s != 0) {
    let m = changetype<Memslot>(s);
    if (gfn - m.base < m.npages) return m;
  }
  return searchSlot(vm, gfn);
}

/** slotByGfn() past its last slot: a binary search of vm.byBase, which then becomes the last slot. */
function searchSlot(vm: Kvm, gfn: u64): Memslot | null {
  let v = vm.byBase;
  let lo = 0, hi = v.len;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (changetype<Memslot>(<usize>v.get(mid)).base <= gfn) lo = mid + 1; else hi = mid;
  }
  if (lo == 0) return null;
  let m = changetype<Memslot>(<usize>v.get(lo - 1));
  if (gfn - m.base >= m.npages) return null;
  vm.lastSlot = changetype<usize>(m);
  return m;
}

export function slotInsert(vm: Kvm, m: Memslot): void {
  let i = searchId(vm, m.id);
  vm.byId.insertAt(-i - 1, <u32>changetype<usize>(m));
  vm.byBase.insertAt(searchBase(vm, m.base), <u32>changetype<usize>(m));
  hvaInsert(m);
}

/** Take m out of its VM's arrays and the hva index (the record stays allocated). */
export function slotRemove(vm: Kvm, m: Memslot): void {
  let p = <u32>changetype<usize>(m);
  vm.byId.removeAt(searchId(vm, m.id));
  removeFrom(vm.byBase, searchBase(vm, m.base), p);
  hvaRemove(m);
  if (vm.lastSlot == changetype<usize>(m)) vm.lastSlot = 0;
}

export function slotMove(vm: Kvm, m: Memslot, base: u64): void {
  let p = <u32>changetype<usize>(m);
  removeFrom(vm.byBase, searchBase(vm, m.base), p);
  m.base = base;
  vm.byBase.insertAt(searchBase(vm, base), p);
  vm.lastSlot = 0;
}

export function slotSetUaddr(m: Memslot, uaddr: u64): void {
  hvaRemove(m);
  m.uaddr = uaddr;
  hvaInsert(m);
}

/** Remove p from v, starting the search at i (equal keys may sit before p). */
function removeFrom(v: Vec, i: i32, p: u32): void {
  while (v.get(i) != p) i++;
  v.removeAt(i);
}

// ---- the hva index, across VMs ----

const hvaBuckets = memory.data(64 << 2, 4);

export function resetHva(): void {
  memory.fill(hvaBuckets, 0, 64 << 2);
}

@inline function bucketOf(npages: u64): i32 {
  return 63 - <i32>clz(npages);
}

@inline function bucket(c: i32): Vec {
  return changetype<Vec>(<usize>load<u32>(hvaBuckets + (<usize>c << 2)));
}

/**
 * First index in v whose memslot is at or past (uaddr u, address p): memslots
 * of one uaddr (every gmem-only memslot may have 0) are in address order, so
 * that one is found by a search, not a scan of all those at its uaddr; p = 0
 * finds the first at u.
 */
function searchUaddr(v: Vec, u: u64, p: u32 = 0): i32 {
  let lo = 0, hi = v.len;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    let q = v.get(mid);
    let qu = changetype<Memslot>(<usize>q).uaddr;
    if (qu < u || (qu == u && q < p)) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function hvaInsert(m: Memslot): void {
  let c = bucketOf(m.npages);
  let v = bucket(c);
  if (changetype<usize>(v) == 0) {
    v = make<Vec>();
    store<u32>(hvaBuckets + (<usize>c << 2), <u32>changetype<usize>(v));
  }
  let p = <u32>changetype<usize>(m);
  v.insertAt(searchUaddr(v, m.uaddr, p), p);
}

function hvaRemove(m: Memslot): void {
  let v = bucket(bucketOf(m.npages));
  let p = <u32>changetype<usize>(m);
  removeFrom(v, searchUaddr(v, m.uaddr, p), p);
}

export type HvaVisitor = (m: Memslot, hs: u64, he: u64) => void;

/**
 * Call visit(m, s, e) for every memslot of every live VM whose
 * [uaddr, uaddr + npages) meets [hs, he), with [s, e) the common hva pages.
 */
export function forEachSlotByHva(hs: u64, he: u64, visit: HvaVisitor): void {
  for (let c = 0; c < 64; c++) {
    let v = bucket(c);
    if (changetype<usize>(v) == 0 || v.len == 0) continue;
    let reach = (<u64>2) << <u64>c; // every slot here is shorter than this
    let from = hs >= reach ? hs - reach + 1 : 0;
    for (let i = searchUaddr(v, from), n = v.len; i < n; i++) {
      let m = changetype<Memslot>(<usize>v.get(i));
      if (m.uaddr >= he) break;
      let end = m.uaddr + m.npages;
      if (end <= hs) continue;
      visit(m, max(hs, m.uaddr), min(he, end));
    }
  }
}
