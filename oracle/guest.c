/*
 * The oracle's guest: one vCPU per VM that performs a single guest access
 * (read, write or instruction fetch) at a trace's gpa, as 64-bit code at
 * CPL 3 (which this PVM host runs natively, so that its faults take KVM's
 * real guest_memfd path; kernel-facts.md section 15).
 *
 * Layout (all in a private memslot, see oracle.h and oracle/README.md):
 *   page 0        PML4
 *   page 1        code: three entry points (read, write, exec)
 *   page 2        "ret page": byte 4095 is 0xC2 (ret imm16)
 *   pages 3..6    stack
 *   pages 8..     page-table pool
 * The report page (ORACLE_MMIO_GPA) has no memslot: a store there is an MMIO
 * exit that carries the result.
 *
 * Every guest page gets one PTE, written once and never changed: CPL-3 code
 * cannot invlpg, so a translation must never go stale.  Each target gpa page
 * gets its own pair of virtual pages: [trampoline -> ret page][target], so
 * that an exec test can `call` the last byte of the trampoline; the CPU then
 * fetches ret's two operand bytes from the target page (an instruction fetch
 * there, without running its contents) and returns.
 */
#define _GNU_SOURCE
#include "oracle.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#define PAGE 4096ull
#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_U 4ull
#define PTE_FLAGS (PTE_P | PTE_W | PTE_U)

#define PG_PML4  0
#define PG_CODE  1
#define PG_RET   2
#define PG_STACK 3
#define NSTACK   4
#define PG_POOL  8

#define VA_CODE    0x400000ull
#define VA_STACK   0x410000ull
#define VA_MMIO    0x420000ull
#define VA_TARGETS 0x40000000ull

#define CODE_READ  0x00
#define CODE_WRITE 0x40
#define CODE_EXEC  0x80

/* Hand-assembled entry points; registers are set by KVM_SET_REGS:
 * rdi = target byte, sil = value, rbx = report page, rdx = trampoline's last byte. */
static const uint8_t code_read[] = {
	0x0f, 0xb6, 0x07,             /* movzx eax, byte [rdi]   */
	0x88, 0x03,                   /* mov [rbx], al  (report)  */
	0xeb, 0xfe,                   /* jmp $                    */
};
static const uint8_t code_write[] = {
	0x40, 0x88, 0x37,             /* mov [rdi], sil  (the exact byte first) */
	0x48, 0x89, 0xf8,             /* mov rax, rdi             */
	0x48, 0x25, 0x00, 0xf0, 0xff, 0xff, /* and rax, ~0xfff    */
	0x48, 0x89, 0xc7,             /* mov rdi, rax             */
	0x89, 0xf0,                   /* mov eax, esi             */
	0xb9, 0x00, 0x10, 0x00, 0x00, /* mov ecx, 4096            */
	0xf3, 0xaa,                   /* rep stosb  (fill the page) */
	0x88, 0x03,                   /* mov [rbx], al  (report)  */
	0xeb, 0xfe,                   /* jmp $                    */
};
static const uint8_t code_exec[] = {
	0x48, 0x89, 0xe5,             /* mov rbp, rsp             */
	0xff, 0xd2,                   /* call rdx  (ret imm16 at the trampoline's end) */
	0x48, 0x89, 0xec,             /* mov rsp, rbp  (undo imm16) */
	0xc6, 0x03, 0x00,             /* mov byte [rbx], 0 (report) */
	0xeb, 0xfe,                   /* jmp $                    */
};

struct guest {
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	unsigned next_pool;
	unsigned phys_bits;
	int mmio_pending;
	int sregs_dirty;
	struct kvm_sregs sregs;
	uint64_t *targets;   /* gpa page of pair n */
	size_t ntargets, cap;
	uint32_t *index;     /* open addressing: pair n + 1 by gpa page; 0 is empty */
	size_t index_cap;    /* a power of two, at least twice ntargets */
	int last_ok;         /* the last access reached the report page */
};

static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_fired = 1;
}

static uint64_t *pool_page(struct guest *g)
{
	if (g->next_pool >= ORACLE_MEM_SIZE / PAGE)
		return NULL;
	uint64_t *p = (uint64_t *)(g->mem + (uint64_t)g->next_pool * PAGE);
	g->next_pool++;
	return p;
}

