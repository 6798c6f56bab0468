/**
 * The guest's side: a vCPU access through the x86 fault path (kvm_mmu_faultin_pfn()
 * and its gmem and hva branches, in the core), KVM_SET_MEMORY_ATTRIBUTES
 * (kvm_vm_ioctl_set_mem_attributes()), memory failure (kvm_gmem_error_folio())
 * and the simulator's counters.
 */
import * as A from "../../abi/core-abi.js";
import { outOfFrames, type Host, type StaticFiller } from "../host.js";
import { GmemFile, SystemGmem, type Fd, type Vm } from "../objects.js";
import { exact, fail, ok, withMessage, type Result } from "../result.js";
import { hasPrivateMemory, supportedVmAttributes } from "./vm.js";
import { TraceError } from "../../errors.js";
import type { Bytes } from "../bytes.js";
import { NOT_NOW } from "../../core/core.js";
import { overlapsRanges, setRange } from "../../ranges.js";

export type Access = "read" | "write" | "exec";
/** An access's core code (A.ACCESS_*): compares, where a keyed load of a table would be a lookup by string. */
const accessCode = (access: Access): number => (access === "read" ? A.ACCESS_READ : access === "write" ? A.ACCESS_WRITE : A.ACCESS_EXEC);

/** Whether gfn lies in the VM's private ranges (sorted and disjoint: a binary search). */
const isPrivateGfn = (vm: Vm, gfn: number): boolean => overlapsRanges(vm.privateRanges, gfn, gfn + 1);

/**
 * What each core outcome of a guest access is at the uAPI (core-abi.ts
 * RES_*): the errno, the exit, or the signal. One table for every tier: the
 * result objects below and the typed tier's words both read it.
 */
export interface GuestOutcome {
  errno?: "EFAULT" | "EHWPOISON" | "EACCES";
  exit?: "mmio" | "internal_error" | "memory_fault";
  signal?: "SIGBUS";
}
export const GUEST_OUTCOMES: readonly GuestOutcome[] = (() => {
  const t: GuestOutcome[] = [];
  t[A.RES_OK] = {};
  t[A.RES_MMIO] = { exit: "mmio" };
  t[A.RES_INTERNAL_ERROR] = { exit: "internal_error" };
  t[A.RES_EFAULT] = { errno: "EFAULT" };
  t[A.RES_SIGBUS] = { signal: "SIGBUS" };
  t[A.RES_MEMFAULT_EFAULT] = { errno: "EFAULT", exit: "memory_fault" };
  t[A.RES_MEMFAULT_EHWPOISON] = { errno: "EHWPOISON", exit: "memory_fault" };
  t[A.RES_MEMFAULT_EACCES] = { errno: "EACCES", exit: "memory_fault" };
  return t;
})();

/** kvm_gmem_is_private_gfn() as the core sees it now (in-place conversion: the attribute lives in the inode). */
function gmemGfnPrivate(h: Host, vm: Vm, gfn: number): boolean {
  let v = 0;
  h.later((res, base) => {
    v = res[base + 1];
  }, A.OP_GFN_PRIVATE, vm.id, gfn);
  h.sync();
  return v === 1;
}

/**
 * Whether an access the caller calls private (or shared) disagrees with what
 * the kernel derives: kvm_mmu_page_fault() sets PFERR_PRIVATE_ACCESS on a
 * sw_protected VM exactly when the gfn is private (kvm_mem_is_private(), or
 * kvm_gmem_is_private_gfn() with in-place conversion), and never on a default
 * VM. The sentence naming the rule, or null when they agree.
 */
export function privateDisagrees(h: Host, vm: Vm, gfn: number, priv: boolean): string | null {
  if (!hasPrivateMemory(vm)) return priv ? "private: true, but on a default VM every access is shared (kvm_mmu_page_fault() never sets PFERR_PRIVATE_ACCESS there)" : null;
  const derived = h.profile.inPlace ? gmemGfnPrivate(h, vm, gfn) : vm.privateRanges.length > 0 && isPrivateGfn(vm, gfn);
  if (priv === derived) return null;
  return `private: ${priv}, but gfn 0x${gfn.toString(16)} is ${derived ? "PRIVATE" : "shared"}: on a sw_protected VM kvm_mmu_page_fault() derives the access's privateness from the gfn's attribute (omit "private")`;
}

