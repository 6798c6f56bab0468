/**
 * KVM_SET_USER_MEMORY_REGION2, in the kernel's order of checks:
 * kvm_vm_ioctl_set_memory_region() -> kvm_set_memory_region() (with
 * check_memory_region_flags()) -> kvm_gmem_bind() -> x86
 * kvm_arch_prepare_memory_region(). The first failing check decides the errno.
 */
import * as A from "../../abi/core-abi.js";
import { GUEST_MEMFD_FLAG_MMAP, KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_MAX_NR_PAGES, KVM_MEM_READONLY, KVM_USER_MEM_SLOTS } from "../../uapi/constants.js";
import type { Host } from "../host.js";
import { GmemFile, Memslot, SystemGmem, type Fd, type Vm } from "../objects.js";
import * as sys from "./system.js";
import { fail, ok, type Result } from "../result.js";
import { fileView, vmView } from "../views.js";
import { askPolicy } from "../ask.js";

/** The largest user address + size that access_ok() accepts (TASK_SIZE_MAX, checked live). */
const USER_ADDR_MAX = 0x7ffffffff000n;
const U64 = (1n << 64n) - 1n;

export interface RegionArgs {
  slot: number;
  flags: number;
  guestPhysAddr: bigint;
  memorySize: bigint;
  userspaceAddr: bigint;
  /** A gmem fd by object, null for a dead one, or a raw number. */
  guestMemfd: Fd | null | number;
  guestMemfdOffset: bigint;
}

/** check_memory_region_flags(). */
function flagsValid(flags: number): boolean {
  let valid = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_GUEST_MEMFD;
  if (flags & KVM_MEM_GUEST_MEMFD) valid &= ~KVM_MEM_LOG_DIRTY_PAGES;
  // x86 supports read-only memory, but not for gmem slots.
  if (!(flags & KVM_MEM_GUEST_MEMFD)) valid |= KVM_MEM_READONLY;
  return (flags & ~valid) === 0;
}

/** kvm_gmem_bind()'s checks up to the overlap check (next: kvm_gmem_prepare_memory_region()); the file when the slot may bind. */
function bindCheck(h: Host, vm: Vm, fd: Fd | null | number, offset: bigint, npages: number): Result | GmemFile {
  if (typeof fd === "number") {
    // Raw numbers: the standard streams are open files that are not gmem; anything else is not an open fd here.
    return fd >= 0 && fd <= 2 ? fail("EINVAL", `guest_memfd ${fd} is not a guest_memfd`) : fail("EBADF", `guest_memfd ${fd} is not an open fd`);
  }
  if (!fd || !fd.fdOpen) return fail("EBADF", "guest_memfd is not an open fd");
  if (!(fd instanceof GmemFile)) return fail("EINVAL", `guest_memfd is a ${fd.kind} fd, not a guest_memfd`);
  if (fd.vm !== vm) return fail("EINVAL", "guest_memfd belongs to another VM (each gmem file is bound 1:1 to its VM)");
  const soff = BigInt.asIntN(64, offset);
  const size = BigInt(npages) << 12n;
  if (fd.linked) {
    const first = soff >> 12n;
    if (soff < 0n || first < BigInt(fd.window[0]) || first + BigInt(npages) > BigInt(fd.window[1]))
      return fail("EINVAL", `file pages [${first}, +${npages}) lie outside the linked file's window [${fd.window[0]}, ${fd.window[1]})`);
  }
  let sum = soff + size;
  if (h.profile.signedOffsetOverflowBug) sum = BigInt.asIntN(64, sum);
  if (soff < 0n || sum > fd.inode.size)
    return fail("EINVAL", `guest_memfd_offset ${soff} + memory_size ${size} must lie inside the file (size ${fd.inode.size})`);
  return fd;
}