static uint64_t gpa_of(struct guest *g, const void *p)
{
	return ORACLE_GPA + (uint64_t)((const uint8_t *)p - g->mem);
}

/* Write the PTE for va (and any missing tables) once. */
static int map_va(struct guest *g, uint64_t va, uint64_t gpa)
{
	uint64_t *table = (uint64_t *)(g->mem + PG_PML4 * PAGE);
	for (int level = 3; level >= 1; level--) {
		unsigned idx = (unsigned)((va >> (12 + 9 * level)) & 511);
		if (!(table[idx] & PTE_P)) {
			uint64_t *next = pool_page(g);
			if (!next)
				return -1;
			table[idx] = gpa_of(g, next) | PTE_FLAGS;
		}
		uint64_t next_gpa = table[idx] & 0x000ffffffffff000ull;
		table = (uint64_t *)(g->mem + (next_gpa - ORACLE_GPA));
	}
	unsigned idx = (unsigned)((va >> 12) & 511);
	if (table[idx] & PTE_P)
		return (table[idx] & 0x000ffffffffff000ull) == gpa ? 0 : -1;
	table[idx] = gpa | PTE_FLAGS;
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 3;
	s->s = 1;
	s->g = 1;
	s->l = code ? 1 : 0;
	s->db = code ? 0 : 1;
}

static int setup_sregs(struct guest *g)
{
	struct kvm_sregs *s = &g->sregs;
	if (ioctl(g->vcpu_fd, KVM_GET_SREGS, s))
		return -1;
	s->cr0 = 0x80050033;      /* PG | AM | WP | NE | ET | MP | PE */
	s->cr3 = ORACLE_GPA + PG_PML4 * PAGE;
	s->cr4 = 0x20;            /* PAE */
	s->efer = 0xd01;          /* NXE | LMA | LME | SCE */
	seg(&s->cs, 0x33, 0xb, 1);
	seg(&s->ss, 0x2b, 0x3, 0);
	seg(&s->ds, 0x2b, 0x3, 0);
	seg(&s->es, 0x2b, 0x3, 0);
	seg(&s->fs, 0x2b, 0x3, 0);
	seg(&s->gs, 0x2b, 0x3, 0);
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.present = 1;
	s->tr.type = 11;
	s->tr.limit = 0x67;
	memset(&s->ldt, 0, sizeof(s->ldt));
	if (ioctl(g->vcpu_fd, KVM_SET_SREGS, s))
		return -1;
	g->sregs_dirty = 0;
	return 0;
}

static int setup_cpuid(struct guest *g, int kvm_fd)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		if (!c)
			return -1;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c)) {
			int e = errno;
			free(c);
			if (e == E2BIG)
				continue;
			errno = e;
			return -1;
		}
		g->phys_bits = 36;
		for (unsigned k = 0; k < c->nent; k++)
			if (c->entries[k].function == 0x80000008)
				g->phys_bits = c->entries[k].eax & 0xff;
		int r = ioctl(g->vcpu_fd, KVM_SET_CPUID2, c);
		int e = errno;
		free(c);
		errno = e;
		return r;
	}
	errno = E2BIG;
	return -1;
}

void guest_destroy(struct guest *g)
{
	if (!g)
		return;
	if (g->run)
		munmap(g->run, g->run_size);
	if (g->vcpu_fd >= 0)
		close(g->vcpu_fd);
	/* The memslot stays with the VM (it may outlive its fd); its memory
	 * must stay mapped for as long as the VM could use it, so it is only
	 * unmapped when nothing can run in that VM any more: never reused. */
	free(g->targets);
	free(g->index);
	free(g);
}

int guest_last_ok(const struct guest *g)
{
	return g->last_ok;
}

