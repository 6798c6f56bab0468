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
import { fileView } from "../../policy/views.js";
import { ALL_PERMS } from "../perm.js";

/**
 * The design's checks, after the kernel's own: a linked file stays inside its
 * window (EINVAL), and the policy decides (EPERM).
 */
function designCheck(h: Host, file: GmemFile, op: "alloc" | "punch", start: number, stop: number): Result | null {
  if (file.linked && (start < file.window[0] || stop > file.window[1]))
    return fail("EINVAL", `pages [${start}, ${stop}) lie outside the file's window [${file.window[0]}, ${file.window[1]})`);
  const d = h.policy.fallocate?.({ file: fileView(file), op, range: [start, stop] });
  if (d && !d.allow) return fail("EPERM", `policy ${h.policy.name}: ${d.reason}`);
  return null;
}

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
  const op = mode & FALLOC_FL_PUNCH_HOLE ? "punch" : "alloc";
  if (op === "alloc" && end > inode.size) return fail("EINVAL", `offset + len = ${end} is beyond the file size ${inode.size}`);
  const denied = designCheck(h, fd, op, start, stop);
  if (denied) return denied;
  h.core.push(op === "punch" ? A.OP_PUNCH : A.OP_ALLOCATE, inode.id, start, stop);
  // The history keeps only what the security properties judge: fallocates by files with less than the owner's rights.
  if (fd.linked || fd.donated.length > 0 || fd.perm.size < ALL_PERMS.length) h.events.push({ kind: "fallocate", file: fd, op, range: [start, stop] });
  return ok();
}