/** kvm_gmem_bind()'s (next: kvm_gmem_commit_memory_region()'s) check that the file range is free in this file. */
function bindingOverlap(h: Host, fd: GmemFile, offset: bigint, npages: number): Result | null {
  const start = Number(BigInt.asIntN(64, offset) >> 12n);
  const end = start + npages;
  const s = fd.firstBindingOverlap(start, end);
  return s ? fail(h.profile.bindingOverlapErrno, `file pages [${start}, ${end}) are already bound to slot ${s.id}`) : null;
}

export function setUserMemoryRegion2(h: Host, vm: Vm | null, r: RegionArgs): Result {
  if (!vm || !vm.fdOpen) return fail("EBADF", "vm is not an open VM fd");
  const id = r.slot & 0xffff;
  const asId = r.slot >>> 16;
  if (id >= KVM_USER_MEM_SLOTS) return fail("EINVAL", `slot id ${id} must be below ${KVM_USER_MEM_SLOTS}`);
  if (!flagsValid(r.flags)) return fail("EINVAL", `flags 0x${r.flags.toString(16)} are not a valid combination (GUEST_MEMFD excludes READONLY and LOG_DIRTY_PAGES)`);
  const size = r.memorySize;
  if (size & 4095n) return fail("EINVAL", `memory_size ${size} must be a multiple of 4096`);
  if (r.guestPhysAddr & 4095n) return fail("EINVAL", `guest_phys_addr 0x${r.guestPhysAddr.toString(16)} must be page-aligned`);
  const ua = r.userspaceAddr;
  if (ua & 4095n || ua + size > USER_ADDR_MAX)
    return fail("EINVAL", `userspace_addr 0x${ua.toString(16)} must be page-aligned and [addr, addr + memory_size) a user range`);
  const gmem = (r.flags & KVM_MEM_GUEST_MEMFD) !== 0;
  if (gmem && (r.guestMemfdOffset & 4095n || r.guestMemfdOffset + size > U64))
    return fail("EINVAL", `guest_memfd_offset 0x${r.guestMemfdOffset.toString(16)} must be page-aligned and offset + size must not wrap`);
  if (asId >= 1) return fail("EINVAL", `address space ${asId} does not exist (one address space without SMM)`);
  if (r.guestPhysAddr + size > U64) return fail("EINVAL", "guest_phys_addr + memory_size wraps");
  if (size >> 12n > KVM_MEM_MAX_NR_PAGES) return fail("EINVAL", `memory_size ${size} exceeds KVM_MEM_MAX_NR_PAGES pages`);

  const old = vm.slot(id);
  if (size === 0n) {
    if (!old) return fail("EINVAL", `slot ${id} does not exist, so it cannot be deleted`);
    deleteSlot(h, vm, old);
    return ok();
  }
  const baseGfn = Number(r.guestPhysAddr >> 12n);
  const npages = Number(size >> 12n);
  let move = false;
  if (old) {
    if (gmem) return fail("EINVAL", `slot ${id} exists: guest_memfd memslots are immutable, they can only be deleted`);
    let toggled = KVM_MEM_READONLY;
    if (h.profile.forbidGmemFlagToggle) toggled |= KVM_MEM_GUEST_MEMFD;
    if (Number(ua) !== old.uaddr || npages !== old.npages || (r.flags ^ old.flags) & toggled)
      return fail("EINVAL", `slot ${id} exists: only its base and LOG_DIRTY_PAGES may change`);
    if (baseGfn !== old.baseGfn) move = true;
    else if (r.flags !== old.flags) {
      flagsOnly(h, old, r.flags);
      return ok();
    } else return ok();
  }
  if (vm.overlapsSlot(id, baseGfn, baseGfn + npages))
    return fail("EEXIST", `gpa range [0x${r.guestPhysAddr.toString(16)}, +0x${size.toString(16)}) overlaps another memslot`);
  let file: GmemFile | null = null;
  if (gmem) {
    // The system design (SPEC §2.3): a system fd stands for the VM's binding of it.
    let target = r.guestMemfd;
    if (target instanceof SystemGmem && target.fdOpen) {
      const v = sys.memslotView(h, vm, target);
      if (!(v instanceof GmemFile)) return v;
      target = v;
    }
    const b = bindCheck(h, vm, target, r.guestMemfdOffset, npages);
    if (!(b instanceof GmemFile)) return b;
    file = b;
    const pgoff = Number(BigInt.asIntN(64, r.guestMemfdOffset) >> 12n);
    // Up to 7.2 kvm_gmem_bind() checks the overlap before kvm_set_memslot(); next commits the binding after arch prepare.
    if (!h.profile.splitBinding) {
      const o = bindingOverlap(h, file, r.guestMemfdOffset, npages);
      if (o) return o;
    }
    const d = askPolicy(h, "bind", { kind: "memslot", file: fileView(h, file), vm: vmView(vm), slot: id, gfn: baseGfn, npages, pgoff });
    if (!d.allow) return fail("EPERM", `policy ${h.policy.name}: ${d.reason}`);
  }
  // kvm_arch_prepare_memory_region(): the last gfn must be addressable (checked after binding, which is then undone).
  const maxGfn = 2 ** (h.profile.maxPhysAddrBits - 12) - 1;
  if (baseGfn + npages - 1 > maxGfn) return fail("EINVAL", `the gpa range ends beyond the largest guest physical address (2^${h.profile.maxPhysAddrBits})`);
  if (file && h.profile.splitBinding) {
    // kvm_gmem_commit_memory_region(), inside kvm_set_memslot() after the arch prepare.
    const o = bindingOverlap(h, file, r.guestMemfdOffset, npages);
    if (o) return o;
  }
  if (move) {
    vm.moveSlot(old!, baseGfn);
    h.core.push(A.OP_SLOT_MOVE, vm.id, id, baseGfn);
    return ok();
  }
  if (file) file = sys.attachView(h, file);
  createSlot(h, vm, id, baseGfn, npages, r.flags, Number(ua), file, file ? Number(BigInt.asIntN(64, r.guestMemfdOffset) >> 12n) : 0);
  return ok();
}