struct guest *guest_create(int kvm_fd, int vm_fd, char *err, size_t errlen)
{
	struct guest *g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->vm_fd = vm_fd;
	g->vcpu_fd = -1;
	static int alarm_installed;
	if (!alarm_installed) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
		alarm_installed = 1;
	}
	g->mem = mmap(NULL, ORACLE_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED) {
		g->mem = NULL;
		snprintf(err, errlen, "mmap of the oracle's guest memory: %s", strerror(errno));
		goto fail;
	}
	g->next_pool = PG_POOL;
	memcpy(g->mem + PG_CODE * PAGE + CODE_READ, code_read, sizeof(code_read));
	memcpy(g->mem + PG_CODE * PAGE + CODE_WRITE, code_write, sizeof(code_write));
	memcpy(g->mem + PG_CODE * PAGE + CODE_EXEC, code_exec, sizeof(code_exec));
	g->mem[PG_RET * PAGE + PAGE - 1] = 0xc2;
	int ok = !map_va(g, VA_CODE, ORACLE_GPA + PG_CODE * PAGE) &&
		 !map_va(g, VA_MMIO, ORACLE_MMIO_GPA);
	for (unsigned k = 0; k < NSTACK; k++)
		ok = ok && !map_va(g, VA_STACK + k * PAGE, ORACLE_GPA + (PG_STACK + k) * PAGE);
	if (!ok) {
		snprintf(err, errlen, "page-table pool exhausted");
		goto fail;
	}

	struct kvm_userspace_memory_region r = {
		.slot = ORACLE_SLOT,
		.flags = 0,
		.guest_phys_addr = ORACLE_GPA,
		.memory_size = ORACLE_MEM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)g->mem,
	};
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r)) {
		snprintf(err, errlen, "memslot %u at gpa 0x%llx: %s", ORACLE_SLOT,
			 (unsigned long long)ORACLE_GPA, strerror(errno));
		goto fail;
	}
	g->vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	if (g->vcpu_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VCPU: %s", strerror(errno));
		goto fail;
	}
	int sz = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto fail;
	}
	g->run_size = (size_t)sz;
	g->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu_fd, 0);
	if (g->run == MAP_FAILED) {
		g->run = NULL;
		snprintf(err, errlen, "mmap of kvm_run: %s", strerror(errno));
		goto fail;
	}
	if (setup_cpuid(g, kvm_fd)) {
		snprintf(err, errlen, "CPUID setup: %s", strerror(errno));
		goto fail;
	}
	if (setup_sregs(g)) {
		snprintf(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
		goto fail;
	}
	return g;
fail:
	/* The oracle memslot (if made) keeps g->mem: leave it mapped. */
	if (g->run)
		munmap(g->run, g->run_size);
	if (g->vcpu_fd >= 0)
		close(g->vcpu_fd);
	free(g);
	return NULL;
}

static size_t index_slot(const struct guest *g, uint64_t gpa_page)
{
	uint64_t h = (gpa_page >> 12) * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 32) & (g->index_cap - 1);
}

/* Keep the index at most half full (rebuilt from targets[] when it grows). */
static void index_grow(struct guest *g)
{
	if (2 * (g->ntargets + 1) <= g->index_cap)
		return;
	size_t nc = g->index_cap ? g->index_cap * 2 : 256;
	uint32_t *ni = calloc(nc, sizeof(*ni));
	if (!ni)
		trace_error("out of memory");
	free(g->index);
	g->index = ni;
	g->index_cap = nc;
	for (size_t k = 0; k < g->ntargets; k++) {
		size_t i = index_slot(g, g->targets[k]);
		while (g->index[i])
			i = (i + 1) & (nc - 1);
		g->index[i] = (uint32_t)(k + 1);
	}
}

/* The virtual address of the target page for a gpa page (made once). */
static uint64_t target_va(struct guest *g, uint64_t gpa_page)
{
	if (g->index_cap) {
		for (size_t i = index_slot(g, gpa_page); g->index[i]; i = (i + 1) & (g->index_cap - 1))
			if (g->targets[g->index[i] - 1] == gpa_page)
				return VA_TARGETS + (2 * (uint64_t)(g->index[i] - 1) + 1) * PAGE;
	}
	if (g->ntargets == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 64;
		uint64_t *nt = realloc(g->targets, nc * sizeof(*nt));
		if (!nt)
			trace_error("out of memory");
		g->targets = nt;
		g->cap = nc;
	}
	size_t n = g->ntargets;
	uint64_t tramp = VA_TARGETS + 2 * n * PAGE;
	if (map_va(g, tramp, ORACLE_GPA + PG_RET * PAGE) || map_va(g, tramp + PAGE, gpa_page))
		trace_error("the oracle's page-table pool is exhausted");
	index_grow(g);
	size_t i = index_slot(g, gpa_page);
	while (g->index[i])
		i = (i + 1) & (g->index_cap - 1);
	g->index[i] = (uint32_t)(n + 1);
	g->targets[g->ntargets++] = gpa_page;
	return tramp + PAGE;
}

