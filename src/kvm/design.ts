/**
 * Which of the two designs of the 2023 KVM discussion a host runs (SPEC §2.3):
 * "vm" (the default: upstream, plus the inode/file design of gmem_link) or
 * "system" (an extension: gmem made on /dev/kvm, owned by no VM, bound to VMs
 * by gmem_bind). "system+implicit" is the system design whose VMs bind by
 * their first memslot on the file, the thread's other variant (gmem_bind is
 * still there, for rights other than the default).
 */
import type { Perm } from "./perm.js";

export interface Design {
  readonly name: "vm" | "system" | "system+implicit";
  readonly system: boolean;
  /** A memslot on a system fd of an unbound VM binds it (with IMPLICIT_PERM), instead of EINVAL. */
  readonly implicitBind: boolean;
}

export const DESIGNS: Readonly<Record<Design["name"], Design>> = {
  vm: { name: "vm", system: false, implicitBind: false },
  system: { name: "system", system: true, implicitBind: false },
  "system+implicit": { name: "system+implicit", system: true, implicitBind: true },
};

/** The rights a binding asks for when none are named (gmem_bind without perm, or an implicit bind). */
export const IMPLICIT_PERM: readonly Perm[] = ["r", "w", "x"];

export function designByName(name: string): Design {
  const d = (DESIGNS as Record<string, Design>)[name];
  if (!d) throw new Error(`unknown design "${name}" (known: ${Object.keys(DESIGNS).join(", ")})`);
  return d;
}