function createSlot(h: Host, vm: Vm, id: number, baseGfn: number, npages: number, flags: number, ua: number, file: GmemFile | null, pgoff: number): void {
  const slot = new Memslot(vm, id, baseGfn, npages, flags, ua, file, pgoff);
  vm.addSlot(slot);
  let coreFlags = flags;
  if (file) {
    file.addBinding(slot);
    // kvm_gmem_bind() / kvm_gmem_prepare_memory_region(): gmem-only with MMAP, or for every file once attributes live in the inode.
    if (file.inode.flags & GUEST_MEMFD_FLAG_MMAP || h.profile.inPlace) coreFlags |= A.SLOT_GMEM_ONLY;
  }
  h.core.push(A.OP_SLOT_CREATE, vm.id, id, baseGfn, npages, file ? file.id : -1, pgoff, coreFlags);
  h.core.push(A.OP_SLOT_SET_UADDR, vm.id, id, ua / 4096);
}

export function deleteSlot(h: Host, vm: Vm, slot: Memslot): void {
  vm.removeSlot(slot.id);
  slot.file?.removeBinding(slot);
  h.core.push(A.OP_SLOT_DELETE, vm.id, slot.id);
}

/**
 * KVM_MR_FLAGS_ONLY. Only LOG_DIRTY_PAGES can get here, unless the profile lacks
 * the stable fix, in which case a gmem slot may drop GUEST_MEMFD: the new slot
 * has no binding (kvm_gmem_bind() never ran for it), so it becomes a plain slot.
 */
function flagsOnly(h: Host, slot: Memslot, flags: number): void {
  if (slot.flags & KVM_MEM_GUEST_MEMFD && !(flags & KVM_MEM_GUEST_MEMFD)) {
    const { vm, id, baseGfn, npages, uaddr } = slot;
    deleteSlot(h, vm, slot);
    createSlot(h, vm, id, baseGfn, npages, flags, uaddr, null, 0);
    return;
  }
  slot.flags = flags;
  // The core keeps no dirty-log state; its copy of the flags never includes LOG_DIRTY_PAGES decisions.
}
