/**
 * A trace of in-place conversions (profile next, SPEC-next.md) on one gmem
 * inode whose attribute is already cut into many runs: `pages` pages of a
 * file mapped by a sw_protected guest, every other page of it converted to
 * PRIVATE (pages / 2 runs), then `changes` four-page conversions (to private
 * or back to shared, at seeded places in its first `window` pages) with a guest
 * read there after each. The conversions, and what they change, are the same
 * for any size of the inode (only the runs beyond the window differ), so
 * checking them should cost the same however many runs and SPTEs it has: the
 * workload that shows whether a conversion is checked over the pages it
 * changed or over its whole inode.
 *
 *   node bin/gmemsim.js bench --check            (times replay with and without --check)
 *   conversionTrace(16000, 4000, 1, 2000) from this module (the trace as text, and how many of its lines set it up)
 */
import { prng } from "./spread-trace.js";

/** The profile whose conversions the trace makes: attributes on the gmem inode (kvm_gmem_set_attributes()). */
export const CONVERSION_PROFILE = "next+swprot";

/** `window`: where the conversions fall, the first pages of the inode whatever its size (all of it by default). */
export function conversionTrace(pages: number, changes: number, seed = 1, window = pages): { text: string; setupLines: number } {
  const rnd = prng(seed);
  const lines: object[] = [
    { op: "create_vm", as: "a", type: "sw_protected" },
    { op: "create_guest_memfd", vm: "a", as: "g", size: pages * 4096, flags: ["MMAP", "INIT_SHARED"] },
    { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: pages * 4096, guest_memfd: "g" },
  ];
  for (let p = 0; p < pages; p += 2) lines.push({ op: "set_memory_attributes2", fd: "g", offset: p * 4096, size: 4096, attributes: "PRIVATE" });
  for (let p = 0; p < pages; p++) lines.push({ op: "vcpu_access", vm: "a", gpa: p * 4096, access: "read" });
  const setupLines = lines.length;
  for (let k = 0; k < changes; k++) {
    const at = Math.floor(rnd() * (window - 4));
    lines.push({ op: "set_memory_attributes2", fd: "g", offset: at * 4096, size: 4 * 4096, attributes: rnd() < 0.5 ? "PRIVATE" : 0 });
    lines.push({ op: "vcpu_access", vm: "a", gpa: Math.floor(rnd() * window) * 4096, access: "read" });
  }
  return { text: lines.map((l) => JSON.stringify(l)).join("\n") + "\n", setupLines };
}
