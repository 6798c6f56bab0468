/**
 * Accesses: a vCPU's (the x86 page-fault path, kvm_mmu_page_fault() ->
 * kvm_mmu_faultin_pfn(), with kvm_mmu_faultin_pfn_gmem() for private and
 * gmem-only memory and hva_to_pfn() for the rest) and host userspace's (a load
 * or store through a VMA: the VMA's protection, then the file's fault handler,
 * kvm_gmem_fault_user_mapping() for gmem). Step numbers are core-abi.ts's.
 */
import {
  RES_OK, RES_SIGBUS, RES_MMIO, RES_MEMFAULT_EFAULT, RES_MEMFAULT_EHWPOISON,
  RES_MEMFAULT_EACCES, RES_EFAULT, RES_INTERNAL_ERROR, RES_SIGSEGV,
  RIGHT_R, RIGHT_W, RIGHT_X, ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC,
  SLOT_READONLY, SLOT_GUEST_MEMFD, SLOT_GMEM_ONLY, MEMFAULT_PRIVATE,
  PG_PRIVATE, SPTE_PRIVATE, DERIVED, FOREIGN_REFUSE, FOREIGN_ZERO,
} from "../src/abi/core-abi";
import { put } from "./result";
import { Kvm, getVm, s2Ref } from "./kvm";
import { Memslot, slotByGfn } from "./memslot";
import { getFile, fileBlocks } from "./file";
import { faultPage, hostFaultable, pagesRef } from "./inode";
import { HostMap, findMap, isPrivate } from "./hostmap";
import { install, SPTE_SHIFT } from "./stage2";
import { bmGet, bmLookup, bmLookupInline, lookupBlock } from "./blockmap";
import { frameByte, frameByteAddr, setFrameByte, frameFlags, setFrameFlags, frameCtx, setFrameCtx } from "./frames";
import { invalidate, notifyHva } from "./invalidate";

/** What hostPage() found instead of a page. */
const NO_PAGE: i32 = -1;
const POISONED: i32 = -2;

/**
 * The page a host access at hva reaches through map m: past EOF, a gmem
 * inode without INIT_SHARED or a pgoff blocked in the map's file is NO_PAGE
 * (SIGBUS for the host, EFAULT for KVM).
 */
function hostPage(m: HostMap, hva: u64): i64 {
  let pgoff = m.pgoff + (hva - m.hva);
  let ino = m.inode;
  if (pgoff >= ino.npages || !hostFaultable(ino, pgoff) || fileBlocks(m.file, pgoff)) return NO_PAGE;
  let pfn = faultPage(ino, pgoff);
  return pfn == 0 ? POISONED : <i64>pfn;
}

/**
 * The page an access at hva reaches through map m: hostPage(), or for a
 * private map (HOSTMAP_COW) its copy of the page when it has one; a write
 * where it has none copies the file's page first (do_cow_fault(): the file's
 * page is faulted in as for a read, then copied into a new anon frame), and
 * the notifier zaps the SPTEs that mapped the file's page at hva.
 */
export function hostPageFor(m: HostMap, hva: u64, write: bool): i64 {
  if (!isPrivate(m)) return hostPage(m, hva);
  let idx = hva - m.hva;
  let cp = bmGet(pagesRef(m.cow), idx);
  if (cp != 0) return <i64>cp;
  let got = hostPage(m, hva);
  if (got < 0 || !write) return got;
  let pfn = faultPage(m.cow, idx);
  setFrameByte(pfn, frameByte(<u32>got));
  notifyHva(hva, hva + 1);
  return <i64>pfn;
}

/**
 * An access's effect on the frame's byte, on one path for read, write and exec (the traffic mixes them at random,
 * and a branch between them mispredicts): each stores the byte back, a write its new one. Returns the byte as it was.
 */
@inline function accessByte(pfn: u32, access: i32, byte: u32): u32 {
  let at = frameByteAddr(pfn);
  let old = <u32>load<u8>(at);
  store<u8>(at, <u8>(access == ACCESS_WRITE ? byte : old));
  return old;
}

