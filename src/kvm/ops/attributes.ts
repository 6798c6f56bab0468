/**
 * linux-next's in-place conversion (profile next, SPEC-next.md §2.1):
 * KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd fd (kvm_gmem_ioctl() ->
 * kvm_gmem_set_attributes() -> __kvm_gmem_set_attributes()), and the
 * simulator's long-term GUP pins (`pin`/`unpin`, §2.2), the one thing that
 * makes a to-private conversion fail with EAGAIN. The attributes themselves
 * live in the core, beside the inode's pages.
 */
import * as A from "../../abi/core-abi.js";
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from "../../uapi/constants.js";
import { outOfFrames, type Host } from "../host.js";
import { GmemFile, HostMap, Pin, SystemGmem, type Fd } from "../objects.js";
import { fail, withMessage, type Result } from "../result.js";
import { hasPrivateMemory } from "./vm.js";
import { fileView } from "../views.js";
import { askPolicy } from "../ask.js";
import { TraceError } from "../../errors.js";
import { overlapsRanges } from "../../ranges.js";

const U64_END = 1n << 64n;

export interface Attributes2 {
  offset: bigint;
  size: bigint;
  attributes: bigint;
  flags: bigint;
  /** reserved[11]: every entry must be 0. */
  reserved: readonly bigint[];
}

/** KVM_SET_MEMORY_ATTRIBUTES2, in kvm_gmem_ioctl()'s and kvm_gmem_set_attributes()'s order. */
export function setMemoryAttributes2(h: Host, fd: Fd | null, a: Attributes2): Result {
  if (!fd || !fd.fdOpen) return fail("EBADF", "fd is not open");
  // A VM fd: kvm_vm_ioctl() has no case and x86's kvm_arch_vm_ioctl() answers ENOTTY; shmem has no unlocked_ioctl.
  if (!(fd instanceof GmemFile || fd instanceof SystemGmem)) return fail("ENOTTY", `a ${fd.kind} fd has no KVM_SET_MEMORY_ATTRIBUTES2`);
  // kvm_gmem_ioctl(): in-place conversion off (or a tree without it) leaves the ioctl unknown, before the struct is read.
  if (!h.profile.inPlace) return fail("ENOTTY", `profile ${h.profile.name} has no in-place conversion: guest_memfd answers no KVM_SET_MEMORY_ATTRIBUTES2`);
  if (a.flags !== 0n) return fail("EINVAL", `flags 0x${a.flags.toString(16)} must be 0 (no flag is defined)`);
  const r = a.reserved.findIndex((x) => x !== 0n);
  if (r >= 0) return fail("EINVAL", `reserved[${r}] must be 0`);
  // kvm_arch_has_private_mem() of the VM of the file the ioctl is issued on. A system-design
  // fd (an extension) has no VM: it supports what /dev/kvm reports with none (PRIVATE).
  if (fd instanceof GmemFile && !hasPrivateMemory(fd.vm)) return fail("EINVAL", "the file's VM has no private memory (a default VM): it supports no attribute, not even 0");
  if (a.attributes & ~BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE)) return fail("EINVAL", `attributes 0x${a.attributes.toString(16)} has bits other than PRIVATE`);
  if (a.size === 0n || a.offset + a.size >= U64_END) return fail("EINVAL", "size must be positive and offset + size must not wrap");
  if (a.offset & 4095n || a.size & 4095n) return fail("EINVAL", "offset and size must be multiples of 4096");
  const isize = fd.inode.size;
  if (a.offset >= isize || a.offset + a.size > isize) return fail("EINVAL", `[offset, offset + size) must lie inside the file (size ${isize})`);
  const start = Number(a.offset >> 12n);
  const end = start + Number(a.size >> 12n);
  const toPrivate = a.attributes !== 0n;
  // The inode/file design: a linked file converts only inside its window, and only as the policy allows.
  if (fd.linked && (start < fd.window[0] || end > fd.window[1]))
    return fail("EINVAL", `pages [${start}, ${end}) lie outside the linked file's window [${fd.window[0]}, ${fd.window[1]})`);
  const req = { file: fileView(h, fd), range: [start, end] as const, toPrivate };
  // askPolicy() guards a user policy's hook (frozen request, a throw is a deny); without the hook the engine decides.
  const d = h.policy.convert ? askPolicy(h, "convert", req) : convertWithoutHook(fd, start, end);
  if (!d.allow) return fail("EPERM", `policy ${h.policy.name}: ${d.reason}`);
  const res: Result = { ret: 0 };
  h.later((out, base) => {
    if (out[base] !== A.RES_EAGAIN) return;
    delete res.ret;
    res.errno = "EAGAIN";
    res.error_offset = out[base + 1] * 4096;
    withMessage(res, `the page at offset ${res.error_offset} has an outstanding reference (a pin): kvm_gmem_has_outstanding_references()`);
  }, A.OP_SET_ATTRIBUTES, fd.inode.id, start, end, toPrivate ? 1 : 0);
  return res;
}

/** Without a convert hook, a file converts what it may punch (a conversion changes what every view sees, as a punch does). */
function convertWithoutHook(fd: GmemFile | SystemGmem, start: number, end: number): { allow: true } | { allow: false; reason: string } {
  if (fd.migrating) return { allow: false, reason: "a migrating file is gated until move_enc_context_from" };
  if (overlapsRanges(fd.donated, start, end)) return { allow: false, reason: "the range lies in a window this file donated away" };
  if (!fd.perm.has("punch")) return { allow: false, reason: "the file lacks the punch permission, which conversion needs without a convert hook" };
  return { allow: true };
}

/**
 * pin: pin_user_pages(FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE) over
 * [offset, offset + len) of a host map (a simulator op). The range must be
 * page-aligned, non-empty and inside the page-rounded map (a trace error
 * otherwise); a page GUP cannot fault in makes the whole pin EFAULT.
 */
export function pin(h: Host, map: HostMap, offset: bigint, len: bigint): [Result, Pin | null] {
  if (!map.alive) throw new TraceError("map: the mapping was unmapped");
  if (offset < 0n || offset & 4095n || len <= 0n || len & 4095n || offset + len > BigInt(map.npages) * 4096n)
    throw new TraceError(`offset ${offset} and len ${len} must be multiples of 4096, len > 0, inside the ${map.npages}-page mapping`);
  // Faulting the pages in may make frames: the host's frame limit applies, as for any fault (ENOMEM, nothing pinned).
  const first = map.pgoff + Number(offset >> 12n);
  if (!h.rangeFits(map.inodeId, first, first + Number(len >> 12n))) return [outOfFrames(h), null];
  const p = h.newPin();
  const res: Result = { ret: 0 };
  h.later((out, base) => {
    if (out[base] === A.RES_OK) return;
    p.alive = false;
    delete res.ret;
    res.errno = "EFAULT";
    withMessage(res, "a page of the range cannot be faulted in writable (past EOF, private, poisoned, donated, or the mapping is not writable)");
  }, A.OP_PIN, p.id, map.hvaPage + Number(offset >> 12n), Number(len >> 12n));
  // Settled now, so that whether the pin's name is live never depends on when a batch is flushed.
  h.sync();
  return [res, p];
}

/** unpin: the pin's pages lose one pin each; a page truncated while pinned is freed now. */
export function unpin(h: Host, p: Pin): Result {
  h.sync();
  if (!p.alive) throw new TraceError("pin: the pin is not live (already unpinned, or its pin failed)");
  p.alive = false;
  h.core.push(A.OP_UNPIN, p.id);
  return { ret: 0 };
}