/**
 * The kernel layer's checks before a vCPU access reaches the core, in order:
 * null when it may run (the frames its fault may make are then reserved:
 * Host.faultFrames()).
 */
export function vcpuDenied(h: Host, vm: Vm | null, write = false): Result | null {
  const fd = vcpuFdDenied(vm);
  if (fd) return fd;
  if (!h.faultFits(h.faultFrames(write))) return outOfFrames(h);
  return null;
}

/** The VM fd's part of vcpuDenied(): what no access on this VM can get past, whatever its gfn. */
export function vcpuFdDenied(vm: Vm | null): Result | null {
  if (!vm || !vm.fdOpen) return fail("EBADF", "vm is not an open VM fd");
  // Its encryption context moved to another VM: nothing can run (as for a dead VM).
  if (vm.contextMovedAway) return fail("EIO", "the VM's encryption context moved to another VM");
  return null;
}

/**
 * GUEST_ACCESS's attr_private for an access at gfn: with in-place conversion
 * the core reads the gfn's attribute through its binding (DERIVED); otherwise
 * the VM's attribute. A VM with private memory takes it as its `private` too.
 */
export function attrArgOf(h: Host, vm: Vm, gfn: number): number {
  if (h.profile.inPlace) return A.DERIVED;
  return vm.privateRanges.length && isPrivateGfn(vm, gfn) ? 1 : 0;
}

/**
 * The core's private argument of an access (core-abi.ts GUEST_ACCESS): a VM
 * with private memory faults as the attribute says (attrArg: 0, 1 or
 * DERIVED); any other VM's accesses are all shared (0).
 */
function privArgOf(vm: Vm, attrArg: number): number {
  return hasPrivateMemory(vm) ? attrArg : 0;
}

/**
 * Queues a vCPU access that vcpuDenied() let through (access: A.ACCESS_*);
 * returns the command's index in the core's batch (run at once, the batch synced, when `now`). Whether it is private is
 * derived here, once, for every tier (callers check a given flag with
 * privateDisagrees() first): with in-place conversion the core reads the
 * gfn's attribute through its binding (DERIVED); otherwise the VM's attribute.
 * `attrArg` is attrArgOf()'s answer, passed by a caller that has asked it already.
 */
export function queueVcpuAccess(h: Host, vm: Vm, gfn: number, access: number, value: number, now = false, attrArg = attrArgOf(h, vm, gfn)): number {
  const privArg = privArgOf(vm, attrArg);
  // A VM's first successful private access puts its context in use (move_enc_context_from then refuses it as a
  // target). Whether it was private, as the core resolved it, is in its own result (aux: core-abi.ts GUEST_ACCESS).
  const notePrivate = privArg !== 0 && !vm.ranPrivate;
  if (now && !notePrivate) return h.core.now(A.OP_GUEST_ACCESS, vm.id, gfn, access, privArg, value, attrArg);
  const index = h.core.push(A.OP_GUEST_ACCESS, vm.id, gfn, access, privArg, value, attrArg);
  if (notePrivate)
    h.fillAt(index, (res, base) => {
      if (res[base] === A.RES_OK && res[base + 2] === 1) vm.ranPrivate = true;
    });
  if (now) h.sync();
  return index;
}

/** The gfn of a u64 byte address (number or bigint): plain arithmetic below 2^53. */
function gfnOf(gpa: Bytes): number {
  return typeof gpa === "number" && Number.isSafeInteger(gpa) && gpa >= 0 ? Math.floor(gpa / 4096) : Number(BigInt.asUintN(64, BigInt(gpa)) >> 12n);
}

/**
 * Completes a vCPU access's Result from its result words (core-abi.ts RES_*).
 * `gpa` is the access's address; a read's value is kept only for reads.
 */
