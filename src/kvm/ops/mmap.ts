/**
 * Host userspace memory: anonymous regions, memfds, mmap of gmem files
 * (kvm_gmem_mmap(), kvm_gmem_fault_user_mapping()), munmap, and loads and stores.
 * The fault rules themselves (EOF, INIT_SHARED, poison, protection) are the
 * core's HOST_ACCESS, so that guest accesses through userspace_addr share them.
 */
import * as A from "../../abi/core-abi.js";
import { GUEST_MEMFD_FLAG_MMAP, MAX_LFS_FILESIZE, TASK_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from "../../uapi/constants.js";

import type { Host, StaticFiller } from "../host.js";
import { GmemFile, HostMap, Memfd, SystemGmem, type Fd } from "../objects.js";
import { fail, ok, withMessage, type Result } from "../result.js";
import { overlapsRanges } from "../../ranges.js";

function rightsOf(prot: number): number {
  return (prot & PROT_READ ? A.RIGHT_R : 0) | (prot & PROT_WRITE ? A.RIGHT_W : 0) | (prot & PROT_EXEC ? A.RIGHT_X : 0);
}

function pagesOf(len: bigint): number {
  return Number((len + 4095n) >> 12n);
}

export function anonMap(h: Host, len: bigint): [Result, HostMap | null] {
  if (len <= 0n) return [fail("EINVAL", `len ${len} must be positive`), null];
  if (((len + 4095n) & ~4095n) > TASK_SIZE) return [fail("ENOMEM", `len ${len} does not fit in the process's address space`), null];
  const npages = pagesOf(len);
  const inode = h.newAnonInode(npages);
  const map = h.newMap(npages, PROT_READ | PROT_WRITE, { anonInode: inode }, inode, 0, A.RIGHT_R | A.RIGHT_W);
  return [ok(), map];
}

/** memfd_create(2), then ftruncate(2) to `size` (a loff_t: negative is EINVAL, and nothing is left behind). */
export function memfdCreate(h: Host, size: bigint): [Result, Memfd | null] {
  size = BigInt.asIntN(64, size);
  if (size < 0n) return [fail("EINVAL", `size ${size} is negative`), null];
  const inode = h.newAnonInode(pagesOf(size));
  return [ok(), new Memfd(inode, size)];
}

/**
 * mmap(2) of an fd, in the kernel's order: the offset's alignment (sys_mmap),
 * the fd (EBADF), the length, then do_mmap()'s noexec-mount rule (EPERM for
 * PROT_EXEC on the anon-inode mount), then the file's own mmap: gmem needs
 * GUEST_MEMFD_FLAG_MMAP (ENODEV) and a shared mapping (EINVAL).
 */
export function mmap(h: Host, fd: Fd | null, offset: bigint, len: bigint, prot: number, shared: boolean): [Result, HostMap | null] {
  if (offset & 4095n) return [fail("EINVAL", `offset ${offset} must be page-aligned`), null];
  if (!fd || !fd.fdOpen) return [fail("EBADF", "fd is not open"), null];
  if (len <= 0n) return [fail("EINVAL", `len ${len} must be positive`), null];
  // do_mmap(): the page-rounded length must fit the address space (__get_unmapped_area()), before any file check.
  const rounded = (len + 4095n) & ~4095n;
  if (rounded >= 1n << 64n || rounded > TASK_SIZE) return [fail("ENOMEM", `len ${len} does not fit in the process's address space`), null];
  // file_mmap_ok(): the file range must stay below MAX_LFS_FILESIZE.
  const off = BigInt.asUintN(64, offset);
  if (off >= MAX_LFS_FILESIZE || MAX_LFS_FILESIZE - off < rounded) return [fail("EOVERFLOW", `offset ${offset} + len ${len} is beyond the largest file offset`), null];
  const npages = pagesOf(len);
  const pgoff = Number(off >> 12n);
  // A memfd may be mapped private: copy-on-write, as any shmem file (core-abi.ts HOSTMAP_COW).
  if (fd instanceof Memfd) return [ok(), h.newMap(npages, prot, fd, fd.inodeId, pgoff, rightsOf(prot), !shared)];
  if (prot & PROT_EXEC) return [fail("EPERM", "PROT_EXEC on a file of a noexec mount (anon inodes)"), null];
  if (!(fd instanceof GmemFile || fd instanceof SystemGmem)) return [fail("ENODEV", "a VM fd cannot be mapped"), null];
  if (!(fd.inode.flags & GUEST_MEMFD_FLAG_MMAP)) return [fail("ENODEV", "the guest_memfd was created without GUEST_MEMFD_FLAG_MMAP"), null];
  if (!shared) return [fail("EINVAL", "a guest_memfd can only be mapped shared (MAP_SHARED)"), null];
  // The inode/file design: a linked file maps only its window, never a donated one, and not before a migration completes.
  if (fd.migrating) return [fail("EPERM", "a migrating file cannot be mapped until move_enc_context_from"), null];
  if (fd.linked && (pgoff < fd.window[0] || pgoff + npages > fd.window[1]))
    return [fail("EINVAL", `pages [${pgoff}, +${npages}) lie outside the linked file's window [${fd.window[0]}, ${fd.window[1]})`), null];
  if (overlapsRanges(fd.donated, pgoff, pgoff + npages)) return [fail("EPERM", "the range overlaps a window this file donated away"), null];
  if (prot & PROT_WRITE && !fd.perm.has("w")) return [fail("EACCES", "a writable mapping of a file without the w permission (like O_RDONLY)"), null];
  return [ok(), h.newMap(npages, prot, fd, fd.inode.id, pgoff, rightsOf(prot))];
}

export function munmap(h: Host, map: HostMap): Result {
  // Twice would drop the file's pin twice and free what another mapping still holds.
  if (!map.alive) return fail("EBADF", "the mapping was already unmapped");
  h.unmap(map);
  return ok();
}

/**
 * Whether byte `offset` of a map is memory of the process: a live map, inside
 * its page-rounded length. Elsewhere the handles and the typed tier answer
 * SIGSEGV, as a real process would; traces call it an error of the trace.
 */
export function mapHolds(map: HostMap, offset: number): boolean {
  return map.alive && offset >= 0 && offset < map.npages * 4096;
}

/** Queues a load or store at byte `offset` of a map (inside it); returns the command's index in the core's batch. */
export function queueHostAccess(h: Host, map: HostMap, offset: number, store: boolean, value: number): number {
  return h.core.push(A.OP_HOST_ACCESS, map.hvaPage + Math.floor(offset / 4096), store ? 1 : 0, value);
}

/** The kernel layer's check before a host access reaches the core: null when it may (a frame is then reserved). */
export function hostAccessDenied(h: Host, map: HostMap, store: boolean): Result | null {
  // Out of frames, a host fault cannot be served; the simulated process is not OOM-killed, it gets SIGBUS.
  if (!h.faultFits(h.faultFrames(store, map))) {
    return withMessage<Result>({ signal: "SIGBUS" }, `the host holds its limit of ${h.frameLimit} frames`);
  }
  return null;
}

/** Completes a host access's Result from its result words: a load's value, or the signal. */
function fillHostAccess(res: Float64Array, base: number, r: Result, load: boolean): void {
  const code = res[base];
  if (code === A.RES_OK) {
    if (load) r.value = res[base + 1];
    return;
  }
  delete r.ret;
  r.signal = code === A.RES_SIGSEGV ? "SIGSEGV" : "SIGBUS";
}
// Module-level fillers for the host's pending list: no closure per access.
const fillLoad: StaticFiller = (res, base, r) => fillHostAccess(res, base, r, true);
const fillStore: StaticFiller = (res, base, r) => fillHostAccess(res, base, r, false);

/** A load or store at byte `offset` of a map (the trace layer checked it lies inside); its Result is final at the next flush. */
export function hostAccess(h: Host, map: HostMap, offset: number, store: boolean, value: number): Result {
  const denied = hostAccessDenied(h, map, store);
  if (denied) return denied;
  const r: Result = { ret: 0 };
  h.fillLater(queueHostAccess(h, map, offset, store, value), store ? fillStore : fillLoad, r, null);
  return r;
}

/** The same access run at once (the object API's Mapping.load and store): the Result is read straight from the result words. */
export function hostAccessNow(h: Host, map: HostMap, offset: number, store: boolean, value: number): Result {
  const denied = hostAccessDenied(h, map, store);
  if (denied) return denied;
  const index = queueHostAccess(h, map, offset, store, value);
  h.sync();
  const r: Result = { ret: 0 };
  fillHostAccess(h.core.results, index * A.RES_WORDS, r, !store);
  return r;
}
