/**
 * A trace that spreads its pages over 16 gmem files of one VM (each bound in
 * its own memslot): after the setup, a seeded mix of guest reads and writes
 * (60%), allocations (25%) and punches (15%) of one to four pages anywhere in
 * the files, so the populated state grows with the trace. It is the workload
 * that shows whether checking after each op costs what the op changed or what
 * the state holds.
 *
 *   node bin/gmemsim.js bench --check           (times replay with and without --check)
 *   spreadTrace(8000) from this module          (the trace as text)
 */
export const SPREAD_FILES = 16;
/** Pages per file (16 MiB). */
const FILE_PAGES = 4096;

/** A small deterministic PRNG (mulberry32), so the same n gives the same trace. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The trace: the setup, then `ops` ops of the mix (setup lines not counted). */
export function spreadTrace(ops: number, seed = 1): string {
  const rnd = prng(seed);
  const lines: object[] = [{ op: "create_vm", as: "vm", type: "default" }];
  for (let f = 0; f < SPREAD_FILES; f++) {
    lines.push({ op: "create_guest_memfd", vm: "vm", as: `g${f}`, size: FILE_PAGES * 4096, flags: ["MMAP"] });
    lines.push({ op: "set_user_memory_region2", vm: "vm", slot: f, flags: "GUEST_MEMFD", guest_phys_addr: f * FILE_PAGES * 4096, memory_size: FILE_PAGES * 4096, guest_memfd: `g${f}` });
  }
  for (let k = 0; k < ops; k++) {
    const f = Math.floor(rnd() * SPREAD_FILES);
    const n = 1 + Math.floor(rnd() * 4);
    const page = Math.floor(rnd() * (FILE_PAGES - n));
    const x = rnd();
    if (x < 0.6) {
      const write = rnd() < 0.5;
      lines.push({ op: "vcpu_access", vm: "vm", gpa: (f * FILE_PAGES + page) * 4096, access: write ? "write" : "read", ...(write ? { value: k & 255 } : {}) });
    } else if (x < 0.85) {
      lines.push({ op: "fallocate", fd: `g${f}`, mode: "KEEP_SIZE", offset: page * 4096, len: n * 4096 });
    } else {
      lines.push({ op: "fallocate", fd: `g${f}`, mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: page * 4096, len: n * 4096 });
    }
  }
  return lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
}
