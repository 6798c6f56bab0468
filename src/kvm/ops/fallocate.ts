/**
 * fallocate(2) on a gmem fd: vfs_fallocate()'s checks, then kvm_gmem_fallocate():
 * KEEP_SIZE alone allocates inside EOF (kvm_gmem_allocate()), KEEP_SIZE|PUNCH_HOLE
 * punches with no EOF check (kvm_gmem_punch_hole()).
 */
import * as A from "../../abi/core-abi.js";
import { FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_MODE_MASK, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_WRITE_ZEROES } from "../../uapi/constants.js";
import { bytesText, splitBytes, type Bytes } from "../bytes.js";
import { outOfFrames, type Host } from "../host.js";
import { GmemFile, Memfd, SystemGmem, type Fd } from "../objects.js";
import { memfdFallocate } from "./memfd.js";
import { fail, OK, type Result } from "../result.js";
import { fileView } from "../views.js";
import { askPolicy } from "../ask.js";
import { ALL_PERMS } from "../perm.js";
import { defaultPolicy } from "../../policy/default.js";
import type { FallocateRequest, FileView } from "../../policy/types.js";

/**
 * The design's checks, after the kernel's own: a linked file stays inside its
 * window (EINVAL), and the policy decides (EPERM).
 */
function designCheck(h: Host, file: GmemFile | SystemGmem, op: "alloc" | "punch", start: number, stop: number): Result | null {
  if (file.linked && (start < file.window[0] || stop > file.window[1]))
    return fail("EINVAL", `pages [${start}, ${stop}) lie outside the file's window [${file.window[0]}, ${file.window[1]})`);
  if (file instanceof GmemFile && defaultAllowsWhole(h, file)) return null;
  const d = askPolicy(h, "fallocate", fallocateRequest(h, fileView(h, file), op, start, stop));
  if (!d.allow) return fail("EPERM", `policy ${h.policy.name}: ${d.reason}`);
  return null;
}

/**
 * gmemsim's own policy keeps nothing of a request and writes nothing to it
 * (ask.ts asks it directly, unfrozen): it is asked with one request object,
 * rewritten per call, where a fallocate would otherwise make two objects for
 * one question. Every other policy gets a fresh one (it may keep it).
 */
const REUSED: { file: FileView; op: "alloc" | "punch"; range: [number, number] } = { file: null as never, op: "alloc", range: [0, 0] };
function fallocateRequest(h: Host, file: FileView, op: "alloc" | "punch", start: number, stop: number): FallocateRequest {
  if (h.policy !== defaultPolicy) return { file, op, range: [start, stop] };
  REUSED.file = file;
  REUSED.op = op;
  REUSED.range[0] = start;
  REUSED.range[1] = stop;
  return REUSED;
}

