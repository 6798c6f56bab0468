/*
 * Shared declarations of the gmemsim kernel oracle: uAPI pieces that the
 * system's <linux/kvm.h> predates, the result-line writer, and the guest
 * (vCPU) side used by vcpu_access.
 */
#ifndef GMEM_ORACLE_H
#define GMEM_ORACLE_H

#include <stdint.h>
#include <stddef.h>
#include <linux/kvm.h>

/* --- uAPI additions (Linux 6.18), defined here: the installed header is older --- */
struct gm_create_guest_memfd {
	uint64_t size;
	uint64_t flags;
	uint64_t reserved[6];
};

struct gm_userspace_memory_region2 {
	uint32_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t guest_memfd_offset;
	uint32_t guest_memfd;
	uint32_t pad1;
	uint64_t pad2[14];
};

struct gm_memory_attributes {
	uint64_t address;
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
};

_Static_assert(sizeof(struct gm_create_guest_memfd) == 64, "kvm_create_guest_memfd is 64 bytes");
_Static_assert(sizeof(struct gm_userspace_memory_region2) == 160, "memory_region2 is 160 bytes");

#define GM_IOC(dir, nr, size) (((unsigned long)(dir) << 30) | ((unsigned long)(size) << 16) | (0xAEul << 8) | (nr))
#define GM_KVM_CREATE_GUEST_MEMFD     GM_IOC(3, 0xd4, sizeof(struct gm_create_guest_memfd))
#define GM_KVM_SET_USER_MEMORY_REGION2 GM_IOC(1, 0x49, sizeof(struct gm_userspace_memory_region2))
#define GM_KVM_SET_MEMORY_ATTRIBUTES  GM_IOC(1, 0xd2, sizeof(struct gm_memory_attributes))

#define GM_KVM_EXIT_MEMORY_FAULT      39
#define GM_KVM_MEMORY_EXIT_FLAG_PRIVATE (1ull << 3)
#define GM_MEMORY_FAULT_OFFSET        32   /* offset of run->memory_fault in struct kvm_run */

/* --- the oracle's own guest resources (see oracle/README.md) --- */
#define ORACLE_SLOT        32700u
#define ORACLE_GPA         0xff0000000000ull      /* 2 MiB: page tables, code, stack */
#define ORACLE_MEM_SIZE    (2u << 20)
#define ORACLE_MMIO_GPA    0xff0000400000ull      /* no memslot: the report page */

/* --- result lines --- */
struct out {
	char buf[1024];
	size_t len;
};
void out_begin(struct out *o, long i);
void out_u64(struct out *o, const char *key, uint64_t v);
void out_str(struct out *o, const char *key, const char *v);
void out_raw(struct out *o, const char *key, const char *json);
void out_end(struct out *o);
const char *errno_name(int e);

/* A line that cannot run: does not return (longjmps to the line loop). */
_Noreturn void trace_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- guest side --- */
struct guest;
enum access { ACC_READ, ACC_WRITE, ACC_EXEC };

/* Create the per-VM guest lazily; fills o with an error result on failure. */
struct guest *guest_create(int kvm_fd, int vm_fd, char *err, size_t errlen);
/* Run one access and write its result fields (after "i") into o. */
void guest_access(struct guest *g, uint64_t gpa, enum access acc, uint8_t value, struct out *o);
void guest_destroy(struct guest *g);
/* Whether the last guest_access ran to its end (the guest reached the report page). */
int guest_last_ok(const struct guest *g);

/* --- timing mode (bench.c): `gmem-oracle --bench NAME SCALE` --- */
int bench_main(int argc, char **argv);

#endif
