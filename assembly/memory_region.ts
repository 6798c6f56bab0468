/**
 * KVM_SET_USER_MEMORY_REGION2 once the kernel layer has validated it:
 * kvm_set_memory_region()'s create (with kvm_gmem_bind()), delete (with
 * kvm_gmem_unbind()) and move, each followed on x86 by
 * kvm_arch_flush_shadow_memslot(), which under KVM_X86_QUIRK_SLOT_ZAP_ALL drops
 * every SPTE of the VM. Plus the VM's own lifetime, kvm_create_vm() and
 * kvm_destroy_vm().
 */
import { Kvm, vms, getVm, s2Ref } from "./kvm";
import { Memslot, slotById, slotInsert, slotRemove, slotMove, slotSetUaddr } from "./memslot";
import { getFile } from "./file";
import { bind, unbind, bindInode, unbindInode } from "./binding";
import { zapAll } from "./stage2";
import { bmClearCount } from "./blockmap";
import { Vec } from "./vec";
import { make, unmake } from "./alloc";

export function vmCreate(id: i32): void {
  let vm = make<Kvm>();
  vm.byId = make<Vec>();
  vm.byBase = make<Vec>();
  vm.id = id;
  vm.ctx = <u32>id + 1;
  vms.set(id, changetype<usize>(vm));
}

/** VM_SET_CTX: the context later private faults prepare pages under (prepared pages keep theirs). */
export function vmSetCtx(id: i32, ctx: u32): void {
  getVm(id).ctx = ctx;
}

/** The VM's memslots and SPTEs go with it; nothing is counted (its counters go too). */
export function vmDestroy(id: i32): void {
  let vm = getVm(id);
  let v = vm.byId;
  while (v.len > 0) {
    let m = changetype<Memslot>(<usize>v.get(v.len - 1));
    if (m.file >= 0) unbindBoth(m);
    slotRemove(vm, m);
    unmake(m);
  }
  bmClearCount(s2Ref(vm));
  vm.byId.dispose();
  vm.byBase.dispose();
  unmake(vm);
  vms.set(id, 0);
}

export function slotCreate(vmId: i32, id: i32, base: u64, npages: u64, file: i32, pgoff: u64, flags: u32): void {
  let vm = getVm(vmId);
  let m = make<Memslot>();
  m.vm = vm;
  m.id = id;
  m.base = base;
  m.npages = npages;
  m.file = file;
  m.pgoff = pgoff;
  m.flags = flags;
  slotInsert(vm, m);
  if (file >= 0) {
    let f = getFile(file);
    bind(f.bindings, m);
    bindInode(f.inode, m);
  }
}

/** kvm_gmem_unbind(): the memslot leaves its file's bindings and its inode's index. */
function unbindBoth(m: Memslot): void {
  let f = getFile(m.file);
  unbind(f.bindings, m);
  unbindInode(f.inode, m);
}

export function slotDelete(vmId: i32, id: i32): void {
  let vm = getVm(vmId);
  let m = slotById(vm, id);
  if (m.file >= 0) unbindBoth(m);
  slotRemove(vm, m);
  unmake(m);
  zapAll(vm);
}

export function slotMoveTo(vmId: i32, id: i32, base: u64): void {
  let vm = getVm(vmId);
  slotMove(vm, slotById(vm, id), base);
  zapAll(vm);
}

export function slotUaddr(vmId: i32, id: i32, uaddr: u64): void {
  let vm = getVm(vmId);
  slotSetUaddr(slotById(vm, id), uaddr);
}
