/**
 * A trace of one large VM that changes its memory around it: `pages` pages of
 * a gmem file mapped by the guest, then a seeded mix of one-page memslots
 * added over a second file (half) and one-page windows of the first file
 * donated to another VM (half; `pages` must be at least twice `changes`),
 * `changes` in all, with guest accesses between them. The changes are the same for any size of the VM, so checking
 * them should cost the same however many SPTEs the VM has: the workload that
 * shows whether a memslot or a donation is checked over what it concerns or
 * over its whole VM.
 *
 *   node bin/gmemsim.js bench --check           (times replay with and without --check)
 *   vmTrace(20000, 1000) from this module       (the trace as text, and how many of its lines set it up)
 */
import { prng } from "./spread-trace.js";

export function vmTrace(pages: number, changes: number, seed = 1): { text: string; setupLines: number } {
  const rnd = prng(seed);
  const lines: object[] = [
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_vm", as: "b", type: "default" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: pages * 4096, flags: ["MMAP"] },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: pages * 4096, guest_memfd: "g" },
    { op: "create_guest_memfd", vm: "a", as: "s", size: changes * 4096, flags: ["MMAP"] },
  ];
  for (let p = 0; p < pages; p++) lines.push({ op: "vcpu_access", vm: "a", gpa: p * 4096, access: "write", value: p & 255 });
  const setupLines = lines.length;
  let slots = 0;
  for (let k = 0; k < changes; k++) {
    if (rnd() < 0.5) {
      slots++;
      lines.push({ op: "set_user_memory_region2", vm: "a", slot: slots, flags: "GUEST_MEMFD", guest_phys_addr: (pages + slots) * 4096, memory_size: 4096, guest_memfd: "s", guest_memfd_offset: (slots - 1) * 4096 });
    } else {
      // Windows apart (every other page from the start), so that the blocked runs are as many in a VM of any size.
      lines.push({ op: "gmem_link", fd: "g", vm: "b", as: `d${k}`, perm: ["r"], offset: 2 * k * 4096, len: 4096, mode: "donate" });
    }
    lines.push({ op: "vcpu_access", vm: "a", gpa: Math.floor(rnd() * pages) * 4096, access: "read" });
  }
  return { text: lines.map((l) => JSON.stringify(l)).join("\n") + "\n", setupLines };
}
