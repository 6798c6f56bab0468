/**
 * File I/O on a memfd: an ordinary shmem file, the contrast to guest_memfd that
 * every VMM keeps beside it. What a memfd answers, in the kernel's order:
 * read(2)/write(2)/pread64/pwrite64 (vfs_read()/vfs_write(), then
 * shmem_file_read_iter()/shmem_file_write_iter()), ftruncate(2)
 * (do_sys_ftruncate() → shmem_setattr()) and fallocate(2) (vfs_fallocate() in
 * fallocate.ts, then shmem_fallocate()).
 *
 * The callers check the fd (EBADF) and pread/pwrite's negative offset first;
 * this file starts where a memfd differs from a gmem or VM fd.
 *
 * Contents are one byte per page (SPEC §1): a write fills every page it touches
 * with its byte, exactly as a host store does; traces that write whole pages
 * are exact, as for stores.
 */
import * as A from "../../abi/core-abi.js";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, MAX_RW_COUNT, TASK_SIZE } from "../../uapi/constants.js";
import { outOfFrames, type Host } from "../host.js";
import type { Memfd } from "../objects.js";
import { fail, ok, type Result } from "../result.js";

/** loff_t's largest value: a position plus a count beyond it wraps negative. */
const LOFF_MAX = (1n << 63n) - 1n;
/**
 * The user buffer of a read or write is `len` bytes at the lowest address a
 * process can map (vm.mmap_min_addr, 64 KiB); access_ok() refuses it when it
 * would end past the user address space.
 */
const USER_BUFFER_MAX = TASK_SIZE - 0x10000n;

const pagesUp = (bytes: bigint): number => Number((bytes + 4095n) >> 12n);

/**
 * The size is set (shmem_setattr()): unless it grows, even to the same size
 * or within a page, every page past the new end is freed, those allocated
 * past the old end included (shmem_truncate_range(inode, newsize, -1) for
 * newsize <= oldsize); a grow frees nothing.
 */
function setSize(h: Host, fd: Memfd, size: bigint): void {
  const truncate = size <= fd.size;
  const before = pagesUp(fd.size);
  fd.size = size;
  const after = pagesUp(size);
  if (truncate || after !== before) h.core.push(A.OP_INODE_RESIZE, fd.inodeId, after, truncate ? 1 : 0);
}

/**
 * read/write/pread/pwrite on a memfd. `offset` is null for read(2)/write(2),
 * which use and advance the file position. `value` fills what is written.
 */
export function memfdIo(h: Host, fd: Memfd, len: bigint, offset: bigint | null, write: boolean, value: number): Result {
  // vfs_read()/vfs_write(): access_ok() on the buffer, then rw_verify_area().
  if (len > USER_BUFFER_MAX) return fail("EFAULT", `len ${len} is longer than any user buffer can be (access_ok)`);
  const pos = offset ?? fd.pos;
  if (pos + len > LOFF_MAX) return fail("EINVAL", `offset ${pos} + len ${len} overflows a loff_t (rw_verify_area)`);
  const count = len < MAX_RW_COUNT ? len : MAX_RW_COUNT;
  let done: bigint;
  if (write) {
    // generic_write_checks(): nothing to write is 0. The position limit (EFBIG at
    // MAX_LFS_FILESIZE) cannot bite: rw_verify_area() already kept pos + count in a loff_t.
    done = count;
    if (count > 0n) {
      const first = Number(pos >> 12n);
      const end = Number((pos + count - 1n) >> 12n) + 1;
      if (!h.rangeFits(fd.inodeId, first, end)) return outOfFrames(h);
      if (pos + count > fd.size) setSize(h, fd, pos + count);
      h.core.push(A.OP_INODE_FILL, fd.inodeId, first, end, value);
    }
  } else {
    // filemap_read(): up to EOF; holes read as zeroes and allocate nothing.
    done = pos >= fd.size ? 0n : fd.size - pos < count ? fd.size - pos : count;
  }
  if (offset === null) fd.pos += done;
  return { ret: Number(done) };
}

/** ftruncate(2) past do_sys_ftruncate()'s checks: shmem_setattr() sets the size; a shrink frees the pages past it. */
export function memfdTruncate(h: Host, fd: Memfd, size: bigint): Result {
  setSize(h, fd, size);
  return ok();
}

/**
 * shmem_fallocate(), after vfs_fallocate()'s checks. `offset` and `len` are
 * non-negative and offset + len is inside a loff_t. PUNCH_HOLE frees the whole
 * pages inside the range (partial pages keep their page, zeroed in part);
 * allocation makes every page the range touches, even past EOF with KEEP_SIZE,
 * and without KEEP_SIZE grows the size to offset + len.
 */
export function memfdFallocate(h: Host, fd: Memfd, mode: number, offset: bigint, len: bigint): Result {
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return fail("EOPNOTSUPP", `shmem supports only KEEP_SIZE and PUNCH_HOLE, not mode 0x${mode.toString(16)}`);
  const end = offset + len;
  if (mode & FALLOC_FL_PUNCH_HOLE) {
    const start = Number((offset + 4095n) >> 12n);
    const stop = Number(end >> 12n);
    if (start < stop) h.core.push(A.OP_PUNCH, fd.inodeId, start, stop);
    return ok();
  }
  const start = Number(offset >> 12n);
  if (!h.rangeFits(fd.inodeId, start, pagesUp(end))) return outOfFrames(h);
  if (!(mode & FALLOC_FL_KEEP_SIZE) && end > fd.size) setSize(h, fd, end);
  h.core.push(A.OP_ALLOCATE, fd.inodeId, start, pagesUp(end));
  return ok();
}
