/**
 * KVM_CREATE_VM, closing the VM fd, and KVM_CHECK_EXTENSION
 * (kvm_dev_ioctl_create_vm(), kvm_vm_ioctl_check_extension_generic()).
 */
import { CAPS, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_USER_MEM_SLOTS, VM_TYPE_DEFAULT, VM_TYPE_SW_PROTECTED } from "../../uapi/constants.js";
import type { Host } from "../host.js";
import { Vm } from "../objects.js";
import { fail, ok, type Result } from "../result.js";

export function hasPrivateMemory(vm: Vm): boolean {
  return vm.type === VM_TYPE_SW_PROTECTED;
}

/** kvm_gmem_get_supported_flags(): INIT_SHARED only where the arch allows shared gmem (not for VMs with private memory). */
export function supportedGmemFlags(vm: Vm | null): number {
  return vm && hasPrivateMemory(vm) ? GUEST_MEMFD_FLAG_MMAP : GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
}

export function createVm(h: Host, type: bigint): [Result, Vm | null] {
  // KVM_X86_SW_PROTECTED_VM is absent from the live build; gmemsim models it from the source.
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
  let value = 0;
  switch (Number(BigInt.asIntN(64, cap))) {
    case CAPS.KVM_CAP_NR_MEMSLOTS: value = KVM_USER_MEM_SLOTS; break;
    case CAPS.KVM_CAP_USER_MEMORY2: value = 1; break;
    case CAPS.KVM_CAP_MEMORY_FAULT_INFO: value = 1; break;
    case CAPS.KVM_CAP_GUEST_MEMFD: value = 1; break;
    case CAPS.KVM_CAP_VM_TYPES: value = h.profile.vmTypesCap; break;
    case CAPS.KVM_CAP_GUEST_MEMFD_FLAGS: value = supportedGmemFlags(on); break;
    case CAPS.KVM_CAP_MEMORY_ATTRIBUTES: value = on && hasPrivateMemory(on) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0; break;
    default: value = 0;
  }
  return ok({ value });
}
