/**
 * KVM_CREATE_GUEST_MEMFD (kvm_gmem_create()) and the plain file operations a
 * gmem fd answers through the VFS: it defines only mmap, open, release and
 * fallocate, so read/write are EINVAL, pread/pwrite ESPIPE, and setattr (every
 * size change) EINVAL.
 */
import * as A from "../../abi/core-abi.js";
import type { Host } from "../host.js";
import { GmemFile, Memfd, SystemGmem, type Fd, type Vm } from "../objects.js";
import { exact, fail, ok, type Result } from "../result.js";
import { supportedGmemFlags } from "./vm.js";
import { setForeignMode } from "./foreign.js";
import { memfdIo, memfdTruncate } from "./memfd.js";

export function createGuestMemfd(h: Host, vm: Vm | null, size: bigint, flags: bigint): [Result, GmemFile | null] {
  if (!vm || !vm.fdOpen) return [fail("EBADF", "vm is not an open VM fd"), null];
  // Flags are checked before size.
  const supported = BigInt(supportedGmemFlags(h.profile, vm));
  if (flags & ~supported)
    return [fail("EINVAL", `flags 0x${flags.toString(16)} has bits outside the supported set 0x${supported.toString(16)}`), null];
  const ssize = BigInt.asIntN(64, size);
  if (ssize <= 0n || ssize % 4096n !== 0n)
    return [fail("EINVAL", `size ${ssize} must be positive as a loff_t and a multiple of 4096`), null];
  const file = h.newGmem(vm, ssize, Number(flags));
  setForeignMode(h, file);
  return [ok(), file];
}

function openFd(fd: Fd | null): fd is Fd {
  return fd !== null && fd.fdOpen;
}

export function fstat(h: Host, fd: Fd | null): Result {
  if (!openFd(fd)) return fail("EBADF", "fd is not open");
  // guest_memfd's page-cache folios are not counted in i_blocks: always 0 on 6.18.
  if (fd instanceof GmemFile || fd instanceof SystemGmem) return ok({ size: exact(fd.inode.size), blocks: 0 });
  if (fd instanceof Memfd) {
    // shmem counts its pages: 8 blocks of 512 bytes each.
    const r: Result = { ret: 0, size: exact(fd.size), blocks: 0 };
    h.later((res, base) => {
      r.blocks = res[base + 1] * 8;
    }, A.OP_STATS_INODE, fd.inodeId);
    return r;
  }
  return ok({ size: 0, blocks: 0 });
}

/**
 * read(2)/write(2): a gmem or VM fd has no read/write methods, so no
 * FMODE_CAN_READ/WRITE (EINVAL); a memfd reads and writes at its position.
 * `value` is the byte a write fills with.
 */
export function readWrite(h: Host, fd: Fd | null, len: bigint, write: boolean, value = 0): Result {
  if (!openFd(fd)) return fail("EBADF", "fd is not open");
  if (fd instanceof Memfd) return memfdIo(h, fd, len, null, write, value);
  return fail("EINVAL", `fd has no ${write ? "write" : "read"} method (a ${fd.kind} fd)`);
}

/**
 * pread64/pwrite64: a negative offset is EINVAL before the fd is looked up;
 * then no FMODE_PREAD/PWRITE is ESPIPE; a memfd reads and writes at offset.
 */
export function preadPwrite(h: Host, fd: Fd | null, len: bigint, offset: bigint, write: boolean, value = 0): Result {
  if (offset < 0n) return fail("EINVAL", `offset ${offset} is negative`);
  if (!openFd(fd)) return fail("EBADF", "fd is not open");
  if (fd instanceof Memfd) return memfdIo(h, fd, len, offset, write, value);
  return fail("ESPIPE", `a ${fd.kind} fd cannot be read or written at an offset`);
}

/**
 * ftruncate(2): a negative length is EINVAL first; gmem's setattr refuses every
 * size change, a VM fd is not a regular file, a memfd takes the new size.
 */
export function ftruncate(h: Host, fd: Fd | null, size: bigint): Result {
  if (size < 0n) return fail("EINVAL", `size ${size} is negative`);
  if (!openFd(fd)) return fail("EBADF", "fd is not open");
  if (fd instanceof Memfd) return memfdTruncate(h, fd, size);
  return fail("EINVAL", fd instanceof GmemFile || fd instanceof SystemGmem ? "a guest_memfd's size is immutable (kvm_gmem_setattr)" : "a VM fd is not a regular file");
}

export function close(h: Host, fd: Fd | null): Result {
  if (!openFd(fd)) return fail("EBADF", "fd is not open");
  h.closeFd(fd);
  return ok();
}
