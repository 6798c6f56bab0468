/*
 * The oracle's timing mode: `gmem-oracle --bench NAME SCALE` runs one of
 * gmemsim bench's standard workloads (bench/workloads.ts) on the live kernel
 * and prints one JSON object:
 *   {"name":NAME,"scale":S,"ops":N,"ns":TOTAL_NS[,"guest_access_floor_ns":F][,"note":"..."]}
 * ns is CLOCK_MONOTONIC time around the workload's loop only: setup (the VM,
 * its file, its memslot, the oracle's own vCPU and page tables) is excluded.
 * ops counts operations exactly as the TypeScript workload counts them.
 * Guest accesses are real CPL-3 guest instructions run by guest.c, one
 * KVM_RUN per access (with its KVM_SET_REGS and report-page MMIO exit).
 * That round trip has a floor of its own, well above the cost of a guest
 * fault: workloads with guest accesses also report it (guest_access_floor_ns,
 * measured after the loop on a resident page, not timed with it).
 * Any failing operation ends the run with an error: no figure is ever made up.
 */
#define _GNU_SOURCE
#include "oracle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define KEEP  1          /* FALLOC_FL_KEEP_SIZE */
#define PUNCH 3          /* FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE */
#define GMEM_FLAGS 3ull  /* GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED */
#define SLOT_GMEM 4u     /* KVM_MEM_GUEST_MEMFD */
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define TiB (1ull << 40)

static int kvm_fd = -1;