/** vfs_fallocate()'s mode rules: unknown bits, and the combinations it refuses. */
function vfsModeCheck(mode: number): Result | null {
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


/**
 * Whether the host's policy is gmemsim's own and allows this file to allocate over the whole
 * file and to punch over every offset. That policy refuses a range only for
 * what it overlaps (a donated window) or for the file itself, so its allow
 * for the widest ranges holds for every range inside them: a fallocate then
 * needs no question of its own, and the typed entry may run it in the core
 * (src/kvm/hot.ts). Asked once per view (the policy is pure, and a view is remade when its file changes).
 */
export function defaultAllowsWhole(h: Host, f: GmemFile): boolean {
  if (h.policy !== defaultPolicy) return false;
  return h.viewCache.wholeAnswer(f, askWhole, h);
}

function askWhole(h: Host, f: GmemFile | SystemGmem, view: FileView): boolean {
  return askPolicy(h, "fallocate", { file: view, op: "alloc", range: [0, f.inode.npages] }).allow && askPolicy(h, "fallocate", { file: view, op: "punch", range: [0, MAX_LFS_PAGES] }).allow;
}

/**
 * Whether a gmem file's fallocates of whole pages need none of the per-op
 * checks but EOF and the frame limit: open, not linked, not kept by the
 * history, and allowed whole by gmemsim's own policy. Then fallocate()'s fast
 * path makes only those two, and the typed entry may run them in the core
 * (src/kvm/hot.ts).
 */
export function fileHot(h: Host, f: GmemFile): boolean {
  return f.fdOpen && !f.linked && !fallocateJudged(f) && defaultAllowsWhole(h, f);
}

/**
 * Whether the history keeps this fd's fallocates: only what the security
 * properties judge, fallocates by files with less than the owner's rights.
 */
export function fallocateJudged(fd: GmemFile): boolean {
  return (fd.linked || fd.donated.length > 0 || fd.perm.size < ALL_PERMS.length);
}

const off = { neg: false, pages: 0, rem: 0 };
const ln = { neg: false, pages: 0, rem: 0 };
/** 2^63 bytes in pages: offset + len at or past it is beyond MAX_LFS_FILESIZE, or wrapped. */
export const MAX_LFS_PAGES = 2 ** 51;

/**
 * fallocate(2). offset and len are loff_t byte values (number or bigint).
 * Order: the fd, vfs_fallocate()'s checks (EINVAL, EOPNOTSUPP, EFBIG), then
 * kvm_gmem_fallocate()'s (EOPNOTSUPP, EINVAL, and EOF for allocation), then the
 * inode/file design's (window, policy).
 */
export function fallocate(h: Host, fd: Fd | null, mode: number, offset: Bytes, len: Bytes): Result {
  if (fd instanceof GmemFile && (mode === FALLOC_FL_KEEP_SIZE || mode === (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))) {
    const r = hotFallocate(h, fd, mode !== FALLOC_FL_KEEP_SIZE, offset, len);
    if (r !== null) return r;
  }
  if (!fd || !fd.fdOpen) return fail("EBADF", "fd is not open");
  splitBytes(offset, off);
  splitBytes(len, ln);
  if (off.neg) return fail("EINVAL", `offset ${bytesText(offset)} is negative`);
  if (ln.neg || (ln.pages === 0 && ln.rem === 0)) return fail("EINVAL", `len ${bytesText(len)} must be positive`);
  const vfs = vfsModeCheck(mode);
  if (vfs) return vfs;
  // A VM fd's anon inode is not a regular file: vfs_fallocate() refuses it before the size check (checked live).
  if (fd.kind === "vm") return fail("ENODEV", "a VM fd is not a regular file");
  // offset + len in pages and remainder; at 2^63 bytes or more it is beyond the largest file.
  const endPages = off.pages + ln.pages + (off.rem + ln.rem >= 4096 ? 1 : 0);
  if (endPages >= MAX_LFS_PAGES) return fail("EFBIG", `offset + len is beyond the largest file size`);
  if (fd instanceof Memfd) return memfdFallocate(h, fd, mode, BigInt(offset), BigInt(len));
  if (!(mode & FALLOC_FL_KEEP_SIZE)) return fail("EOPNOTSUPP", "guest_memfd needs KEEP_SIZE");
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return fail("EOPNOTSUPP", "guest_memfd supports only KEEP_SIZE and PUNCH_HOLE");
  if (off.rem || ln.rem) return fail("EINVAL", `offset ${bytesText(offset)} and len ${bytesText(len)} must be multiples of 4096`);
  const inode = fd.inode;
  const start = off.pages;
  const stop = endPages;
  const op = mode & FALLOC_FL_PUNCH_HOLE ? "punch" : "alloc";
  if (op === "alloc" && stop > inode.npages) return fail("EINVAL", `offset + len = ${stop * 4096} is beyond the file size ${inode.size}`);
  const denied = designCheck(h, fd, op, start, stop);
  if (denied) return denied;
  const noFrames = runFallocate(h, inode.id, op === "punch", start, stop);
  if (noFrames) return noFrames;
  if (fd instanceof GmemFile && fallocateJudged(fd)) h.events.push({ kind: "fallocate", file: fd.id, vm: fd.vm.id, inode: inode.id, op, range: [start, stop] });
  return OK;
}

/**
 * fallocate() of whole pages, given as safe integers, on a gmem file whose
 * fallocates need no check but EOF and the frame limit (fileHot()): every
 * other check of fallocate() passes for it, in
 * its order, so only those two are made, and the command runs at once where
 * the core can (its hot call), queued otherwise. null, having done nothing,
 * for anything else: fallocate() then makes every check.
 */
function hotFallocate(h: Host, fd: GmemFile, punch: boolean, offset: Bytes, len: Bytes): Result | null {
  if (typeof offset !== "number" || typeof len !== "number" || !(offset >= 0 && len > 0 && offset + len <= Number.MAX_SAFE_INTEGER)) return null;
  // A page count: a division by 4096 is exact, so an integer quotient is an aligned byte value.
  const start = offset / 4096;
  const stop = start + len / 4096;
  if (!Number.isInteger(start) || !Number.isInteger(stop) || !fileHot(h, fd)) return null;
  if (!punch && stop > fd.inode.npages) return null;
  return runFallocate(h, fd.inode.id, punch, start, stop) ?? OK;
}

/**
 * The fallocate itself, once every other check has passed: the frame limit
 * (ENOMEM) for an allocate, then the command, run at once where the core can
 * (its hot call), queued otherwise. null when it ran.
 */
function runFallocate(h: Host, inode: number, punch: boolean, start: number, stop: number): Result | null {
  if (!punch && !h.rangeFits(inode, start, stop)) return outOfFrames(h);
  const hot = h.core.hot;
  if (hot === undefined || !hot.fallocate(inode, start, stop, punch)) h.core.push(punch ? A.OP_PUNCH : A.OP_ALLOCATE, inode, start, stop);
  return null;
}
