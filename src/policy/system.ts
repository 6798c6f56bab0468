/**
 * The default policy of the system-scoped design (an extension, SPEC §2.3).
 * Whoever holds the fd (the VMM) may bind any VM to it, with the guest rights
 * it asks for, and allocates and punches through the fd. Two rules come from
 * the 2023 discussion's warning that rebinding gmem to another VM is unsafe
 * unless its memory is zeroed: a page prepared under one VM's key is never
 * mapped into another context (a foreign fault is refused), and a VM unbound
 * from a file (a donation) may not bind it again.
 */
import type { Decision, Policy } from "./types.js";

const allow: Decision = { allow: true };
const deny = (reason: string): Decision => ({ allow: false, reason });

export const defaultSystemPolicy: Policy = {
  name: "system-default",
  bind(req) {
    if (req.kind === "memslot") return allow;
    if (req.file.unbound.includes(req.vm.id))
      return deny(`vm ${req.vm.id} was unbound from this file: binding it again would hand it memory that has since gone to another VM`);
    return { allow: true, perm: req.perm };
  },
  fallocate() {
    return allow;
  },
  migrate() {
    return allow;
  },
  foreign() {
    return "refuse";
  },
};