/** The access itself, on a page the vCPU may touch (read: value = the byte; aux: whether it was private, as derived). */
@inline function touch(r: usize, pfn: u32, access: i32, byte: u32, priv: bool): void {
  let old = accessByte(pfn, access, byte);
  put(r, RES_OK, access == ACCESS_READ ? <f64>old : 0, priv ? 1 : 0);
}

/** A guest exit; like every unsuccessful guest access, it names the gfn in aux. */
@inline function exit(r: usize, vm: Kvm, gfn: u64, code: i32, value: f64 = 0): void {
  vm.exits++;
  put(r, code, value, <f64>gfn);
}

/** kvm_gmem_is_private_gfn(): the attribute of the bound inode's page; shared without a slot, a gmem binding or a live file. */
export function gmemPrivateGfn(m: Memslot | null, gfn: u64): bool {
  if (m === null || !(m.flags & SLOT_GUEST_MEMFD) || m.file < 0) return false;
  return getFile(m.file).inode.priv.has(m.pgoff + (gfn - m.base));
}

/** The SPTE spteAccess() found (0: none), with the block map's lookupBlock: step 5 installs there. */
let seenSpte: u32 = 0;

/**
 * Step 1b: an SPTE with the access's right serves it with no fault at all: the byte a read read (0 for a write
 * or exec), or -1 when the access must fault. Inlined where a shared access needs no step 1 (the typed tier's
 * guest traffic), so a present page costs one table lookup and the frame's byte.
 */
@inline export function spteAccess(vm: Kvm, gfn: u64, access: i32, byte: u32): i32 {
  // RIGHT_R, RIGHT_W and RIGHT_X are 1 << ACCESS_READ, ACCESS_WRITE and ACCESS_EXEC.
  let right: u32 = 1 << access;
  let spte = bmLookupInline(s2Ref(vm), gfn);
  seenSpte = spte;
  if (!(spte & right)) return -1;
  let old = accessByte(spte >>> SPTE_SHIFT, access, byte);
  return access == ACCESS_READ ? <i32>old : 0;
}

export function guestAccess(r: usize, vmId: i32, gfn: u64, access: i32, privArg: i32, byte: u32, attrArg: i32): void {
  let vm = getVm(vmId);
  let attrPriv = attrArg != 0;
  if (attrArg == DERIVED) attrPriv = gmemPrivateGfn(slotByGfn(vm, gfn), gfn);
  let priv = privArg == DERIVED ? attrPriv : privArg != 0;
  let mf: f64 = priv ? MEMFAULT_PRIVATE : 0;
  // 1.
  if (priv != attrPriv) return exit(r, vm, gfn, RES_MEMFAULT_EFAULT, mf);
  // 1b.
  let got = spteAccess(vm, gfn, access, byte);
  if (got >= 0) return put(r, RES_OK, <f64>got, priv ? 1 : 0);
  faultIn(r, vm, gfn, access, priv, byte);
}

/**
 * Steps 2 to 5, right after a step 1b that found no SPTE with the access's
 * right: the SPTE it saw and the block it looked in are where step 5
 * installs. The typed tier calls it straight after its own step 1b.
 */
