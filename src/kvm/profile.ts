/**
 * Kernel profiles: one consistent kernel per name, `VERSION[+OPTION...]`
 * (SPEC §2.1): the rules that changed between versions, the build options that
 * change what a kernel can do, and the capability answers that follow from
 * both. Every row is table data; the ops read fields, never names.
 *
 * Versions: 6.18 (the default: the live kernel of these machines, 6.18.44),
 * 6.18.0 (before the stable fix that forbids toggling KVM_MEM_GUEST_MEMFD),
 * 7.2, and next (linux-next of October 2026: in-place conversion, SPEC-next.md).
 * Options: swprot (CONFIG_KVM_SW_PROTECTED_VM), and on next only vmattr
 * (CONFIG_KVM_VM_MEMORY_ATTRIBUTES=y, whose kvm.gmem_in_place_conversion
 * defaults to 0) and inplace (with vmattr: the parameter set to 1).
 */
import type { ErrnoName } from "../uapi/errno.js";

/** How KVM_SET_MEMORY_ATTRIBUTES (the VM ioctl) exists in a build. */
export type VmAttributeIoctl =
  /** Not compiled in: ENOTTY for every VM (no CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES, or next without vmattr). */
  | "absent"
  /** kvm_vm_ioctl_set_mem_attributes() with kvm_supported_mem_attributes(): PRIVATE for VMs with private memory, nothing for others. */
  | "per-vm"
  /** Compiled in but supporting no attribute (next+vmattr+inplace): PRIVATE is EINVAL on every VM, 0 is a no-op. */
  | "none-supported";

export interface KernelProfile {
  /** The canonical name: VERSION then its options in the order of OPTIONS. */
  readonly name: string;
  readonly version: string;
  readonly options: readonly ProfileOption[];
  /** kvm_gmem_bind(): a file range already bound to another slot (EINVAL until 7.2, then EEXIST). */
  readonly bindingOverlapErrno: ErrnoName;
  /** kvm_gmem_bind() computes offset + size as a signed loff_t, so an overflowing sum passes the EOF check (fixed in 7.2). */
  readonly signedOffsetOverflowBug: boolean;
  /** "KVM: Disallow toggling KVM_MEM_GUEST_MEMFD on an existing memslot" (stable, in 6.18.44, not 6.18.0). */
  readonly forbidGmemFlagToggle: boolean;
  /** kvm_dev_ioctl_create_vm(): KVM_X86_SW_PROTECTED_VM can be created (CONFIG_KVM_SW_PROTECTED_VM with the TDP MMU). */
  readonly swProtected: boolean;
  /** KVM_CAP_VM_TYPES as this build reports it (bit 0: default, bit 1: sw_protected). */
  readonly vmTypesCap: number;
  /** KVM_SET_MEMORY_ATTRIBUTES on the VM fd (kvm_vm_ioctl()). */
  readonly vmAttributeIoctl: VmAttributeIoctl;
  /** kvm.gmem_in_place_conversion: attributes live in the gmem inode, KVM_SET_MEMORY_ATTRIBUTES2 works on the gmem fd. */
  readonly inPlace: boolean;
  /** KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES (252) exists in this tree (next). */
  readonly gmemAttributesCap: boolean;
  /** Binding split into kvm_gmem_prepare_memory_region() and a commit after arch prepare (next). */
  readonly splitBinding: boolean;
  /** kvm_mmu_max_gfn() of the host: gpa bits of the CPU. */
  readonly maxPhysAddrBits: number;
}

export type ProfileOption = "swprot" | "vmattr" | "inplace";
export const OPTIONS: readonly ProfileOption[] = ["swprot", "vmattr", "inplace"];

/** The rules each version fixes, before options. */
interface VersionRow {
  bindingOverlapErrno: ErrnoName;
  signedOffsetOverflowBug: boolean;
  forbidGmemFlagToggle: boolean;
  /** This tree has CONFIG_KVM_VM_MEMORY_ATTRIBUTES and the in-place switch. */
  next: boolean;
}

const VERSIONS: Record<string, VersionRow> = {
  "6.18": { bindingOverlapErrno: "EINVAL", signedOffsetOverflowBug: true, forbidGmemFlagToggle: true, next: false },
  "6.18.0": { bindingOverlapErrno: "EINVAL", signedOffsetOverflowBug: true, forbidGmemFlagToggle: false, next: false },
  "7.2": { bindingOverlapErrno: "EEXIST", signedOffsetOverflowBug: false, forbidGmemFlagToggle: true, next: false },
  next: { bindingOverlapErrno: "EEXIST", signedOffsetOverflowBug: false, forbidGmemFlagToggle: true, next: true },
};

/** Aliases of versions (the live kernel's exact release). */
const ALIASES: Record<string, string> = { "6.18.44": "6.18" };

