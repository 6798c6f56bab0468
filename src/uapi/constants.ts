/**
 * uAPI numbers (include/uapi/linux/kvm.h, falloc.h, mman.h) as gmemsim uses them.
 * Names are accepted with or without their C prefix in traces.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

export const GUEST_MEMFD_FLAG_MMAP = 1;
export const GUEST_MEMFD_FLAG_INIT_SHARED = 2;

export const KVM_MEM_LOG_DIRTY_PAGES = 1;
export const KVM_MEM_READONLY = 2;
export const KVM_MEM_GUEST_MEMFD = 4;

export const FALLOC_FL_KEEP_SIZE = 1;
export const FALLOC_FL_PUNCH_HOLE = 2;
export const FALLOC_FL_NO_HIDE_STALE = 4;
export const FALLOC_FL_COLLAPSE_RANGE = 8;
export const FALLOC_FL_ZERO_RANGE = 16;
export const FALLOC_FL_INSERT_RANGE = 32;
export const FALLOC_FL_UNSHARE_RANGE = 64;
export const FALLOC_FL_WRITE_ZEROES = 128;
/** include/linux/falloc.h: the mutually exclusive "mode" bits. */
export const FALLOC_FL_MODE_MASK =
  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_WRITE_ZEROES;

export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << 3;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export const VM_TYPE_DEFAULT = 0;
export const VM_TYPE_SW_PROTECTED = 1;

/** x86 KVM_USER_MEM_SLOTS. */
export const KVM_USER_MEM_SLOTS = 32764;
/** include/linux/kvm_host.h KVM_MEM_MAX_NR_PAGES. */
export const KVM_MEM_MAX_NR_PAGES = (1n << 31n) - 1n;
/** MAX_LFS_FILESIZE, the anon-inode superblock's s_maxbytes. */
export const MAX_LFS_FILESIZE = (1n << 63n) - 1n;

export const FLAG_NAMES: Record<string, Record<string, number>> = {
  gmem: { MMAP: GUEST_MEMFD_FLAG_MMAP, INIT_SHARED: GUEST_MEMFD_FLAG_INIT_SHARED },
  memslot: { LOG_DIRTY_PAGES: KVM_MEM_LOG_DIRTY_PAGES, READONLY: KVM_MEM_READONLY, GUEST_MEMFD: KVM_MEM_GUEST_MEMFD },
  falloc: {
    KEEP_SIZE: FALLOC_FL_KEEP_SIZE,
    PUNCH_HOLE: FALLOC_FL_PUNCH_HOLE,
    NO_HIDE_STALE: FALLOC_FL_NO_HIDE_STALE,
    COLLAPSE_RANGE: FALLOC_FL_COLLAPSE_RANGE,
    ZERO_RANGE: FALLOC_FL_ZERO_RANGE,
    INSERT_RANGE: FALLOC_FL_INSERT_RANGE,
    UNSHARE_RANGE: FALLOC_FL_UNSHARE_RANGE,
    WRITE_ZEROES: FALLOC_FL_WRITE_ZEROES,
  },
  attributes: { PRIVATE: KVM_MEMORY_ATTRIBUTE_PRIVATE },
};

export const FLAG_PREFIXES: Record<string, string> = {
  gmem: "GUEST_MEMFD_FLAG_",
  memslot: "KVM_MEM_",
  falloc: "FALLOC_FL_",
  attributes: "KVM_MEMORY_ATTRIBUTE_",
};

export const CAPS: Record<string, number> = {
  KVM_CAP_NR_MEMSLOTS: 10,
  KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM: 206,
  KVM_CAP_USER_MEMORY2: 231,
  KVM_CAP_MEMORY_FAULT_INFO: 232,
  KVM_CAP_MEMORY_ATTRIBUTES: 233,
  KVM_CAP_GUEST_MEMFD: 234,
  KVM_CAP_VM_TYPES: 235,
  KVM_CAP_PRE_FAULT_MEMORY: 236,
  KVM_CAP_GUEST_MEMFD_FLAGS: 244,
};

/** x86-64 TASK_SIZE of a 64-bit process (TASK_SIZE_MAX): 2^47 - 4096. */
export const TASK_SIZE = (1n << 47n) - 4096n;
/** MAX_RW_COUNT: read(2) and write(2) move at most INT_MAX & PAGE_MASK bytes per call. */
export const MAX_RW_COUNT = 0x7ffff000n;
