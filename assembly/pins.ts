/**
 * Long-term GUP pins (core-abi.ts PIN/UNPIN): the simulator's stand-in for
 * pin_user_pages(FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE) on a host mapping, as
 * VFIO's DMA mapping takes them. A pinned frame is an outstanding reference
 * that makes a to-private conversion fail (kvm_gmem_has_outstanding_references()).
 * The pin holds frames, not pgoffs: truncation detaches a pinned frame from its
 * file (frames.ts), and the pin keeps it until unpin.
 */
import { RES_OK, RES_EFAULT, RIGHT_W, PG_HWPOISON } from "../src/abi/core-abi";
import { put } from "./result";
import { Table } from "./vec";
import { alloc, free } from "./alloc";
import { findMap, isPrivate } from "./hostmap";
import { hostPageFor } from "./fault";
import { fileBlocks } from "./file";
import { faultPage, hostFaultable, pagesRef } from "./inode";
import { bmGet } from "./blockmap";
import { frameFlags, pinFrame, unpinFrame } from "./frames";

/** Per pin: a block of [n: u32, pfn: u32 x n]. */
export const pins = changetype<Table>(memory.data(offsetof<Table>(), 8));

export function resetPins(): void {
  memory.fill(changetype<usize>(pins), 0, offsetof<Table>());
}

export function pin(r: usize, id: i32, hva: u64, npages: u64): void {
  let m = findMap(hva);
  assert(m !== null, "pin outside any host map");
  let map = m!;
  // FOLL_WRITE on a mapping without write permission fails GUP.
  if (!(map.rights & RIGHT_W)) return put(r, RES_EFAULT);
  let ino = map.inode;
  let priv = isPrivate(map);
  // Every page is checked before any is touched (an all-or-nothing pin).
  for (let k: u64 = 0; k < npages; k++) {
    // A private map's copy is what a writable GUP pins; the file's page only matters where there is none.
    if (priv && bmGet(pagesRef(map.cow), hva + k - map.hva) != 0) continue;
    let pgoff = map.pgoff + (hva + k - map.hva);
    // Past EOF, a private page (kvm_gmem_fault_user_mapping()'s SIGBUS), a donated window: the fault fails.
    if (pgoff >= ino.npages || !hostFaultable(ino, pgoff) || fileBlocks(map.file, pgoff)) return put(r, RES_EFAULT);
    let pfn = bmGet(pagesRef(ino), pgoff);
    if (pfn != 0 && (frameFlags(pfn) & PG_HWPOISON)) return put(r, RES_EFAULT);
  }
  let block = alloc(<usize>(npages + 1) << 2);
  store<u32>(block, <u32>npages);
  for (let k: u64 = 0; k < npages; k++) {
    // FOLL_WRITE breaks copy-on-write: a private map's pages are copied first, as a store would.
    let pfn = priv ? <u32>hostPageFor(map, hva + k, true) : faultPage(ino, map.pgoff + (hva + k - map.hva));
    pinFrame(pfn);
    store<u32>(block + (<usize>(k + 1) << 2), pfn);
  }
  pins.set(id, block);
  put(r, RES_OK);
}

export function unpin(id: i32): void {
  let block = pins.get(id);
  assert(block != 0, "no such pin");
  let n = load<u32>(block);
  for (let k: u32 = 0; k < n; k++) unpinFrame(load<u32>(block + (<usize>(k + 1) << 2)));
  free(block, <usize>(n + 1) << 2);
  pins.set(id, 0);
}