struct bvm {
	int vm;
	int file;
	struct guest *g;
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int create_vm(void)
{
	int fd;
	do
		fd = ioctl(kvm_fd, KVM_CREATE_VM, 0ul);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		trace_error("KVM_CREATE_VM: %s", strerror(errno));
	return fd;
}

static int create_file(int vm, uint64_t size)
{
	struct gm_create_guest_memfd a;
	memset(&a, 0, sizeof(a));
	a.size = size;
	a.flags = GMEM_FLAGS;
	int fd = ioctl(vm, GM_KVM_CREATE_GUEST_MEMFD, &a);
	if (fd < 0)
		trace_error("KVM_CREATE_GUEST_MEMFD of %llu bytes: %s", (unsigned long long)size, strerror(errno));
	return fd;
}

/* A gmem-only memslot (userspace_addr 0); size 0 deletes the slot. */
static void set_slot(int vm, uint32_t slot, uint64_t gpa, uint64_t size, int file, uint64_t offset)
{
	struct gm_userspace_memory_region2 r;
	memset(&r, 0, sizeof(r));
	r.slot = slot;
	r.flags = SLOT_GMEM;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.guest_memfd = (uint32_t)file;
	r.guest_memfd_offset = offset;
	if (ioctl(vm, GM_KVM_SET_USER_MEMORY_REGION2, &r))
		trace_error("KVM_SET_USER_MEMORY_REGION2 slot %u gpa 0x%llx size 0x%llx: %s", slot,
			    (unsigned long long)gpa, (unsigned long long)size, strerror(errno));
}

static void falloc(int fd, int mode, uint64_t off, uint64_t len)
{
	if (fallocate(fd, mode, (off_t)off, (off_t)len))
		trace_error("fallocate mode %d offset 0x%llx len 0x%llx: %s", mode,
			    (unsigned long long)off, (unsigned long long)len, strerror(errno));
}

static struct guest *make_guest(int vm)
{
	char err[256];
	struct guest *g = guest_create(kvm_fd, vm, err, sizeof(err));
	if (!g)
		trace_error("the oracle's vCPU: %s", err);
	return g;
}

/* One real guest access; it must complete (reach the report page). */
static void touch(struct guest *g, uint64_t gpa, enum access acc, uint8_t value)
{
	struct out o;
	out_begin(&o, 0);
	guest_access(g, gpa, acc, value, &o);
	if (!guest_last_ok(g))
		trace_error("guest %s at gpa 0x%llx did not complete: %s}",
			    acc == ACC_READ ? "read" : "write", (unsigned long long)gpa, o.buf);
}

/* A VM with one file of `size` bytes bound whole at gpa 0 (slot 0), and its vCPU. */
static struct bvm vm_with_file(uint64_t size, uint64_t slot_size)
{
	struct bvm b;
	b.vm = create_vm();
	b.file = create_file(b.vm, size);
	if (slot_size)
		set_slot(b.vm, 0, 0, slot_size, b.file, 0);
	b.g = NULL;
	return b;
}

static void vm_close(struct bvm *b)
{
	guest_destroy(b->g);
	close(b->file);
	close(b->vm);
}

/*
 * The iterations of a TypeScript loop `for (k = 0; k < base * scale; k++)`:
 * ceil(base * scale), computed in the same double arithmetic.
 */
static uint64_t iterations(double base_times_scale)
{
	uint64_t n = (uint64_t)base_times_scale;
	return (double)n < base_times_scale ? n + 1 : n;
}

struct result {
	uint64_t ops;
	uint64_t ns;
	uint64_t floor_ns;   /* per guest access on a resident page; 0: not measured */
	char note[512];
};

/*
 * The harness's floor under a guest access, measured after a workload's loop
 * (not timed with it): the mean of 1,000 reads of one resident page at gpa
 * (which a memslot must map at file offset gpa).
 */
static void measure_floor(struct guest *g, int file, uint64_t gpa, struct result *res)
{
	falloc(file, KEEP, gpa, 4096);
	touch(g, gpa, ACC_READ, 0);
	uint64_t t0 = now_ns();
	for (int k = 0; k < 1000; k++)
		touch(g, gpa, ACC_READ, 0);
	res->floor_ns = (now_ns() - t0) / 1000;
}

/* Distinct target pages the oracle's guest can map per VM (its 2 MiB page-table pool). */
#define GUEST_PAGES_MAX 120000ull

static void single_page_churn(double scale, struct result *res)
{
	struct bvm b = vm_with_file(GiB, GiB);
	b.g = make_guest(b.vm);
	uint64_t n = iterations(20000.0 * scale);
	/* Each k uses a new page until 2^18; the guest can map GUEST_PAGES_MAX of them. */
	if (n > GUEST_PAGES_MAX) {
		snprintf(res->note, sizeof(res->note),
			 "scaled down to %llu iterations from %llu: the oracle's guest maps at most %llu distinct pages",
			 (unsigned long long)GUEST_PAGES_MAX, (unsigned long long)n, (unsigned long long)GUEST_PAGES_MAX);
		n = GUEST_PAGES_MAX;
	}
	uint64_t t0 = now_ns();
	for (uint64_t k = 0; k < n; k++) {
		uint64_t off = ((k * 7919) & 0x3ffff) << 12;
		falloc(b.file, KEEP, off, 4096);
		touch(b.g, off, ACC_WRITE, (uint8_t)k);
		falloc(b.file, PUNCH, off, 4096);
	}
	res->ns = now_ns() - t0;
	res->ops = 3 * n;
	measure_floor(b.g, b.file, 0, res);
	vm_close(&b);
}

static void alloc_punch_2m(double scale, struct result *res)
{
	struct bvm b = vm_with_file(GiB, 0);
	uint64_t n = iterations(200.0 * scale);
	uint64_t t0 = now_ns();
	for (uint64_t k = 0; k < n; k++) {
		uint64_t off = (k % 512) << 21;
		falloc(b.file, KEEP, off, 2 * MiB);
		falloc(b.file, PUNCH, off, 2 * MiB);
	}
	res->ns = now_ns() - t0;
	res->ops = 2 * n;
	vm_close(&b);
}

static void memslot_churn(double scale, struct result *res)
{
	struct bvm b = vm_with_file(GiB, 0);
	b.g = make_guest(b.vm);
	uint64_t n = iterations(5000.0 * scale);
	uint64_t t0 = now_ns();
	for (uint64_t k = 0; k < n; k++) {
		uint32_t slot = (uint32_t)(k % 64);
		uint64_t gpa = (uint64_t)slot << 24;
		set_slot(b.vm, slot, gpa, 16 * MiB, b.file, gpa);
		touch(b.g, gpa, ACC_READ, 0);
		set_slot(b.vm, slot, gpa, 0, b.file, gpa);
	}
	res->ns = now_ns() - t0;
	res->ops = 3 * n;
	set_slot(b.vm, 0, 0, 16 * MiB, b.file, 0);
	measure_floor(b.g, b.file, 0, res);
	vm_close(&b);
}

/*
 * The sparse 1 TiB story.  The file is 1 TiB, but its memslot is 16 GiB:
 * the shadow MMU keeps per-page state for every bound page (about 2.5 MiB
 * of kernel memory per GiB bound, measured here: 165 MiB for 64 GiB), so a
 * 1 TiB memslot would cost about 2.6 GiB of this shared machine's memory per
 * repetition.  The 1,000 pages are therefore scattered over the bound 16 GiB
 * (stride 4,194 pages) instead of over the whole TiB.  Everything else is as
 * in the TypeScript workload and timed the same way: create VM, create file,
 * bind, 1,000 x (allocate + guest read), punch the whole TiB, close, destroy
 * (2,006 ops per repetition).  Only the oracle's vCPU setup is excluded.
 */
#define SPARSE_SLOT (16 * GiB)

static void sparse_tib(double scale, struct result *res)
{
	uint64_t ns = 0;
	uint64_t reps = iterations(scale);
	for (uint64_t rep = 0; rep < reps; rep++) {
		uint64_t t0 = now_ns();
		int vm = create_vm();
		uint64_t t1 = now_ns();
		struct guest *g = make_guest(vm);   /* the oracle's own vCPU: not timed */
		uint64_t t2 = now_ns();
		int file = create_file(vm, TiB);
		set_slot(vm, 0, 0, SPARSE_SLOT, file, 0);
		for (uint64_t k = 0; k < 1000; k++) {
			uint64_t off = (k * 4194 + 17) << 12;
			falloc(file, KEEP, off, 4096);
			touch(g, off, ACC_READ, 0);
		}
		falloc(file, PUNCH, 0, TiB);
		uint64_t t3a = now_ns();
		if (rep + 1 == reps)
			measure_floor(g, file, 0, res);
		uint64_t t3b = now_ns();
		close(file);
		guest_destroy(g);
		close(vm);
		uint64_t t3 = now_ns();
		ns += (t1 - t0) + (t3a - t2) + (t3 - t3b);
	}
	res->ns = ns;
	res->ops = 2006 * reps;
	snprintf(res->note, sizeof(res->note),
		 "memslot 16 GiB, not 1 TiB, and the 1,000 pages scattered over it: a 1 TiB memslot costs about 2.6 GiB "
		 "of kernel memory on this shadow MMU (2.5 MiB per GiB bound, measured up to 64 GiB)");
}

static void many_vms(double scale, struct result *res, unsigned nvms)
{
	struct bvm *vms = calloc(nvms, sizeof(*vms));
	if (!vms)
		trace_error("out of memory");
	for (unsigned v = 0; v < nvms; v++) {
		vms[v] = vm_with_file(GiB, GiB);
		vms[v].g = make_guest(vms[v].vm);
	}
	uint64_t n = iterations(40000.0 * scale);
	uint64_t t0 = now_ns();
	for (uint64_t k = 0; k < n; k++) {
		struct bvm *w = &vms[((k * 31) & 255) % nvms];
		touch(w->g, ((k * 13) & 4095) << 12, (k & 1) ? ACC_WRITE : ACC_READ, (uint8_t)k);
	}
	res->ns = now_ns() - t0;
	res->ops = n;
	measure_floor(vms[0].g, vms[0].file, 0, res);
	for (unsigned v = 0; v < nvms; v++)
		vm_close(&vms[v]);
	free(vms);
	if (nvms != 256)
		snprintf(res->note, sizeof(res->note), "%u VMs, not 256", nvms);
}

static void fuzz_mix(double scale, struct result *res)
{
	struct bvm vms[8];
	for (unsigned v = 0; v < 8; v++) {
		vms[v] = vm_with_file(256 * MiB, 256 * MiB);
		vms[v].g = make_guest(vms[v].vm);
	}
	uint32_t x = 12345;
	uint64_t n = iterations(50000.0 * scale);
	uint64_t t0 = now_ns();
	for (uint64_t k = 0; k < n; k++) {
		x = x * 1103515245u + 12345u;
		struct bvm *w = &vms[x & 7];
		uint64_t off = (uint64_t)((x >> 3) & 1023) << 12;
		unsigned r = (x >> 13) & 7;
		if (r < 3)
			touch(w->g, off, (r & 1) ? ACC_WRITE : ACC_READ, (uint8_t)x);
		else if (r < 5)
			falloc(w->file, KEEP, off, 4096);
		else if (r < 7)
			falloc(w->file, PUNCH, off, 4096);
		else
			falloc(w->file, PUNCH, off & ~(2 * MiB - 1), 2 * MiB);
	}
	res->ns = now_ns() - t0;
	res->ops = n;
	measure_floor(vms[0].g, vms[0].file, 0, res);
	for (unsigned v = 0; v < 8; v++)
		vm_close(&vms[v]);
}

/*
 * Not a workload of bench/workloads.ts: the cost of one guest access as the
 * oracle makes it (KVM_SET_REGS, KVM_RUN, the report page's MMIO exit and
 * its completion) on a page that is already allocated and mapped, i.e. the
 * harness's floor under every guest access of the workloads above.  And the
 * cost of a bare 4 KiB allocate + punch, with no guest.
 */
static void guest_access_floor(double scale, struct result *res)
{
	struct bvm b = vm_with_file(GiB, GiB);
	b.g = make_guest(b.vm);
	falloc(b.file, KEEP, 0, 4096);
	touch(b.g, 0, ACC_READ, 0);
	uint64_t n = iterations(20000.0 * scale);
	uint64_t t0 = now_ns();
	for (uint64_t k = 0; k < n; k++)
		touch(b.g, 0, ACC_READ, 0);
	res->ns = now_ns() - t0;
	res->ops = n;
	res->floor_ns = res->ns / n;
	vm_close(&b);
}

static void page_alloc_punch(double scale, struct result *res)
{
	struct bvm b = vm_with_file(GiB, GiB);
	uint64_t n = iterations(20000.0 * scale);
	uint64_t t0 = now_ns();
	for (uint64_t k = 0; k < n; k++) {
		uint64_t off = ((k * 7919) & 0x3ffff) << 12;
		falloc(b.file, KEEP, off, 4096);
		falloc(b.file, PUNCH, off, 4096);
	}
	res->ns = now_ns() - t0;
	res->ops = 2 * n;
	vm_close(&b);
}

static const char *const names[] = {
	"single-page-churn", "2mib-allocate-punch", "memslot-churn", "sparse-1tib", "many-vms", "fuzz-mix",
	"guest-access-floor", "page-allocate-punch",
};

static void usage(void)
{
	fprintf(stderr, "usage: gmem-oracle --bench NAME SCALE\n  NAME:");
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		fprintf(stderr, " %s", names[k]);
	fprintf(stderr, "\n  SCALE: a number in (0, 1000]; the loops run ceil(count x SCALE) times, counts as in bench/workloads.ts\n");
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

int bench_main(int argc, char **argv)
{
	/* argv[0] is "--bench". */
	if (argc != 3) {
		usage();
		return 2;
	}
	const char *name = argv[1];
	char *end;
	errno = 0;
	double scale = strtod(argv[2], &end);
	if (errno || *end || !*argv[2] || !(scale > 0) || scale > 1000) {
		usage();
		return 2;
	}
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		fprintf(stderr, "gmem-oracle --bench: cannot open /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	struct result res;
	memset(&res, 0, sizeof(res));
	if (!strcmp(name, "single-page-churn"))
		single_page_churn(scale, &res);
	else if (!strcmp(name, "2mib-allocate-punch"))
		alloc_punch_2m(scale, &res);
	else if (!strcmp(name, "memslot-churn"))
		memslot_churn(scale, &res);
	else if (!strcmp(name, "sparse-1tib"))
		sparse_tib(scale, &res);
	else if (!strcmp(name, "many-vms"))
		many_vms(scale, &res, 256);
	else if (!strcmp(name, "fuzz-mix"))
		fuzz_mix(scale, &res);
	else if (!strcmp(name, "guest-access-floor"))
		guest_access_floor(scale, &res);
	else if (!strcmp(name, "page-allocate-punch"))
		page_alloc_punch(scale, &res);
	else {
		usage();
		return 2;
	}
	printf("{\"name\":");
	json_string(name);
	printf(",\"scale\":%.17g,\"ops\":%llu,\"ns\":%llu", scale, (unsigned long long)res.ops,
	       (unsigned long long)res.ns);
	if (res.floor_ns)
		printf(",\"guest_access_floor_ns\":%llu", (unsigned long long)res.floor_ns);
	if (res.note[0]) {
		printf(",\"note\":");
		json_string(res.note);
	}
	printf("}\n");
	close(kvm_fd);
	return 0;
}