function fillAccess(res: Float64Array, base: number, r: Result, gpa: Bytes, read: boolean): void {
  const code = res[base];
  if (code === A.RES_OK) {
    if (read) r.value = res[base + 1];
    return;
  }
  const o = GUEST_OUTCOMES[code];
  // A caller may have made the read's value slot ahead (the batch tier): an exit has no value.
  if (read && r.value !== undefined) delete r.value;
  if (o.errno || o.signal) delete r.ret;
  if (o.errno) r.errno = o.errno;
  if (o.signal) r.signal = o.signal;
  if (o.exit) r.exit = o.exit;
  if (o.exit === "mmio") r.gpa = typeof gpa === "number" && Number.isSafeInteger(gpa) ? gpa : exact(BigInt.asUintN(64, BigInt(gpa)));
  else if (o.exit === "internal_error") r.suberror = 1;
  else if (o.exit === "memory_fault") {
    r.gpa = exact(BigInt(gfnOf(gpa)) << 12n);
    r.size = 4096;
    r.flags = res[base + 1] & A.MEMFAULT_PRIVATE ? ["PRIVATE"] : [];
  }
}
// Module-level fillers for the host's pending list: no closure per access.
const fillRead: StaticFiller = (res, base, r, gpa) => fillAccess(res, base, r, gpa as Bytes, true);
const fillOther: StaticFiller = (res, base, r, gpa) => fillAccess(res, base, r, gpa as Bytes, false);

/**
 * A given `private` must agree with what the kernel derives: a trace error
 * otherwise. A line that cannot run changes nothing, so this comes before
 * vcpuDenied() reserves a frame.
 */
function checkPrivate(h: Host, vm: Vm | null, gfn: number, priv: boolean | undefined): void {
  if (priv === undefined || !vm || !vm.fdOpen || vm.contextMovedAway) return;
  const why = privateDisagrees(h, vm, gfn, priv);
  if (why) throw new TraceError(why);
}

/**
 * A vCPU access at gpa (a u64 byte address, number or bigint); its Result is
 * final at the next flush. `r` is the object to fill, {ret: 0} on entry (the
 * batch tier passes its result line, so that no copy is made; a read's may
 * hold a placeholder value, which an exit removes). `priv`, when given, must agree with what the kernel
 * derives (a trace error otherwise); omitted means "as derived".
 */
export function vcpuAccess(h: Host, vm: Vm | null, gpa: Bytes, access: Access, priv: boolean | undefined, value: number, r: Result = { ret: 0 }): Result {
  const gfn = gfnOf(gpa);
  checkPrivate(h, vm, gfn, priv);
  const denied = vcpuDenied(h, vm, access === "write");
  if (denied) return denied;
  h.fillLater(queueVcpuAccess(h, vm!, gfn, accessCode(access), value), access === "read" ? fillRead : fillOther, r, gpa);
  return r;
}

/**
 * The same access run at once (the object API's Vm.access): the batch is
 * flushed and the Result read straight from the command's result words.
 */
export function vcpuAccessNow(h: Host, vm: Vm | null, gpa: Bytes, access: Access, priv: boolean | undefined, value: number): Result {
  const gfn = gfnOf(gpa);
  checkPrivate(h, vm, gfn, priv);
  const denied = vcpuDenied(h, vm, access === "write");
  if (denied) return denied;
  const read = access === "read";
  // An access whose private argument is 0 (privArgOf(): any access of a VM without private memory, and one of a
  // shared gfn of a VM with it) notes nothing afterwards: the core's hot call runs it, when it can now (nothing
  // queued before it). Not while a typed run reads every flush (batchSink): a policy's call back in the middle of
  // one takes now(), whose flush that reader sees.
  const hot = h.core.hot;
  // Where the answer's words are: result 0 after a hot call that did not succeed, the command's index otherwise.
  let index = -1;
  const attrArg = attrArgOf(h, vm!, gfn);
  if (hot !== undefined && h.batchSink === null && privArgOf(vm!, attrArg) === 0) {
    const v = hot.access(vm!.id, gfn, accessCode(access), value, attrArg);
    // The byte read is a small integer, kept as one (| 0: a double would be boxed).
    if (v >= 0) return read ? { ret: 0, value: v | 0 } : { ret: 0 };
    if (v !== NOT_NOW) index = 0;
  }
  if (index < 0) index = queueVcpuAccess(h, vm!, gfn, accessCode(access), value, true, attrArg);
  // A read's result has its value's slot from the start (a property added later costs another allocation).
  const r: Result = read ? { ret: 0, value: 0 } : { ret: 0 };
  fillAccess(h.core.results, index * A.RES_WORDS, r, gpa, read);
  return r;
}