export function faultIn(r: usize, vm: Kvm, gfn: u64, access: i32, priv: bool, byte: u32): void {
  let mf: f64 = priv ? MEMFAULT_PRIVATE : 0;
  let spte = seenSpte;
  // The block the lookup found (or none): step 5 installs there (only the page cache changes meanwhile).
  let block = lookupBlock;
  // 2.
  let m = slotByGfn(vm, gfn);
  if (m === null) {
    if (priv) return exit(r, vm, gfn, RES_MEMFAULT_EFAULT, mf);
    if (access == ACCESS_EXEC) return exit(r, vm, gfn, RES_INTERNAL_ERROR);
    return exit(r, vm, gfn, RES_MMIO);
  }
  let pfn: u32;
  if (priv || (m.flags & SLOT_GMEM_ONLY)) {
    // 3. kvm_mmu_faultin_pfn_gmem()
    if (!(m.flags & SLOT_GUEST_MEMFD) || m.file < 0) return exit(r, vm, gfn, RES_MEMFAULT_EFAULT, mf);
    let f = getFile(m.file);
    let pgoff = m.pgoff + (gfn - m.base);
    // The SPTE needs R as well for a write or exec (x86 cannot map write-only), so the file must grant all of them.
    let needs: u32 = access == ACCESS_READ ? RIGHT_R : access == ACCESS_WRITE ? RIGHT_R | RIGHT_W : RIGHT_R | RIGHT_X;
    if ((f.rights & needs) != needs || f.blocked.has(pgoff)) return exit(r, vm, gfn, RES_MEMFAULT_EACCES, mf);
    pfn = faultPage(f.inode, pgoff);
    if (pfn == 0) return exit(r, vm, gfn, RES_MEMFAULT_EHWPOISON, mf);
    let fl = frameFlags(pfn);
    let moved = false;
    // 3b. A page prepared under another VM's key: the file's foreign mode decides.
    if ((fl & PG_PRIVATE) && frameCtx(pfn) != vm.ctx) {
      if (f.foreign == FOREIGN_REFUSE) return exit(r, vm, gfn, RES_MEMFAULT_EACCES, mf);
      if (f.foreign == FOREIGN_ZERO) {
        invalidate(f.inode, pgoff, pgoff + 1);
        setFrameByte(pfn, 0);
        fl &= ~PG_PRIVATE;
        setFrameFlags(pfn, fl);
        setFrameCtx(pfn, 0);
        moved = true;
      }
    }
    if (priv && !(fl & PG_PRIVATE)) {
      // Preparation (kvm_gmem_prepare_folio()): once per page, under the faulting
      // VM's context; a page that becomes private leaves every other mapping
      // (a foreign page just zeroed has left them already).
      if (!moved) invalidate(f.inode, pgoff, pgoff + 1);
      setFrameFlags(pfn, fl | PG_PRIVATE);
      setFrameCtx(pfn, vm.ctx);
      moved = true;
    }
    if (moved) {
      // The zaps may have changed this VM's table: find the install position again.
      spte = bmLookup(s2Ref(vm), gfn);
      block = lookupBlock;
    }
  } else {
    // 4. Shared memory through userspace_addr (hva_to_pfn()).
    if (access == ACCESS_WRITE && (m.flags & SLOT_READONLY)) return exit(r, vm, gfn, RES_MMIO);
    let hva = m.uaddr + (gfn - m.base);
    let hm = findMap(hva);
    if (hm === null || !(hm.rights & (access == ACCESS_WRITE ? RIGHT_W : RIGHT_R))) return put(r, RES_EFAULT, 0, <f64>gfn);
    let got = hostPageFor(hm, hva, access == ACCESS_WRITE);
    if (got == NO_PAGE) return put(r, RES_EFAULT, 0, <f64>gfn);
    if (got == POISONED) return put(r, RES_SIGBUS, 0, <f64>gfn);
    pfn = <u32>got;
    if (access == ACCESS_WRITE && isPrivate(hm)) {
      // A write through a private map may have copied the page, whose notifier may have zapped this VM's SPTE at
      // gfn: find the install position again.
      spte = bmLookup(s2Ref(vm), gfn);
      block = lookupBlock;
    }
  }
  // 5.
  let rights: u32 = access == ACCESS_READ ? RIGHT_R : access == ACCESS_WRITE ? RIGHT_R | RIGHT_W : RIGHT_R | RIGHT_X;
  install(vm, gfn, pfn, priv ? rights | SPTE_PRIVATE : rights, spte, block);
  touch(r, pfn, access, byte, priv);
}

export function hostAccess(r: usize, hva: u64, write: bool, byte: u32): void {
  let m = findMap(hva);
  if (m === null) return put(r, RES_SIGSEGV); // the kernel layer never sends this
  if (!(m.rights & (write ? RIGHT_W : RIGHT_R))) return put(r, RES_SIGSEGV);
  let got = hostPageFor(m, hva, write);
  if (got < 0) return put(r, RES_SIGBUS);
  let pfn = <u32>got;
  if (write) setFrameByte(pfn, byte);
  put(r, RES_OK, <f64>frameByte(pfn));
}
