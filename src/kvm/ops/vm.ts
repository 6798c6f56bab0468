/**
 * KVM_CREATE_VM, closing the VM fd, and KVM_CHECK_EXTENSION
 * (kvm_dev_ioctl_create_vm(), kvm_vm_ioctl_check_extension_generic()), as the
 * profile's build answers them.
 */
import { CAPS, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_USER_MEM_SLOTS, VM_TYPE_DEFAULT, VM_TYPE_SW_PROTECTED } from "../../uapi/constants.js";
import type { Host } from "../host.js";
import type { KernelProfile } from "../profile.js";
import { Vm } from "../objects.js";
import { fail, ok, type Result } from "../result.js";

/** kvm_arch_has_private_mem(): only sw_protected VMs here (SNP and TDX are not modelled). */
export function hasPrivateMemory(vm: Vm): boolean {
  return vm.type === VM_TYPE_SW_PROTECTED;
}

/**
 * kvm_gmem_get_supported_flags(): MMAP always; INIT_SHARED with no VM, or where
 * x86's kvm_arch_supports_gmem_init_shared() holds: no private memory, or (next)
 * in-place conversion on.
 */
export function supportedGmemFlags(p: KernelProfile, vm: Vm | null): number {
  const initShared = !vm || !hasPrivateMemory(vm) || p.inPlace;
  return initShared ? GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED : GUEST_MEMFD_FLAG_MMAP;
}

/** kvm_supported_mem_attributes() for the VM ioctl: what KVM_CAP_MEMORY_ATTRIBUTES reports and the ioctl accepts. */
export function supportedVmAttributes(p: KernelProfile, vm: Vm | null): number {
  if (p.vmAttributeIoctl !== "per-vm") return 0;
  return !vm || hasPrivateMemory(vm) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
}

/** next: what KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES reports (PRIVATE iff in-place is on and no VM, or one with private memory). */
export function supportedGmemAttributes(p: KernelProfile, vm: Vm | null): number {
  return p.inPlace && (!vm || hasPrivateMemory(vm)) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
}

export function createVm(h: Host, type: bigint): [Result, Vm | null] {
  // kvm_arch_init_vm() -> kvm_is_vm_type_supported(): sw_protected only in a build with CONFIG_KVM_SW_PROTECTED_VM.
  if (type === BigInt(VM_TYPE_SW_PROTECTED) && !h.profile.swProtected)
    return [fail("EINVAL", `type 1 (sw_protected) needs a build with CONFIG_KVM_SW_PROTECTED_VM (profile ${h.profile.name} has none; try ${h.profile.name}+swprot)`), null];
  if (type !== BigInt(VM_TYPE_DEFAULT) && type !== BigInt(VM_TYPE_SW_PROTECTED))
    return [fail("EINVAL", `type ${type} is not a supported VM type (0 default, 1 sw_protected)`), null];
  return [ok(), h.newVm(Number(type))];
}

export function destroyVm(h: Host, vm: Vm | null): Result {
  if (!vm || !vm.fdOpen) return fail("EBADF", "vm is not an open VM fd");
  h.closeFd(vm);
  return ok();
}

export function checkExtension(h: Host, vm: Vm | null | undefined, cap: bigint): Result {
  if (vm === null || (vm && !vm.fdOpen)) return fail("EBADF", "vm is not an open VM fd");
  const on = vm ?? null;
  const p = h.profile;
  let value = 0;
  switch (Number(BigInt.asIntN(64, cap))) {
    case CAPS.KVM_CAP_NR_MEMSLOTS: value = KVM_USER_MEM_SLOTS; break;
    case CAPS.KVM_CAP_USER_MEMORY2: value = 1; break;
    case CAPS.KVM_CAP_MEMORY_FAULT_INFO: value = 1; break;
    case CAPS.KVM_CAP_GUEST_MEMFD: value = 1; break;
    case CAPS.KVM_CAP_VM_TYPES: value = p.vmTypesCap; break;
    case CAPS.KVM_CAP_GUEST_MEMFD_FLAGS: value = supportedGmemFlags(p, on); break;
    case CAPS.KVM_CAP_MEMORY_ATTRIBUTES: value = supportedVmAttributes(p, on); break;
    case CAPS.KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES: value = p.gmemAttributesCap ? supportedGmemAttributes(p, on) : 0; break;
    default: value = 0;
  }
  return ok({ value });
}
