/**
 * The inode: the guest_memfd storage (or an anonymous host region), with its
 * page cache pgoff -> pfn (the address_space's i_pages), the files open on it
 * (i_private_list) and its host mappings (i_mmap). Mirrors
 * kvm_gmem_get_folio() / __filemap_get_folio(FGP_CREAT) and kvm_gmem_allocate().
 */
import { INODE_GMEM, PG_HWPOISON, PG_UPTODATE } from "../src/abi/core-abi";
import { Vec, Table, Ranges } from "./vec";
import { make, unmake } from "./alloc";
import { bmLookup, bmInsertAt, lookupBlock, bmClear, bmFill, bmForEach } from "./blockmap";
import { frameAlloc, frameAllocRun, frameFlags, setFrameByte, setFrameFlags, freeFrames, setFreeKind } from "./frames";

@unmanaged
export class Inode {
  /** Page cache (blockmap.ts pgoff -> pfn): its directory root, then the block map's copy of a flat directory's base (the root's 8-byte pair). */
  pages: u32 = 0;
  pagesFlatBase: u32 = 0;
  id: i32 = 0;
  kind: i32 = 0;
  gmemFlags: u32 = 0;
  npages: u64 = 0;
  /**
   * The inode's one binding (a Memslot pointer) while it has exactly one and no host map, else 0
   * (updateSolo()): invalidate() then zaps through it, on the line a punch reads the page cache's root from,
   * rather than through the inode's index of bindings.
   */
  solo: usize = 0;
  /** Files on this inode, in creation order (GmemFile pointers). */
  files: Vec = changetype<Vec>(0);
  /** Host maps of this inode, ascending id (HostMap pointers). */
  maps: Vec = changetype<Vec>(0);
  /**
   * The same maps ascending by pgoff, for the MMU notifier of a range (invalidate.ts): a map showing pgoffs
   * [s, e) starts after s minus the longest map, so the maps over a range are a binary search away, where a walk
   * of every map of the inode made n one-page punches of an inode mapped n times cost n^2.
   */
  mapsByPgoff: Vec = changetype<Vec>(0);
  /** The most pages a map of this inode ever showed (a bound, never lowered). */
  mapsLongest: u64 = 0;
  /**
   * Every binding of every file of this inode (Memslot pointers), ascending pgoff (binding.ts): a punch zaps the
   * bindings over its range, found by a binary search, where kvm_gmem_invalidate_begin() walks every file of the
   * inode (an inode shared by a file per VM made n one-page punches cost n^2).
   */
  bound: Vec = changetype<Vec>(0);
  /** The most pages a binding of this inode ever had (a bound, never lowered). */
  boundLongest: u64 = 0;
  /** pgoff runs whose attribute is PRIVATE (the inode's attribute map, attributes.ts). */
  priv: Ranges = changetype<Ranges>(0);
}

/** uAPI GUEST_MEMFD_FLAG_INIT_SHARED: host faults may populate a gmem inode. */
const GUEST_MEMFD_FLAG_INIT_SHARED: u32 = 2;

// Static, not made at start-up: reset() then only has to zero it.
export const inodes = changetype<Table>(memory.data(offsetof<Table>(), 8));

@inline export function getInode(id: i32): Inode {
  let p = inodes.get(id);
  assert(p != 0, "no such inode");
  return changetype<Inode>(p);
}

/** Inode.solo from the inode's bindings and maps: called wherever either changes. */
export function updateSolo(ino: Inode): void {
  ino.solo = ino.bound.len == 1 && ino.maps.len == 0 ? <usize>ino.bound.get(0) : 0;
}

@inline export function pagesRef(ino: Inode): usize {
  return changetype<usize>(ino) + offsetof<Inode>("pages");
}

export function inodeCreate(id: i32, npages: u64, kind: i32, gmemFlags: u32): void {
  let ino = make<Inode>();
  ino.files = make<Vec>();
  ino.maps = make<Vec>();
  ino.mapsByPgoff = make<Vec>();
  ino.bound = make<Vec>();
  ino.id = id;
  ino.npages = npages;
  ino.kind = kind;
  ino.gmemFlags = gmemFlags;
  ino.priv = make<Ranges>();
  // kvm_gmem_init_inode(): every page index starts PRIVATE unless INIT_SHARED.
  if (kind == INODE_GMEM && !(gmemFlags & GUEST_MEMFD_FLAG_INIT_SHARED)) ino.priv.add(0, npages);
  inodes.set(id, changetype<usize>(ino));
}

/** Frees every page, ascending pgoff; returns how many. */
export function inodeDestroy(id: i32): i64 {
  let ino = getInode(id);
  setFreeKind(ino.kind);
  let n = bmClear(pagesRef(ino), freeFrames);
  ino.files.dispose();
  ino.maps.dispose();
  ino.mapsByPgoff.dispose();
  ino.bound.dispose();
  ino.priv.dispose();
  unmake(ino);
  inodes.set(id, 0);
  return n;
}

/**
 * kvm_gmem_allocate(): a frame for every absent pgoff in [start, end),
 * ascending; present pages are left alone. Returns how many were made.
 */
export function allocate(ino: Inode, start: u64, end: u64): i64 {
  if (end - start == 1) {
    // One page (most guest-driven fallocates): a lookup, and a miss inserts where it ended, as a fault does.
    if (bmLookup(pagesRef(ino), start) != 0) return 0;
    let block = lookupBlock;
    bmInsertAt(pagesRef(ino), start, frameAlloc(ino.kind), block);
    return 1;
  }
  fillKind = ino.kind;
  return bmFill(pagesRef(ino), start, end, newFrames);
}

let fillKind: i32 = 0;

function newFrames(dst: usize, n: i32): void {
  frameAllocRun(fillKind, dst, n);
}

/**
 * The page at pgoff for a fault: got or created, then zeroed and marked
 * uptodate if it was not. Returns 0 instead if the page is poisoned.
 */
export function faultPage(ino: Inode, pgoff: u64): u32 {
  // Most faults find the page: a plain lookup, and a miss inserts where it ended.
  let pfn = bmLookup(pagesRef(ino), pgoff);
  if (pfn == 0) {
    let block = lookupBlock;
    pfn = frameAlloc(ino.kind);
    bmInsertAt(pagesRef(ino), pgoff, pfn, block);
    setFrameFlags(pfn, PG_UPTODATE);
    return pfn;
  }
  let f = frameFlags(pfn);
  if (f & PG_HWPOISON) return 0;
  if (!(f & PG_UPTODATE)) {
    setFrameByte(pfn, 0);
    setFrameFlags(pfn, f | PG_UPTODATE);
  }
  return pfn;
}

/**
 * Whether host faults may populate the page: its attribute is shared
 * (kvm_gmem_fault_user_mapping(); anon memory has no attributes).
 */
@inline export function hostFaultable(ino: Inode, pgoff: u64): bool {
  return !ino.priv.has(pgoff);
}

let poisonedSeen: i64 = 0;

function countPoisoned(_pgoff: u64, pfn: u32): void {
  if (frameFlags(pfn) & PG_HWPOISON) poisonedSeen++;
}

/** Poisoned pages of the inode: a walk, since only counters ask (stats are not a hot path). */
export function inodeStats(ino: Inode): i64 {
  poisonedSeen = 0;
  bmForEach(ino.pages, 0, u64.MAX_VALUE, countPoisoned);
  return poisonedSeen;
}

export function resetInodes(): void {
  memory.fill(changetype<usize>(inodes), 0, offsetof<Table>());
  fillKind = 0;
  poisonedSeen = 0;
}
