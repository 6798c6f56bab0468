/**
 * A gmem file: one VM's view of an inode (struct kvm_gmem), with its guest
 * rights and its bindings. Mirrors __kvm_gmem_create() (the file joins its
 * inode's list) and kvm_gmem_release() (every binding's gfns zapped, the
 * memslots left in place with no file, the pages kept for other files).
 * A file may also have blocked ranges: donated windows (FILE_BLOCK,
 * invalidate.ts) that neither its bindings nor its host maps reach any more.
 */
import { Vec, Table, Ranges } from "./vec";
import { make, unmake } from "./alloc";
import { Kvm, getVm } from "./kvm";
import { Inode, getInode } from "./inode";
import { bindingAt, unbindInode } from "./binding";
import { zapRange } from "./stage2";

@unmanaged
export class GmemFile {
  id: i32 = 0;
  rights: u32 = 0;
  /** What a fault does on a page prepared under another context (FOREIGN_*). */
  foreign: u32 = 0;
  inode: Inode = changetype<Inode>(0);
  vm: Kvm = changetype<Kvm>(0);
  /** Bound memslots, sorted by their pgoff (see binding.ts). */
  bindings: Vec = changetype<Vec>(0);
  /** Blocked pgoff ranges (FILE_BLOCK), sorted and merged; usually empty. */
  blocked: Ranges = changetype<Ranges>(0);
}

// Static, not made at start-up: reset() then only has to zero it.
export const files = changetype<Table>(memory.data(offsetof<Table>(), 8));

export function resetFiles(): void {
  memory.fill(changetype<usize>(files), 0, offsetof<Table>());
}

@inline export function getFile(id: i32): GmemFile {
  let p = files.get(id);
  assert(p != 0, "no such file");
  return changetype<GmemFile>(p);
}

export function fileCreate(id: i32, inodeId: i32, vmId: i32, rights: u32): void {
  let f = make<GmemFile>();
  f.bindings = make<Vec>();
  f.blocked = make<Ranges>();
  f.id = id;
  f.rights = rights;
  f.inode = getInode(inodeId);
  f.vm = getVm(vmId);
  f.inode.files.push(<u32>changetype<usize>(f));
  files.set(id, changetype<usize>(f));
}

/** Zap the whole gfn range of every binding, in the file's VM. */
function zapBindings(f: GmemFile): void {
  let v = f.bindings;
  for (let i = 0, n = v.len; i < n; i++) {
    let m = bindingAt(v, i);
    zapRange(f.vm, m.base, m.base + m.npages);
  }
}

export function fileRelease(id: i32): void {
  let f = getFile(id);
  zapBindings(f);
  let v = f.bindings;
  for (let i = 0, n = v.len; i < n; i++) {
    let m = bindingAt(v, i);
    unbindInode(f.inode, m);
    m.file = -1;
  }
  f.inode.files.remove(<u32>changetype<usize>(f));
  v.dispose();
  f.blocked.dispose();
  unmake(f);
  files.set(id, 0);
}

export function fileSetRights(id: i32, rights: u32): void {
  let f = getFile(id);
  f.rights = rights;
  zapBindings(f);
}

/**
 * Whether pgoff is blocked in file id (a host map's file: -1 for none). A
 * released file blocks nothing (the kernel layer keeps a mapped file alive).
 */
@inline export function fileBlocks(id: i32, pgoff: u64): bool {
  if (id < 0) return false;
  let p = files.get(id);
  return p != 0 && changetype<GmemFile>(p).blocked.has(pgoff);
}

export function fileSetForeign(id: i32, mode: u32): void {
  getFile(id).foreign = mode;
}
