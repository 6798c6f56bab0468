/**
 * The op mixes of campaigns against the live kernel (gmemsim fuzz --against
 * kernel --mix NAME): data only, so that the command line can list them
 * without loading the generators (./arbitraries.ts weighs them over
 * KERNEL_WEIGHTS).
 */
import type { OpName } from "./arbitraries.js";

/**
 * Each mix is weights over KERNEL_WEIGHTS: the default spreads its ops
 * over everything, and a rule that needs several ops of one family in a row
 * turns up late there. A campaign with the memfd weights found a shmem rule
 * that default campaigns had not (an ftruncate to the size the file has
 * truncates).
 *  - memfd: shmem files, their mappings, sizes and file I/O (`read` weighs
 *    read and write, `pread` pread and pwrite), with guest accesses through
 *    the mappings;
 *  - gmem: guest_memfd files alone (no memfd, anonymous memory or file
 *    I/O), their memslots, mappings and punches;
 *  - memslots: memslots made, moved and deleted over gmem files, memfds and
 *    anonymous memory, with guest accesses;
 *  - lifecycle: VMs and files made, closed and destroyed while mapped and bound.
 */
export const KERNEL_MIXES: Readonly<Record<string, Partial<Record<OpName, number>>>> = {
  default: {},
  memfd: { memfd: 6, mmap: 8, load: 8, store: 8, ftruncate: 5, read: 2, pread: 2, fallocate: 8, vcpu_access: 10, fstat: 4, munmap: 2, close: 2, anon_map: 2 },
  gmem: { create_guest_memfd: 8, set_user_memory_region2: 12, vcpu_access: 14, fallocate: 10, mmap: 6, load: 6, store: 6, close: 3, munmap: 2, destroy_vm: 2, fstat: 2, ftruncate: 1, memfd: 0, anon_map: 0, read: 0, pread: 0 },
  memslots: { create_vm: 2, create_guest_memfd: 4, set_user_memory_region2: 14, vcpu_access: 14, mmap: 4, anon_map: 3, set_memory_attributes: 2, munmap: 3, fallocate: 4, load: 3, store: 3, destroy_vm: 1, close: 2, memfd: 2, ftruncate: 1 },
  lifecycle: { create_vm: 4, destroy_vm: 4, close: 5, create_guest_memfd: 5, set_user_memory_region2: 8, vcpu_access: 10, mmap: 4, munmap: 3, load: 3, store: 3, fallocate: 4, memfd: 2, anon_map: 2, check_extension: 1, set_memory_attributes: 1, fstat: 2 },
};