static int run_vcpu(struct guest *g, int *err)
{
	struct itimerval it = { {0, 0}, {2, 0} };
	struct itimerval off = { {0, 0}, {0, 0} };
	alarm_fired = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	int r;
	for (;;) {
		g->run->exit_reason = 0xffffu;
		r = ioctl(g->vcpu_fd, KVM_RUN, 0);
		*err = errno;
		if (r < 0 && *err == EINTR && !alarm_fired)
			continue;
		break;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	return r;
}

/* Finish a pending MMIO exit so that the vCPU can be given new registers. */
static void complete_mmio(struct guest *g)
{
	if (!g->mmio_pending)
		return;
	g->run->immediate_exit = 1;
	(void)ioctl(g->vcpu_fd, KVM_RUN, 0);   /* returns EINTR at once */
	g->run->immediate_exit = 0;
	g->mmio_pending = 0;
}

void guest_access(struct guest *g, uint64_t gpa, enum access acc, uint8_t value, struct out *o)
{
	if (g->phys_bits < 64 && (gpa >> g->phys_bits))
		trace_error("gpa 0x%llx is beyond the guest's %u physical address bits",
			    (unsigned long long)gpa, g->phys_bits);
	uint64_t page = gpa & ~(PAGE - 1);
	if (page >= ORACLE_GPA && page < ORACLE_GPA + ORACLE_MEM_SIZE)
		trace_error("gpa 0x%llx is inside the oracle's own memslot", (unsigned long long)gpa);
	if (page == ORACLE_MMIO_GPA)
		trace_error("gpa 0x%llx is the oracle's report page", (unsigned long long)gpa);
	uint64_t va = target_va(g, page);
	g->last_ok = 0;

	complete_mmio(g);
	if (g->sregs_dirty && setup_sregs(g))
		trace_error("KVM_SET_SREGS: %s", strerror(errno));

	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x202;
	regs.rip = VA_CODE + (acc == ACC_READ ? CODE_READ : acc == ACC_WRITE ? CODE_WRITE : CODE_EXEC);
	regs.rsp = VA_STACK + NSTACK * PAGE - 128;
	regs.rdi = va + (gpa & (PAGE - 1));
	regs.rsi = value;
	regs.rbx = VA_MMIO;
	regs.rdx = va - 1;     /* the trampoline's last byte: 0xC2 */
	if (ioctl(g->vcpu_fd, KVM_SET_REGS, &regs))
		trace_error("KVM_SET_REGS: %s", strerror(errno));

	int e;
	int r = run_vcpu(g, &e);
	struct kvm_run *run = g->run;
	if (r < 0) {
		if (e == EINTR && alarm_fired) {
			g->sregs_dirty = 1;
			trace_error("the guest did not finish within 2 s");
		}
		if ((e == EFAULT || e == EHWPOISON) && run->exit_reason == GM_KVM_EXIT_MEMORY_FAULT) {
			uint64_t mf[3];
			memcpy(mf, (uint8_t *)run + GM_MEMORY_FAULT_OFFSET, sizeof(mf));
			out_str(o, "errno", errno_name(e));
			out_str(o, "exit", "memory_fault");
			out_u64(o, "gpa", mf[1]);
			out_u64(o, "size", mf[2]);
			out_raw(o, "flags", (mf[0] & GM_KVM_MEMORY_EXIT_FLAG_PRIVATE) ? "[\"PRIVATE\"]" : "[]");
			return;
		}
		out_str(o, "errno", errno_name(e));
		return;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		g->mmio_pending = 1;
		if ((run->mmio.phys_addr & ~(PAGE - 1)) == ORACLE_MMIO_GPA) {
			g->last_ok = 1;
			out_u64(o, "ret", 0);
			if (acc == ACC_READ)
				out_u64(o, "value", run->mmio.data[0]);
			return;
		}
		out_u64(o, "ret", 0);
		out_str(o, "exit", "mmio");
		out_u64(o, "gpa", run->mmio.phys_addr);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		g->sregs_dirty = 1;
		out_u64(o, "ret", 0);
		out_str(o, "exit", "internal_error");
		out_u64(o, "suberror", run->internal.suberror);
		return;
	default:
		g->sregs_dirty = 1;
		trace_error("unexpected KVM_RUN exit reason %u (rip after setup 0x%llx)",
			    run->exit_reason, (unsigned long long)regs.rip);
	}
}