// 52 gpa bits: checked live (PVM runs the shadow MMU, so kvm_mmu_max_gfn() uses 52, not the CPU's 48).
const MAX_PHYS_ADDR_BITS = 52;

function build(version: string, opts: ReadonlySet<ProfileOption>): KernelProfile {
  const v = VERSIONS[version];
  const swprot = opts.has("swprot");
  const vmattr = opts.has("vmattr");
  const inplaceParam = opts.has("inplace");
  // next: CONFIG_KVM_VM_MEMORY_ATTRIBUTES=n makes in-place conversion always on; =y makes it the module parameter.
  const inPlace = v.next && (!vmattr || inplaceParam);
  let vmAttributeIoctl: VmAttributeIoctl;
  if (!v.next) vmAttributeIoctl = swprot ? "per-vm" : "absent";
  else if (!vmattr) vmAttributeIoctl = "absent";
  else vmAttributeIoctl = inPlace ? "none-supported" : "per-vm";
  return {
    name: [version, ...OPTIONS.filter((o) => opts.has(o))].join("+"),
    version,
    options: OPTIONS.filter((o) => opts.has(o)),
    bindingOverlapErrno: v.bindingOverlapErrno,
    signedOffsetOverflowBug: v.signedOffsetOverflowBug,
    forbidGmemFlagToggle: v.forbidGmemFlagToggle,
    swProtected: swprot,
    vmTypesCap: swprot ? 3 : 1,
    vmAttributeIoctl,
    inPlace,
    gmemAttributesCap: v.next,
    splitBinding: v.next,
    maxPhysAddrBits: MAX_PHYS_ADDR_BITS,
  };
}

/** Why a set of options is not one buildable kernel, or null. */
function optionConflict(version: string, opts: ReadonlySet<ProfileOption>): string | null {
  if (opts.has("vmattr") && !VERSIONS[version].next) return `option vmattr exists only on next (CONFIG_KVM_VM_MEMORY_ATTRIBUTES)`;
  if (opts.has("vmattr") && !opts.has("swprot")) return `option vmattr needs swprot (CONFIG_KVM_VM_MEMORY_ATTRIBUTES depends on SW_PROTECTED_VM, TDX or SEV)`;
  if (opts.has("inplace") && !opts.has("vmattr")) return `option inplace needs vmattr (kvm.gmem_in_place_conversion is a parameter only when CONFIG_KVM_VM_MEMORY_ATTRIBUTES=y; without it in-place conversion is always on)`;
  return null;
}

/** Every profile name gmemsim knows, canonical, the default first. */
export function knownProfileNames(): string[] {
  const out: string[] = [];
  for (const version of Object.keys(VERSIONS)) {
    const combos: ProfileOption[][] = [[], ["swprot"], ["swprot", "vmattr"], ["swprot", "vmattr", "inplace"]];
    for (const c of combos) if (!optionConflict(version, new Set(c))) out.push([version, ...c].join("+"));
  }
  return out;
}

/** All known profiles by canonical name. */
export const PROFILES: Readonly<Record<string, KernelProfile>> = Object.freeze(
  Object.fromEntries(knownProfileNames().map((n) => [n, parse(n)])),
);

/** The build of the live machines (6.18.44, no SW_PROTECTED_VM): what the live-kernel suites compare against. */
export const LIVE_PROFILE = "6.18";

export const DEFAULT_PROFILE = PROFILES[LIVE_PROFILE];

function unknown(what: string): Error {
  return new Error(`${what} (known versions: ${Object.keys(VERSIONS).join(", ")}; options: ${OPTIONS.map((o) => "+" + o).join(", ")}; profiles: ${knownProfileNames().join(", ")})`);
}

function parse(name: string): KernelProfile {
  const [rawVersion, ...rest] = name.split("+");
  const version = ALIASES[rawVersion] ?? rawVersion;
  if (!VERSIONS[version]) throw unknown(`unknown kernel version "${rawVersion}" in profile "${name}"`);
  const opts = new Set<ProfileOption>();
  for (const o of rest) {
    if (!(OPTIONS as readonly string[]).includes(o)) throw unknown(`unknown kernel option "${o}" in profile "${name}"`);
    if (opts.has(o as ProfileOption)) throw unknown(`option "${o}" is given twice in profile "${name}"`);
    opts.add(o as ProfileOption);
  }
  const conflict = optionConflict(version, opts);
  if (conflict) throw unknown(`profile "${name}" is not one kernel: ${conflict}`);
  return build(version, opts);
}

/** The profile of a name `VERSION[+OPTION...]` (options in any order); an unknown name throws, listing the known ones. */
export function profileByName(name: string): KernelProfile {
  const p = parse(name);
  return PROFILES[p.name];
}
