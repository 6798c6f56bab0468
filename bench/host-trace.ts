/**
 * A trace of a host full of VMs, each with its guest memory shared through a
 * memfd mapping (a memslot over the mapping's userspace_addr: the shared
 * path, hva_to_pfn()): after the setup (four lines a VM), a seeded mix of
 * guest reads and writes (90%) and one-page punches of the memfd (10%) over
 * every VM. The traffic is the same for any number of VMs, so checking it
 * should cost the same per op however many VMs, maps and memslots the host
 * holds: the workload that shows whether the shared path's checks (which map
 * an SPTE goes through, which memslots of any VM show a map) look at what an
 * op changed or at everything.
 *
 *   node bin/gmemsim.js bench --check           (times replay with and without --check)
 *   hostTrace(4000, 20000) from this module     (the trace as text)
 */
import { prng } from "./spread-trace.js";

/** Pages of each VM's memory. */
const VM_PAGES = 64;

export function hostTrace(vms: number, ops: number, seed = 1): string {
  const rnd = prng(seed);
  const lines: object[] = [];
  for (let v = 0; v < vms; v++) {
    lines.push({ op: "create_vm", as: `v${v}`, type: "default" });
    lines.push({ op: "memfd", as: `m${v}`, size: VM_PAGES * 4096 });
    lines.push({ op: "mmap", fd: `m${v}`, as: `p${v}`, offset: 0, len: VM_PAGES * 4096, prot: "rw", shared: true });
    lines.push({ op: "set_user_memory_region2", vm: `v${v}`, slot: 0, flags: 0, guest_phys_addr: 0, memory_size: VM_PAGES * 4096, userspace_addr: { map: `p${v}` } });
  }
  for (let k = 0; k < ops; k++) {
    const v = Math.floor(rnd() * vms);
    const page = Math.floor(rnd() * VM_PAGES);
    const x = rnd();
    if (x < 0.45) lines.push({ op: "vcpu_access", vm: `v${v}`, gpa: page * 4096, access: "read" });
    else if (x < 0.9) lines.push({ op: "vcpu_access", vm: `v${v}`, gpa: page * 4096, access: "write", value: k & 255 });
    else lines.push({ op: "fallocate", fd: `m${v}`, mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: page * 4096, len: 4096 });
  }
  return lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
}