/**
 * KVM_SET_MEMORY_ATTRIBUTES on the VM fd: compiled out of builds without
 * CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES (ENOTTY from kvm_vm_ioctl()'s default);
 * elsewhere kvm_vm_ioctl_set_mem_attributes() checks against
 * kvm_supported_mem_attributes(), which is 0 for a default VM (EINVAL for
 * PRIVATE, a no-op for 0).
 */
export function setMemoryAttributes(h: Host, vm: Vm | null, address: bigint, size: bigint, attributes: bigint, flags: bigint): Result {
  if (!vm || !vm.fdOpen) return fail("EBADF", "vm is not an open VM fd");
  if (h.profile.vmAttributeIoctl === "absent") return fail("ENOTTY", `the ${h.profile.name} build has no KVM_SET_MEMORY_ATTRIBUTES on the VM fd`);
  if (flags !== 0n) return fail("EINVAL", `flags 0x${flags.toString(16)} must be 0`);
  const supported = BigInt(supportedVmAttributes(h.profile, vm));
  if (attributes & ~supported) return fail("EINVAL", `attributes 0x${attributes.toString(16)} has bits outside the VM's supported set 0x${supported.toString(16)} (kvm_supported_mem_attributes())`);
  if (size === 0n || address + size > (1n << 64n) - 1n) return fail("EINVAL", "size must be positive and address + size must not wrap");
  if (address & 4095n || size & 4095n) return fail("EINVAL", "address and size must be page-aligned");
  const start = Number(address >> 12n);
  const end = start + Number(size >> 12n);
  const next = setRange(vm.privateRanges, start, end, attributes !== 0n);
  if (next === null) return ok();
  vm.privateRanges = next;
  h.core.push(A.OP_ZAP_GFNS, vm.id, start, end);
  return ok();
}

export function memoryFailure(h: Host, fd: Fd | null, offset: bigint): Result {
  if (!fd || !fd.fdOpen) return fail("EBADF", "fd is not open");
  if (!(fd instanceof GmemFile || fd instanceof SystemGmem)) return fail("EINVAL", `a ${fd.kind} fd has no guest_memfd pages`);
  if (offset < 0n || offset & 4095n || offset >= fd.inode.size) return fail("EINVAL", `offset ${offset} must be a page inside the file`);
  const r: Result = { ret: 0 };
  h.later((res, base) => {
    if (res[base] !== A.RES_NO_PAGE) return;
    delete r.ret;
    r.errno = "EINVAL";
    withMessage(r, `the page at offset ${offset} is absent: there is no folio to fail (kvm_gmem_error_folio() runs on a folio)`);
  }, A.OP_MEMORY_FAILURE, fd.inode.id, Number(offset >> 12n));
  return r;
}

/** Counters of a gmem file's inode (an extension for simulations): pages present and poisoned. */
export function inodeStats(h: Host, fd: Fd | null): Result {
  if (!fd || !(fd instanceof GmemFile || fd instanceof SystemGmem ? !fd.released : fd.fdOpen)) return fail("EBADF", "fd is not open");
  if (!(fd instanceof GmemFile || fd instanceof SystemGmem)) return fail("EINVAL", `a ${fd.kind} fd has no guest_memfd inode`);
  const r: Result = { ret: 0 };
  h.later((res, base) => {
    r.pages = res[base + 1];
    r.poisoned = res[base + 2];
  }, A.OP_STATS_INODE, fd.inode.id);
  return r;
}

export function stats(h: Host, vm: Vm | null | undefined): Result {
  if (vm === undefined) {
    const r: Result = { ret: 0 };
    h.later((res, base) => {
      r.host_pages = res[base + 1];
    }, A.OP_STATS_HOST);
    return r;
  }
  if (!vm || !vm.fdOpen) return fail("EBADF", "vm is not an open VM fd");
  const r: Result = { ret: 0 };
  h.later((res, base) => {
    r.sptes = res[base + 1];
    r.faults = res[base + 2];
    r.zaps = res[base + 3];
    r.exits = res[base + 4];
  }, A.OP_STATS_VM, vm.id);
  return r;
}
