/**
 * Kernel profiles: the rules that changed between kernel versions, as a table.
 * The default is the live kernel of these machines, 6.18.44.
 */
import type { ErrnoName } from "../uapi/errno.js";

export interface KernelProfile {
  readonly name: string;
  /** kvm_gmem_bind(): a file range already bound to another slot (EINVAL until 7.2, then EEXIST). */
  readonly bindingOverlapErrno: ErrnoName;
  /** kvm_gmem_bind() computes offset + size as a signed loff_t, so an overflowing sum passes the EOF check (fixed in 7.2). */
  readonly signedOffsetOverflowBug: boolean;
  /** "KVM: Disallow toggling KVM_MEM_GUEST_MEMFD on an existing memslot" (stable, in 6.18.44, not 6.18.0). */
  readonly forbidGmemFlagToggle: boolean;
  /** KVM_CAP_VM_TYPES as this build reports it (bit 0: default). */
  readonly vmTypesCap: number;
  /** kvm_mmu_max_gfn() of the host: gpa bits of the CPU. */
  readonly maxPhysAddrBits: number;
}

// 52 gpa bits: checked live (PVM runs the shadow MMU, so kvm_mmu_max_gfn() uses 52, not the CPU's 48).
const base = { vmTypesCap: 1, maxPhysAddrBits: 52 } as const;

export const PROFILES: Record<string, KernelProfile> = {
  "6.18": { name: "6.18", bindingOverlapErrno: "EINVAL", signedOffsetOverflowBug: true, forbidGmemFlagToggle: true, ...base },
  "6.18.0": { name: "6.18.0", bindingOverlapErrno: "EINVAL", signedOffsetOverflowBug: true, forbidGmemFlagToggle: false, ...base },
  "7.2": { name: "7.2", bindingOverlapErrno: "EEXIST", signedOffsetOverflowBug: false, forbidGmemFlagToggle: true, ...base },
};

export const DEFAULT_PROFILE = PROFILES["6.18"];

export function profileByName(name: string): KernelProfile {
  const p = PROFILES[name === "6.18.44" ? "6.18" : name];
  if (!p) throw new Error(`unknown kernel profile "${name}" (known: ${Object.keys(PROFILES).join(", ")})`);
  return p;
}
