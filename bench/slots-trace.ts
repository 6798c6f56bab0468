/**
 * A trace of memslot churn in a VM that has many: `slots` one-page memslots
 * over one gmem file, then `changes` deletes and re-creations of memslots at
 * seeded places, with a guest read after each. (The setup maps no page: a
 * delete zaps every SPTE of the VM, KVM_X86_QUIRK_SLOT_ZAP_ALL, so pages
 * mapped by the setup would make the first change as big as the VM; the VM
 * trace is the one with a big VM.) The changes are the same for any number of memslots, so checking
 * them should cost the same however many memslots the VM, and bindings the
 * file, have: the workload that shows whether a memslot change is checked
 * over that memslot or over every memslot of its VM and binding of its file.
 *
 *   node bin/gmemsim.js bench --check      (times replay with and without --check)
 *   slotsTrace(4000, 4000) from this module (the trace as text, and how many of its lines set it up)
 */
import { prng } from "./spread-trace.js";

export function slotsTrace(slots: number, changes: number, seed = 1): { text: string; setupLines: number } {
  const rnd = prng(seed);
  const region = (s: number) => ({ op: "set_user_memory_region2", vm: "a", slot: s, flags: "GUEST_MEMFD", guest_phys_addr: s * 4096, memory_size: 4096, guest_memfd: "g", guest_memfd_offset: s * 4096 });
  const lines: object[] = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: slots * 4096, flags: ["MMAP"] },
  ];
  for (let s = 0; s < slots; s++) lines.push(region(s));
  const setupLines = lines.length;
  const live = new Set(Array.from({ length: slots }, (_, s) => s));
  for (let k = 0; k < changes; k++) {
    const s = Math.floor(rnd() * slots);
    if (live.delete(s)) lines.push({ op: "set_user_memory_region2", vm: "a", slot: s, flags: 0, guest_phys_addr: s * 4096, memory_size: 0, userspace_addr: 0 });
    else {
      live.add(s);
      lines.push(region(s));
    }
    lines.push({ op: "vcpu_access", vm: "a", gpa: Math.floor(rnd() * slots) * 4096, access: "read" });
  }
  return { text: lines.map((l) => JSON.stringify(l)).join("\n") + "\n", setupLines };
}
