/**
 * fallocate(2) on a gmem fd: vfs_fallocate()'s checks, then kvm_gmem_fallocate():
 * KEEP_SIZE alone allocates inside EOF (kvm_gmem_allocate()), KEEP_SIZE|PUNCH_HOLE
 * punches with no EOF check (kvm_gmem_punch_hole()).
 */
import * as A from "../../abi/core-abi.js";
import { FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_MODE_MASK, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_WRITE_ZEROES, MAX_LFS_FILESIZE } from "../../uapi/constants.js";
import type { Host } from "../host.js";
import { GmemFile, type Fd } from "../objects.js";
import { fail, ok, type Result } from "../result.js";

/** vfs_fallocate(): the checks every file system gets before its own. */
function vfsCheck(mode: number, offset: bigint, len: bigint): Result | null {
  if (offset < 0n || len <= 0n) return fail("EINVAL", offset < 0n ? `offset ${offset} is negative` : `len ${len} must be positive`);
  if (mode & ~(FALLOC_FL_MODE_MASK | FALLOC_FL_KEEP_SIZE)) return fail("EOPNOTSUPP", `mode 0x${mode.toString(16)} has unknown bits`);
  switch (mode & FALLOC_FL_MODE_MASK) {
    case 0:
    case 64: // UNSHARE_RANGE
    case 16: // ZERO_RANGE
      break;
    case FALLOC_FL_PUNCH_HOLE:
      if (!(mode & FALLOC_FL_KEEP_SIZE)) return fail("EOPNOTSUPP", "PUNCH_HOLE needs KEEP_SIZE");
      break;
    case FALLOC_FL_COLLAPSE_RANGE:
    case FALLOC_FL_INSERT_RANGE:
    case FALLOC_FL_WRITE_ZEROES:
      if (mode & FALLOC_FL_KEEP_SIZE) return fail("EOPNOTSUPP", "COLLAPSE_RANGE, INSERT_RANGE and WRITE_ZEROES exclude KEEP_SIZE");
      break;
    default:
      return fail("EOPNOTSUPP", `mode 0x${mode.toString(16)} combines exclusive modes`);
  }
  return null;
}

export function fallocate(h: Host, fd: Fd | null, mode: number, offset: bigint, len: bigint): Result {
  if (!fd || !fd.fdOpen) return fail("EBADF", "fd is not open");
  const vfs = vfsCheck(mode, offset, len);
  if (vfs) return vfs;
  const end = offset + len;
  if (end > MAX_LFS_FILESIZE) return fail("EFBIG", `offset + len = ${end} is beyond the largest file size`);
  if (!(fd instanceof GmemFile)) return fail("EOPNOTSUPP", `a ${fd.kind} fd has no fallocate`);
  if (!(mode & FALLOC_FL_KEEP_SIZE)) return fail("EOPNOTSUPP", "guest_memfd needs KEEP_SIZE");
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return fail("EOPNOTSUPP", "guest_memfd supports only KEEP_SIZE and PUNCH_HOLE");
  if (offset & 4095n || len & 4095n) return fail("EINVAL", `offset ${offset} and len ${len} must be multiples of 4096`);
  const inode = fd.inode;
  const start = Number(offset >> 12n);
  const stop = Number(end >> 12n);
  if (mode & FALLOC_FL_PUNCH_HOLE) {
    h.core.push(A.OP_PUNCH, inode.id, start, stop);
    return ok();
  }
  if (end > inode.size) return fail("EINVAL", `offset + len = ${end} is beyond the file size ${inode.size}`);
  h.core.push(A.OP_ALLOCATE, inode.id, start, stop);
  return ok();
}
