/**
 * Host virtual address space: the VMAs of host userspace mappings (mmap of a
 * gmem file, or anonymous memory), each showing inode pages from a pgoff on.
 * Sorted by hva page; maps never overlap, so find_vma() is a binary search
 * (with the last hit remembered, as host loops touch one map at a time).
 */
import { Vec, Table } from "./vec";
import { make, unmake } from "./alloc";
import { Inode, getInode, updateSolo } from "./inode";
import { pgoffInsert, pgoffRemove } from "./pgoff-index";

@unmanaged
export class HostMap {
  id: i32 = 0;
  rights: u32 = 0;
  inode: Inode = changetype<Inode>(0);
  hva: u64 = 0;
  npages: u64 = 0;
  pgoff: u64 = 0;
  /** The gmem file mapped (its blocked ranges apply), or -1 for anon memory and memfds. */
  file: i32 = -1;
  /** A private map's copied pages, by page of the map (HOSTMAP_COW), or none (0). */
  cow: Inode = changetype<Inode>(0);
}

@inline export function isPrivate(m: HostMap): bool {
  return changetype<usize>(m.cow) != 0;
}

/** HOSTMAP_COW: the map is private, its copies in the anon inode `inodeId`. */
export function mapSetCow(id: i32, inodeId: i32): void {
  getMap(id).cow = getInode(inodeId);
}

// Static, not made at start-up: reset() then only has to zero it.
export const maps = changetype<Table>(memory.data(offsetof<Table>(), 8));
const byHva = changetype<Vec>(memory.data(offsetof<Vec>(), 8));
let lastMap: usize = 0;

export function resetMaps(): void {
  memory.fill(changetype<usize>(maps), 0, offsetof<Table>());
  memory.fill(changetype<usize>(byHva), 0, offsetof<Vec>());
  lastMap = 0;
}

@inline export function getMap(id: i32): HostMap {
  let p = maps.get(id);
  assert(p != 0, "no such host map");
  return changetype<HostMap>(p);
}

/** First index in byHva whose map starts at or after hva. */
function searchHva(hva: u64): i32 {
  let lo = 0, hi = byHva.len;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (changetype<HostMap>(<usize>byHva.get(mid)).hva < hva) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** The map holding hva page, or null. */
export function findMap(hva: u64): HostMap | null {
  if (lastMap != 0) {
    let m = changetype<HostMap>(lastMap);
    if (hva - m.hva < m.npages) return m;
  }
  let i = searchHva(hva + 1);
  if (i == 0) return null;
  let m = changetype<HostMap>(<usize>byHva.get(i - 1));
  if (hva - m.hva >= m.npages) return null;
  lastMap = changetype<usize>(m);
  return m;
}

export function mapCreate(id: i32, hva: u64, npages: u64, inodeId: i32, pgoff: u64, rights: u32, file: i32): void {
  let m = make<HostMap>();
  m.id = id;
  m.hva = hva;
  m.npages = npages;
  m.inode = getInode(inodeId);
  m.pgoff = pgoff;
  m.rights = rights;
  m.file = file;
  maps.set(id, changetype<usize>(m));
  byHva.insertAt(searchHva(hva), <u32>changetype<usize>(m));
  m.inode.maps.push(<u32>changetype<usize>(m));
  let ino = m.inode;
  pgoffInsert<HostMap>(ino.mapsByPgoff, m);
  if (npages > ino.mapsLongest) ino.mapsLongest = npages;
  updateSolo(ino);
}

/** Forget the map (the caller has run the MMU notifier over it first). */
export function mapRemove(m: HostMap): void {
  let p = <u32>changetype<usize>(m);
  let i = searchHva(m.hva);
  while (byHva.get(i) != p) i++;
  byHva.removeAt(i);
  m.inode.maps.remove(p);
  pgoffRemove<HostMap>(m.inode.mapsByPgoff, m);
  updateSolo(m.inode);
  if (lastMap == changetype<usize>(m)) lastMap = 0;
  maps.set(m.id, 0);
  unmake(m);
}
