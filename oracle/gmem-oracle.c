/*
 * gmem-oracle: replay a gmemsim trace (JSON Lines, SPEC section 5) on the
 * live kernel through /dev/kvm and plain syscalls, and print one result line
 * per counted trace line.
 *
 * The oracle is deliberately literal: every op is the one syscall or ioctl
 * the kernel would see, with the trace's values wrapped to the C types of
 * the uAPI, and the result is what the kernel answered.  Host loads and
 * stores run under a SIGBUS/SIGSEGV guard; guest accesses (vcpu_access) run
 * as real CPL-3 guest instructions (guest.c).
 *
 * Usage: gmem-oracle [TRACE]   (standard input without an argument or with "-")
 */
#define _GNU_SOURCE
#include "oracle.h"
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif

#define PAGE 4096ull

/* ------------------------------------------------------------------ */
/* Result lines                                                         */
/* ------------------------------------------------------------------ */

static void out_put(struct out *o, const char *s)
{
	size_t n = strlen(s);
	if (o->len + n >= sizeof(o->buf))
		n = sizeof(o->buf) - 1 - o->len;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

static void out_json_string(struct out *o, const char *s)
{
	char tmp[8];
	out_put(o, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			tmp[0] = '\\'; tmp[1] = (char)*p; tmp[2] = 0;
		} else if (*p < 0x20) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
		} else {
			tmp[0] = (char)*p; tmp[1] = 0;
		}
		out_put(o, tmp);
	}
	out_put(o, "\"");
}

void out_begin(struct out *o, long i)
{
	o->len = 0;
	o->buf[0] = 0;
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "{\"i\":%ld", i);
	out_put(o, tmp);
}

static void out_key(struct out *o, const char *key)
{
	out_put(o, ",");
	out_json_string(o, key);
	out_put(o, ":");
}

void out_u64(struct out *o, const char *key, uint64_t v)
{
	char tmp[32];
	out_key(o, key);
	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	out_put(o, tmp);
}

static void out_s64(struct out *o, const char *key, int64_t v)
{
	char tmp[32];
	out_key(o, key);
	snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
	out_put(o, tmp);
}

void out_str(struct out *o, const char *key, const char *v)
{
	out_key(o, key);
	out_json_string(o, v);
}

void out_raw(struct out *o, const char *key, const char *json)
{
	out_key(o, key);
	out_put(o, json);
}

void out_end(struct out *o)
{
	out_put(o, "}");
	fputs(o->buf, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

static const struct { int e; const char *name; } errnames[] = {
	{EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"}, {EINTR, "EINTR"},
	{EIO, "EIO"}, {ENXIO, "ENXIO"}, {E2BIG, "E2BIG"}, {ENOEXEC, "ENOEXEC"},
	{EBADF, "EBADF"}, {ECHILD, "ECHILD"}, {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"},
	{EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {ENOTBLK, "ENOTBLK"}, {EBUSY, "EBUSY"},
	{EEXIST, "EEXIST"}, {EXDEV, "EXDEV"}, {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"},
	{EISDIR, "EISDIR"}, {EINVAL, "EINVAL"}, {ENFILE, "ENFILE"}, {EMFILE, "EMFILE"},
	{ENOTTY, "ENOTTY"}, {ETXTBSY, "ETXTBSY"}, {EFBIG, "EFBIG"}, {ENOSPC, "ENOSPC"},
	{ESPIPE, "ESPIPE"}, {EROFS, "EROFS"}, {EMLINK, "EMLINK"}, {EPIPE, "EPIPE"},
	{EDOM, "EDOM"}, {ERANGE, "ERANGE"}, {EDEADLK, "EDEADLK"}, {ENAMETOOLONG, "ENAMETOOLONG"},
	{ENOLCK, "ENOLCK"}, {ENOSYS, "ENOSYS"}, {ENOTEMPTY, "ENOTEMPTY"}, {ELOOP, "ELOOP"},
	{ENOMSG, "ENOMSG"}, {EIDRM, "EIDRM"}, {ENODATA, "ENODATA"}, {ETIME, "ETIME"},
	{EOVERFLOW, "EOVERFLOW"}, {EBADFD, "EBADFD"}, {EILSEQ, "EILSEQ"},
	{EOPNOTSUPP, "EOPNOTSUPP"}, {ENOBUFS, "ENOBUFS"}, {ETIMEDOUT, "ETIMEDOUT"},
	{EALREADY, "EALREADY"}, {EINPROGRESS, "EINPROGRESS"}, {ESTALE, "ESTALE"},
	{EDQUOT, "EDQUOT"}, {ECANCELED, "ECANCELED"}, {EOWNERDEAD, "EOWNERDEAD"},
	{ENOTRECOVERABLE, "ENOTRECOVERABLE"}, {ERFKILL, "ERFKILL"}, {EHWPOISON, "EHWPOISON"},
	{ENOTSOCK, "ENOTSOCK"}, {EPROTO, "EPROTO"}, {EBADMSG, "EBADMSG"},
};

const char *errno_name(int e)
{
	static char buf[32];
	for (size_t k = 0; k < sizeof(errnames) / sizeof(errnames[0]); k++)
		if (errnames[k].e == e)
			return errnames[k].name;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Trace errors                                                         */
/* ------------------------------------------------------------------ */

static jmp_buf line_env;
static char line_err[512];

void trace_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line_err, sizeof(line_err), fmt, ap);
	va_end(ap);
	longjmp(line_env, 1);
}

/* ------------------------------------------------------------------ */
/* Numbers and flags                                                    */
/* ------------------------------------------------------------------ */

/*
 * A trace number is a JSON integer or a string in strtoull(..., 0) syntax.
 * Any value whose magnitude fits in 64 bits is taken as the 64-bit pattern
 * strtoull would return, then wrapped to the field's width as C does (so
 * "-1" is 0xffffffff in a u32, and 2^32 + 5 is 5).  Larger values,
 * fractions and booleans are trace errors.
 */
static int parse_magnitude(const char *s, int base, uint64_t *mag)
{
	uint64_t v = 0;
	int any = 0;
	for (; *s; s++) {
		int d;
		if (*s >= '0' && *s <= '9') d = *s - '0';
		else if (*s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
		else return -1;
		if (d >= base)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -2;
		v = v * (uint64_t)base + (uint64_t)d;
		any = 1;
	}
	if (!any)
		return -1;
	*mag = v;
	return 0;
}

/* Returns 0 and the (negative?, magnitude) pair, or a message. */
static const char *number_of(const struct jval *v, int *neg, uint64_t *mag)
{
	*neg = 0;
	if (!v)
		return "missing";
	if (v->type == J_BOOL)
		return "a boolean is not a number";
	if (v->type == J_NUM) {
		if (!v->num_is_int)
			return "not an integer";
		const char *s = v->str;
		if (*s == '-') { *neg = 1; s++; }
		int r = parse_magnitude(s, 10, mag);
		return r == -2 ? "out of range" : r ? "bad number" : NULL;
	}
	if (v->type == J_STR) {
		const char *s = v->str;
		while (isspace((unsigned char)*s)) s++;
		if (*s == '-' || *s == '+') { *neg = *s == '-'; s++; }
		int base = 10;
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) { base = 16; s += 2; }
		else if (s[0] == '0' && s[1]) { base = 8; s += 1; }
		int r = parse_magnitude(s, base, mag);
		return r == -2 ? "out of range" : r ? "not a number" : NULL;
	}
	return "not a number";
}

static uint64_t fit_bits(const char *key, int neg, uint64_t mag, int bits)
{
	(void)key; /* the magnitude already fits in 64 bits (parse_magnitude) */
	uint64_t v = neg ? (uint64_t)0 - mag : mag;
	return bits == 64 ? v : v & ((1ull << bits) - 1);
}

/* A byte value (store, vcpu_access write): a JSON integer from 0 to 255. */
static uint8_t get_byte(const struct jval *line, const char *key)
{
	const struct jval *v = json_get(line, key);
	if (!v)
		trace_error("missing field \"%s\"", key);
	int neg;
	uint64_t mag;
	if (v->type != J_NUM || number_of(v, &neg, &mag) || (neg && mag) || mag > 255)
		trace_error("field \"%s\": expected a byte value from 0 to 255", key);
	return (uint8_t)mag;
}

static int has(const struct jval *line, const char *key)
{
	return json_get(line, key) != NULL;
}

/* A required (or defaulted when optional) integer field of `bits` bits. */
static uint64_t get_num(const struct jval *line, const char *key, int bits, int optional, uint64_t def)
{
	const struct jval *v = json_get(line, key);
	if (!v) {
		if (optional)
			return def;
		trace_error("missing field \"%s\"", key);
	}
	int neg;
	uint64_t mag;
	const char *why = number_of(v, &neg, &mag);
	if (why)
		trace_error("field \"%s\": %s", key, why);
	return fit_bits(key, neg, mag, bits);
}

static int64_t sext(uint64_t v, int bits)
{
	if (bits == 64)
		return (int64_t)v;
	uint64_t sign = 1ull << (bits - 1);
	return (int64_t)((v ^ sign) - sign);
}

struct flagname { const char *name; uint64_t value; };

static const struct flagname gmem_flags[] = { {"MMAP", 1}, {"INIT_SHARED", 2}, {NULL, 0} };
static const struct flagname slot_flags[] = {
	{"LOG_DIRTY_PAGES", 1}, {"READONLY", 2}, {"GUEST_MEMFD", 4}, {NULL, 0} };
static const struct flagname falloc_flags[] = {
	{"KEEP_SIZE", 1}, {"PUNCH_HOLE", 2}, {"NO_HIDE_STALE", 4}, {"COLLAPSE_RANGE", 8},
	{"ZERO_RANGE", 16}, {"INSERT_RANGE", 32}, {"UNSHARE_RANGE", 64}, {"WRITE_ZEROES", 128},
	{NULL, 0} };
static const struct flagname attr_flags[] = { {"PRIVATE", 8}, {NULL, 0} };

static uint64_t flag_item(const char *key, const struct jval *v, const struct flagname *tab,
			  const char *prefix, int bits)
{
	if (v->type == J_STR) {
		const char *s = v->str;
		size_t pl = strlen(prefix);
		if (!strncmp(s, prefix, pl))
			s += pl;
		for (const struct flagname *f = tab; f->name; f++)
			if (!strcmp(s, f->name))
				return f->value;
	}
	int neg;
	uint64_t mag;
	const char *why = number_of(v, &neg, &mag);
	if (why) {
		if (v->type == J_STR)
			trace_error("field \"%s\": unknown flag \"%s\"", key, v->str);
		trace_error("field \"%s\": %s", key, why);
	}
	return fit_bits(key, neg, mag, bits);
}

static uint64_t get_flags(const struct jval *line, const char *key, const struct flagname *tab,
			  const char *prefix, int bits, int optional)
{
	const struct jval *v = json_get(line, key);
	if (!v) {
		if (optional)
			return 0;
		trace_error("missing field \"%s\"", key);
	}
	if (v->type != J_ARR)
		return flag_item(key, v, tab, prefix, bits);
	uint64_t acc = 0;
	for (size_t k = 0; k < v->n; k++)
		acc |= flag_item(key, &v->items[k], tab, prefix, bits);
	return acc;
}

static const char *get_str(const struct jval *line, const char *key)
{
	const struct jval *v = json_get(line, key);
	if (!v)
		trace_error("missing field \"%s\"", key);
	if (v->type != J_STR || !v->str[0])
		trace_error("field \"%s\" must be a non-empty string", key);
	return v->str;
}

/* ------------------------------------------------------------------ */
/* Names                                                                */
/* ------------------------------------------------------------------ */

enum kind { K_VM, K_FD, K_MAP };

struct obj {
	char *name;
	enum kind kind;
	int live;
	int fd;                 /* K_VM, K_FD */
	void *addr;             /* K_MAP */
	size_t len;             /* K_MAP: length asked for */
	int anon;               /* K_MAP: an anonymous region */
	struct guest *guest;    /* K_VM: lazily made vCPU */
};

static struct obj *objs;
static size_t nobjs, capobjs;
static int kvm_fd = -1;
static char kvm_err[128];

static struct obj *find(const char *name)
{
	for (size_t k = 0; k < nobjs; k++)
		if (!strcmp(objs[k].name, name))
			return &objs[k];
	return NULL;
}

static const char *kind_name(enum kind k)
{
	return k == K_VM ? "VM" : k == K_FD ? "fd" : "map";
}

/* Check that `name` may be bound (before doing the create). */
static void check_bindable(const char *name)
{
	struct obj *o = find(name);
	if (o && o->live)
		trace_error("name \"%s\" is already bound to a live %s", name, kind_name(o->kind));
}

/* Bind `name` to a new object (dead when the create failed). */
static struct obj *bind(const char *name, enum kind kind, int live)
{
	struct obj *o = find(name);
	if (!o) {
		if (nobjs == capobjs) {
			size_t nc = capobjs ? capobjs * 2 : 16;
			struct obj *no = realloc(objs, nc * sizeof(*no));
			if (!no) {
				fprintf(stderr, "gmem-oracle: out of memory\n");
				exit(2);
			}
			objs = no;
			capobjs = nc;
		}
		o = &objs[nobjs++];
		memset(o, 0, sizeof(*o));
		o->name = strdup(name);
	} else {
		char *n = o->name;
		memset(o, 0, sizeof(*o));
		o->name = n;
	}
	o->kind = kind;
	o->live = live;
	o->fd = -1;
	return o;
}

/*
 * A raw fd number from a trace.  fd numbers are not portable, so only the
 * standard streams (0, 1, 2: open files that are not guest_memfd) keep
 * their number; any other number is "not an open fd" and becomes -1, so
 * that it is EBADF even if it happens to equal an fd of the oracle or of
 * the trace.  This is also the simulator's rule.
 */
static int raw_fd(uint64_t n32)
{
	int fd = (int)(uint32_t)n32;
	return fd >= 0 && fd <= 2 ? fd : -1;
}

/* The object a name field names (any kind, live or dead). */
static struct obj *get_named(const struct jval *line, const char *key)
{
	const struct jval *v = json_get(line, key);
	if (!v)
		trace_error("missing field \"%s\"", key);
	if (v->type != J_STR)
		trace_error("field \"%s\": expected a name", key);
	struct obj *o = find(v->str);
	if (!o)
		trace_error("field \"%s\": unknown name \"%s\"", key, v->str);
	return o;
}

/* An fd field: the name of a VM, gmem fd or memfd; a dead one is fd -1. */
static int get_fd(const struct jval *line, const char *key, struct obj **objp)
{
	struct obj *o = get_named(line, key);
	if (o->kind == K_MAP)
		trace_error("field \"%s\": \"%s\" is a map, not an fd", key, o->name);
	if (objp)
		*objp = o;
	return o->live ? o->fd : -1;
}

/* A VM field: the name of a VM; a dead one is fd -1. */
static int get_vm(const struct jval *line, const char *key, struct obj **objp)
{
	struct obj *o = get_named(line, key);
	if (o->kind != K_VM)
		trace_error("field \"%s\": \"%s\" is not a VM", key, o->name);
	if (objp)
		*objp = o;
	return o->live ? o->fd : -1;
}

/* A memslot's guest_memfd: an fd name, or a raw u32 number. */
static uint32_t get_guest_memfd(const struct jval *line, const char *key)
{
	const struct jval *v = json_get(line, key);
	int neg;
	uint64_t mag;
	if (v && v->type == J_STR && number_of(v, &neg, &mag))
		return (uint32_t)get_fd(line, key, NULL);
	return (uint32_t)raw_fd(get_num(line, key, 32, 0, 0));
}

static struct obj *get_map(const struct jval *line, const char *key)
{
	const char *name = get_str(line, key);
	struct obj *o = find(name);
	if (!o)
		trace_error("field \"%s\": unknown name \"%s\"", key, name);
	if (o->kind != K_MAP)
		trace_error("field \"%s\": \"%s\" is a %s, not a map", key, name, kind_name(o->kind));
	if (!o->live)
		trace_error("field \"%s\": map \"%s\" is dead", key, name);
	return o;
}

static int need_kvm(void)
{
	if (kvm_fd < 0)
		trace_error("cannot open /dev/kvm: %s", kvm_err);
	return kvm_fd;
}

/* ------------------------------------------------------------------ */
/* The host address space of trace regions                              */
/* ------------------------------------------------------------------ */

/*
 * Trace mappings (anon_map, mmap, {"anon": NAME} regions) are placed like
 * the simulator places them (src/kvm/host.ts): from 4 GiB upwards, in
 * order, each followed by one guard page, and never reused.  A reserved
 * PROT_NONE arena keeps every other mapping of the process out, so that a
 * memslot running past the end of its region finds the guard (EFAULT, as
 * with nothing mapped) and never the oracle's own memory, and an address
 * is never handed out twice.
 */
#define ARENA_BASE 0x100000000ull
#define ARENA_SIZE (1ull << 45)
static uint64_t arena_next = ARENA_BASE;
static int arena_ok;

static void arena_init(void)
{
	void *p = mmap((void *)(uintptr_t)ARENA_BASE, ARENA_SIZE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	arena_ok = p == (void *)(uintptr_t)ARENA_BASE;
	if (!arena_ok && p != MAP_FAILED)
		munmap(p, ARENA_SIZE);
}

/* Give a range of the arena back to the reservation (never to reuse). */
static void arena_cover(void *addr, uint64_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;
	if (!arena_ok || a < ARENA_BASE || a >= ARENA_BASE + ARENA_SIZE)
		return;
	mmap(addr, (len + PAGE - 1) & ~(PAGE - 1), PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

/* mmap at the next arena address; MAP_FAILED and errno as mmap gives them. */
static void *arena_map(uint64_t len, int prot, int flags, int fd, off_t off)
{
	uint64_t npages = len / PAGE + (len % PAGE != 0);
	uint64_t room = (ARENA_BASE + ARENA_SIZE - arena_next) / PAGE;
	if (!arena_ok || len == 0 || npages + 1 > room)
		return mmap(NULL, len, prot, flags, fd, off);
	void *want = (void *)(uintptr_t)arena_next;
	void *p = mmap(want, len, prot, flags | MAP_FIXED, fd, off);
	if (p == MAP_FAILED) {
		int e = errno;
		arena_cover(want, npages * PAGE);   /* a failed MAP_FIXED may leave a hole */
		errno = e;
		return p;
	}
	arena_next += (npages + 1) * PAGE;
	return p;
}

static int arena_unmap(void *addr, uint64_t len)
{
	int r = munmap(addr, len);
	if (r == 0)
		arena_cover(addr, len);
	return r;
}

/* ------------------------------------------------------------------ */
/* Guarded host access                                                  */
/* ------------------------------------------------------------------ */

static sigjmp_buf access_env;
static volatile sig_atomic_t in_access;

static void on_fault(int sig)
{
	if (in_access) {
		in_access = 0;
		siglongjmp(access_env, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Returns 0, or the signal number that the access raised. */
static int guarded_load(volatile uint8_t *p, uint8_t *val)
{
	int sig = sigsetjmp(access_env, 1);
	if (sig)
		return sig;
	in_access = 1;
	*val = *p;
	in_access = 0;
	return 0;
}

static int guarded_fill(uint8_t *p, uint8_t val)
{
	int sig = sigsetjmp(access_env, 1);
	if (sig)
		return sig;
	in_access = 1;
	volatile uint64_t *q = (volatile uint64_t *)p;
	uint64_t pat = 0x0101010101010101ull * val;
	for (size_t k = 0; k < PAGE / 8; k++)
		q[k] = pat;
	in_access = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Ops                                                                  */
/* ------------------------------------------------------------------ */

static void res_errno(struct out *o, int e)
{
	out_str(o, "errno", errno_name(e));
}

static void res_ret(struct out *o, long long r)
{
	out_s64(o, "ret", r);
}

/* ret < 0 -> errno line; else ret. */
static void res_sys(struct out *o, long long r, int e)
{
	if (r < 0)
		res_errno(o, e);
	else
		res_ret(o, r);
}

static void op_create_vm(const struct jval *l, struct out *o)
{
	const char *as = get_str(l, "as");
	const struct jval *t = json_get(l, "type");
	uint64_t type;
	if (!t)
		trace_error("missing field \"type\"");
	if (t->type == J_STR && !strcmp(t->str, "default"))
		type = 0;
	else if (t->type == J_STR && !strcmp(t->str, "sw_protected"))
		type = 1;
	else
		type = get_num(l, "type", 64, 0, 0);
	check_bindable(as);
	int kfd = need_kvm();
	int fd;
	do
		fd = ioctl(kfd, KVM_CREATE_VM, (unsigned long)type);
	while (fd < 0 && errno == EINTR);
	int e = errno;
	struct obj *ob = bind(as, K_VM, fd >= 0);
	ob->fd = fd;
	res_sys(o, fd < 0 ? -1 : 0, e);
}

static void guest_release(struct obj *ob)
{
	if (ob->guest) {
		guest_destroy(ob->guest);
		ob->guest = NULL;
	}
}

/* Closes a named fd: a VM's vCPU goes first; the name stays bound, dead. */
static void close_named(struct obj *ob, int fd, struct out *o)
{
	if (ob->live && ob->kind == K_VM)
		guest_release(ob);
	int r = close(fd);
	int e = errno;
	if (r == 0)
		ob->live = 0;
	res_sys(o, r, e);
}

static void op_destroy_vm(const struct jval *l, struct out *o)
{
	struct obj *ob;
	int fd = get_vm(l, "vm", &ob);
	close_named(ob, fd, o);
}

static void op_close(const struct jval *l, struct out *o)
{
	struct obj *ob;
	int fd = get_fd(l, "fd", &ob);
	close_named(ob, fd, o);
}

static void op_create_guest_memfd(const struct jval *l, struct out *o)
{
	int vm = get_vm(l, "vm", NULL);
	const char *as = get_str(l, "as");
	struct gm_create_guest_memfd arg;
	memset(&arg, 0, sizeof(arg));
	arg.size = get_num(l, "size", 64, 1, 0);
	arg.flags = get_flags(l, "flags", gmem_flags, "GUEST_MEMFD_FLAG_", 64, 1);
	/* reserved[] is passed through when well formed (the kernel ignores it). */
	const struct jval *rv = json_get(l, "reserved");
	if (rv && rv->type == J_ARR) {
		for (size_t k = 0; k < rv->n && k < 6; k++) {
			int neg;
			uint64_t mag;
			if (!number_of(&rv->items[k], &neg, &mag))
				arg.reserved[k] = neg ? (uint64_t)0 - mag : mag;
		}
	}
	check_bindable(as);
	int fd = ioctl(vm, GM_KVM_CREATE_GUEST_MEMFD, &arg);
	int e = errno;
	struct obj *ob = bind(as, K_FD, fd >= 0);
	ob->fd = fd;
	res_sys(o, fd < 0 ? -1 : 0, e);
}

static void op_fstat(const struct jval *l, struct out *o)
{
	int fd = get_fd(l, "fd", NULL);
	struct stat st;
	if (fstat(fd, &st)) {
		res_errno(o, errno);
		return;
	}
	res_ret(o, 0);
	out_s64(o, "size", (int64_t)st.st_size);
	out_s64(o, "blocks", (int64_t)st.st_blocks);
}

/* A scratch buffer for read/write: lazily mapped, zero-filled. */
static void *io_buffer(uint64_t len)
{
	static char small[1];
	if (len == 0)
		return small;
	if (len > (1ull << 30))
		trace_error("field \"len\": %llu bytes is more than the oracle buffers (1 GiB)",
			    (unsigned long long)len);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		trace_error("cannot allocate a %llu-byte buffer", (unsigned long long)len);
	return p;
}

static void io_free(void *p, uint64_t len)
{
	if (len)
		munmap(p, len);
}

static void op_rw(const struct jval *l, struct out *o, int is_write, int positional)
{
	int fd = get_fd(l, "fd", NULL);
	uint64_t len = get_num(l, "len", 64, 1, PAGE);
	int64_t off = positional ? sext(get_num(l, "offset", 64, 1, 0), 64) : 0;
	/* A write fills what it writes with one byte, as a store fills a page. */
	uint64_t value = is_write ? get_num(l, "value", 8, 1, 0) : 0;
	void *buf = io_buffer(len);
	ssize_t r;
	if (value)
		memset(buf, (int)value, len);
	if (positional)
		r = is_write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	else
		r = is_write ? write(fd, buf, len) : read(fd, buf, len);
	int e = errno;
	io_free(buf, len);
	res_sys(o, r, e);
}

static void op_ftruncate(const struct jval *l, struct out *o)
{
	int fd = get_fd(l, "fd", NULL);
	int64_t size = sext(get_num(l, "size", 64, 0, 0), 64);
	int r = ftruncate(fd, size);
	res_sys(o, r, errno);
}

static const struct flagname cap_names[] = {
	{"IRQCHIP", 0}, {"HLT", 1}, {"USER_MEMORY", 3}, {"SET_TSS_ADDR", 4}, {"VAPIC", 6},
	{"EXT_CPUID", 7}, {"CLOCKSOURCE", 8}, {"NR_VCPUS", 9}, {"NR_MEMSLOTS", 10}, {"PIT", 11},
	{"NOP_IO_DELAY", 12}, {"MP_STATE", 14}, {"COALESCED_MMIO", 15}, {"SYNC_MMU", 16},
	{"DESTROY_MEMORY_REGION_WORKS", 21}, {"USER_NMI", 22}, {"SET_GUEST_DEBUG", 23},
	{"JOIN_MEMORY_REGIONS_WORKS", 30}, {"MCE", 31}, {"IRQFD", 32}, {"IOEVENTFD", 36},
	{"ENABLE_CAP", 54}, {"XSAVE", 55}, {"MAX_VCPUS", 66}, {"ONE_REG", 70},
	{"READONLY_MEM", 81}, {"CHECK_EXTENSION_VM", 105}, {"DISABLE_QUIRKS", 116},
	{"X86_SMM", 117}, {"MULTI_ADDRESS_SPACE", 118}, {"MAX_VCPU_ID", 128},
	{"IMMEDIATE_EXIT", 136}, {"EXIT_ON_EMULATION_FAILURE", 204}, {"VM_GPA_BITS", 207},
	{"DISABLE_QUIRKS2", 213}, {"USER_MEMORY2", 231}, {"MEMORY_FAULT_INFO", 232},
	{"MEMORY_ATTRIBUTES", 233}, {"GUEST_MEMFD", 234}, {"VM_TYPES", 235},
	{"PRE_FAULT_MEMORY", 236}, {"VM_MOVE_ENC_CONTEXT_FROM", 206}, {"GUEST_MEMFD_FLAGS", 244}, {"GUEST_MEMFD_MMAP", 244},
	{NULL, 0} };

static void op_check_extension(const struct jval *l, struct out *o)
{
	int fd = has(l, "vm") ? get_vm(l, "vm", NULL) : need_kvm();
	const struct jval *cv = json_get(l, "cap");
	if (!cv)
		trace_error("missing field \"cap\"");
	uint64_t cap = flag_item("cap", cv, cap_names, "KVM_CAP_", 64);
	int r = ioctl(fd, KVM_CHECK_EXTENSION, (unsigned long)cap);
	if (r < 0) {
		res_errno(o, errno);
		return;
	}
	res_ret(o, 0);
	out_s64(o, "value", r);
}

static void op_fallocate(const struct jval *l, struct out *o)
{
	int fd = get_fd(l, "fd", NULL);
	int mode = (int)get_flags(l, "mode", falloc_flags, "FALLOC_FL_", 32, 0);
	int64_t off = sext(get_num(l, "offset", 64, 0, 0), 64);
	int64_t len = sext(get_num(l, "len", 64, 0, 0), 64);
	int r = fallocate(fd, mode, off, len);
	res_sys(o, r, errno);
}

static struct obj *new_anon(const char *name, uint64_t len, struct out *o);

/*
 * userspace_addr: a number, {"anon": NAME, "offset"?}, or {"map": NAME, "offset"?}.
 * An {"anon": NAME} that names nothing yet is placed where the next region
 * goes and returned in *pending, to be created only if the ioctl succeeds: a
 * failed op creates nothing (as in the simulator, which places it the same way).
 */
struct pending_anon {
	const char *name;
	uint64_t len;
	void *addr;
};

static uint64_t get_uaddr(const struct jval *l, uint64_t memory_size, struct pending_anon *pending)
{
	const struct jval *v = json_get(l, "userspace_addr");
	if (!v)
		return 0;
	if (v->type != J_OBJ)
		return get_num(l, "userspace_addr", 64, 0, 0);
	const struct jval *an = json_get(v, "anon");
	const struct jval *mp = json_get(v, "map");
	if ((an != NULL) == (mp != NULL))
		trace_error("field \"userspace_addr\": give exactly one of \"anon\" and \"map\"");
	const struct jval *nv = an ? an : mp;
	if (nv->type != J_STR || !nv->str[0])
		trace_error("field \"userspace_addr\": the region name must be a string");
	uint64_t off = get_num(v, "offset", 64, 1, 0);
	struct obj *ob = find(nv->str);
	if (!ob) {
		if (mp)
			trace_error("field \"userspace_addr\": unknown map \"%s\"", nv->str);
		/*
		 * At least one page and at least offset + memory_size, page-rounded.  A
		 * size no user address range can hold (beyond the 47-bit user
		 * half) gets one page instead: the kernel refuses such a slot
		 * (EINVAL, alignment or access_ok) whatever the address is.
		 */
		uint64_t want = memory_size + off;
		if (want < memory_size)
			want = UINT64_MAX;
		uint64_t len = want > (1ull << 47) ? PAGE : (want + PAGE - 1) & ~(PAGE - 1);
		if (!len)
			len = PAGE;
		uint64_t room = (ARENA_BASE + ARENA_SIZE - arena_next) / PAGE;
		if (arena_ok && len / PAGE + 1 <= room) {
			pending->name = nv->str;
			pending->len = len;
			pending->addr = (void *)(uintptr_t)arena_next;
			return arena_next + off;
		}
		/* No arena to place it in advance: created now, as a region must have an address. */
		ob = new_anon(nv->str, len, NULL);
	}
	if (ob->kind != K_MAP)
		trace_error("field \"userspace_addr\": \"%s\" is a %s, not a host region", nv->str,
			    kind_name(ob->kind));
	if (!ob->live)
		trace_error("field \"userspace_addr\": map \"%s\" is dead", nv->str);
	return (uint64_t)(uintptr_t)ob->addr + off;
}

static void op_set_user_memory_region2(const struct jval *l, struct out *o)
{
	int vm = get_vm(l, "vm", NULL);
	struct gm_userspace_memory_region2 r;
	memset(&r, 0, sizeof(r));
	r.slot = (uint32_t)get_num(l, "slot", 32, 1, 0);
	r.flags = (uint32_t)get_flags(l, "flags", slot_flags, "KVM_MEM_", 32, 1);
	r.guest_phys_addr = get_num(l, "guest_phys_addr", 64, 1, 0);
	r.memory_size = get_num(l, "memory_size", 64, 1, 0);
	r.guest_memfd_offset = get_num(l, "guest_memfd_offset", 64, 1, 0);
	if (has(l, "guest_memfd"))
		r.guest_memfd = get_guest_memfd(l, "guest_memfd");
	r.pad1 = (uint32_t)get_num(l, "pad1", 32, 1, 0);
	const struct jval *p2 = json_get(l, "pad2");
	if (p2 && p2->type == J_ARR) {
		for (size_t k = 0; k < p2->n && k < 14; k++) {
			int neg;
			uint64_t mag;
			if (!number_of(&p2->items[k], &neg, &mag))
				r.pad2[k] = neg ? (uint64_t)0 - mag : mag;
		}
	}
	/* Last: it may place a new anon region, created below only if the ioctl succeeds. */
	struct pending_anon pending = {0};
	r.userspace_addr = get_uaddr(l, r.memory_size, &pending);
	int ret = ioctl(vm, GM_KVM_SET_USER_MEMORY_REGION2, &r);
	int e = errno;
	if (ret == 0 && pending.name) {
		struct obj *ob = new_anon(pending.name, pending.len, NULL);
		if (ob->addr != pending.addr)
			trace_error("anon region \"%s\" could not be placed where its memslot points", pending.name);
	}
	res_sys(o, ret, e);
}

static struct obj *new_anon(const char *name, uint64_t len, struct out *o)
{
	void *p = len ? arena_map(len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
		      : MAP_FAILED;
	int e = len ? errno : EINVAL;
	if (p == MAP_FAILED && !o)
		trace_error("cannot create anon region \"%s\" of %llu bytes: %s", name,
			    (unsigned long long)len, strerror(e));
	struct obj *ob = bind(name, K_MAP, p != MAP_FAILED);
	ob->anon = 1;
	ob->addr = p == MAP_FAILED ? NULL : p;
	ob->len = len;
	if (o)
		res_sys(o, p == MAP_FAILED ? -1 : 0, e);
	return ob;
}

static void op_anon_map(const struct jval *l, struct out *o)
{
	const char *as = get_str(l, "as");
	uint64_t len = get_num(l, "len", 64, 0, 0);
	check_bindable(as);
	new_anon(as, len, o);
}

static void op_memfd(const struct jval *l, struct out *o)
{
	const char *as = get_str(l, "as");
	int64_t size = sext(get_num(l, "size", 64, 0, 0), 64);
	check_bindable(as);
	int fd = memfd_create("gmemsim-memfd", 0);
	int e = errno;
	if (fd >= 0 && ftruncate(fd, size)) {
		e = errno;
		close(fd);
		fd = -1;
	}
	struct obj *ob = bind(as, K_FD, fd >= 0);
	ob->fd = fd;
	res_sys(o, fd < 0 ? -1 : 0, e);
}

static int get_prot(const struct jval *l)
{
	const struct jval *v = json_get(l, "prot");
	if (!v)
		trace_error("missing field \"prot\"");
	int neg;
	uint64_t mag;
	if (v->type == J_STR && number_of(v, &neg, &mag)) {
		if (!strcmp(v->str, "none"))
			return PROT_NONE;
		int prot = 0;
		for (const char *s = v->str; *s; s++) {
			if (*s == 'r') prot |= PROT_READ;
			else if (*s == 'w') prot |= PROT_WRITE;
			else if (*s == 'x') prot |= PROT_EXEC;
			else trace_error("field \"prot\": \"%s\" is not letters of \"rwx\" or \"none\"", v->str);
		}
		if (!v->str[0])
			trace_error("field \"prot\": empty");
		return prot;
	}
	return (int)get_num(l, "prot", 32, 0, 0);
}

static void op_mmap(const struct jval *l, struct out *o)
{
	int fd = get_fd(l, "fd", NULL);
	const char *as = get_str(l, "as");
	int64_t off = sext(get_num(l, "offset", 64, 0, 0), 64);
	uint64_t len = get_num(l, "len", 64, 0, 0);
	int prot = get_prot(l);
	const struct jval *sh = json_get(l, "shared");
	if (!sh)
		trace_error("missing field \"shared\"");
	if (sh->type != J_BOOL)
		trace_error("field \"shared\" must be a boolean");
	check_bindable(as);
	void *p = arena_map(len, prot, sh->boolean ? MAP_SHARED : MAP_PRIVATE, fd, off);
	int e = errno;
	struct obj *ob = bind(as, K_MAP, p != MAP_FAILED);
	ob->addr = p == MAP_FAILED ? NULL : p;
	ob->len = len;
	res_sys(o, p == MAP_FAILED ? -1 : 0, e);
}

static void op_munmap(const struct jval *l, struct out *o)
{
	struct obj *ob = get_map(l, "map");
	int r = arena_unmap(ob->addr, ob->len);
	int e = errno;
	if (r == 0)
		ob->live = 0;
	res_sys(o, r, e);
}

static uint8_t *map_page(const struct jval *l, struct obj *ob, uint64_t *offp)
{
	uint64_t off = get_num(l, "offset", 64, 0, 0);
	uint64_t rounded = ((uint64_t)ob->len + PAGE - 1) & ~(PAGE - 1);
	if (off >= rounded)
		trace_error("field \"offset\": %llu is outside the %llu-byte mapping",
			    (unsigned long long)off, (unsigned long long)rounded);
	*offp = off;
	return (uint8_t *)ob->addr + off;
}

static const char *sig_name(int sig)
{
	return sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "SIGNAL";
}

static void op_load(const struct jval *l, struct out *o)
{
	struct obj *ob = get_map(l, "map");
	uint64_t off;
	uint8_t *p = map_page(l, ob, &off);
	uint8_t val = 0;
	int sig = guarded_load(p, &val);
	if (sig) {
		out_str(o, "signal", sig_name(sig));
		return;
	}
	res_ret(o, 0);
	out_u64(o, "value", val);
}

static void op_store(const struct jval *l, struct out *o)
{
	struct obj *ob = get_map(l, "map");
	uint64_t off;
	(void)map_page(l, ob, &off);
	uint8_t val = get_byte(l, "value");
	uint8_t *page = (uint8_t *)ob->addr + (off & ~(PAGE - 1));
	int sig = guarded_fill(page, val);
	if (sig) {
		out_str(o, "signal", sig_name(sig));
		return;
	}
	res_ret(o, 0);
}

static void op_set_memory_attributes(const struct jval *l, struct out *o)
{
	int vm = get_vm(l, "vm", NULL);
	struct gm_memory_attributes a;
	a.address = get_num(l, "address", 64, 1, 0);
	a.size = get_num(l, "size", 64, 1, 0);
	a.attributes = get_flags(l, "attributes", attr_flags, "KVM_MEMORY_ATTRIBUTE_", 64, 1);
	a.flags = get_num(l, "flags", 64, 1, 0);
	int r = ioctl(vm, GM_KVM_SET_MEMORY_ATTRIBUTES, &a);
	res_sys(o, r, errno);
}

/*
 * memory_failure: poison the page as the kernel's memory-failure path would,
 * through madvise(MADV_HWPOISON) on a one-page shared mapping of the file.
 * When the file cannot be mapped, an unpopulated PROT_NONE page asks the
 * kernel whether MADV_HWPOISON exists at all (EINVAL when
 * CONFIG_MEMORY_FAILURE is off; nothing can be poisoned through it), and
 * otherwise the mapping's errno is reported.
 */
static void op_memory_failure(const struct jval *l, struct out *o)
{
	int fd = get_fd(l, "fd", NULL);
	uint64_t off = get_num(l, "offset", 64, 0, 0);
	struct stat st;
	if (fstat(fd, &st)) {
		res_errno(o, errno);
		return;
	}
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(off & ~(PAGE - 1)));
	if (p == MAP_FAILED) {
		int e = errno;
		void *probe = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (probe != MAP_FAILED) {
			if (madvise(probe, PAGE, MADV_HWPOISON) && errno == EINVAL)
				e = EINVAL;
			munmap(probe, PAGE);
		}
		res_errno(o, e);
		return;
	}
	int r = madvise(p, PAGE, MADV_HWPOISON);
	int e = errno;
	munmap(p, PAGE);
	res_sys(o, r, e);
}

static void op_vcpu_access(const struct jval *l, struct out *o)
{
	struct obj *ob;
	int vm = get_vm(l, "vm", &ob);
	uint64_t gpa = get_num(l, "gpa", 64, 0, 0);
	const char *acc = get_str(l, "access");
	enum access a;
	if (!strcmp(acc, "read")) a = ACC_READ;
	else if (!strcmp(acc, "write")) a = ACC_WRITE;
	else if (!strcmp(acc, "exec")) a = ACC_EXEC;
	else trace_error("field \"access\": \"%s\" is not read, write or exec", acc);
	int private = 0;
	const struct jval *pv = json_get(l, "private");
	if (pv) {
		if (pv->type != J_BOOL)
			trace_error("field \"private\" must be a boolean");
		private = pv->boolean;
	}
	uint8_t value = a == ACC_WRITE ? get_byte(l, "value") : 0;
	if (vm < 0) {
		res_errno(o, EBADF);
		return;
	}
	if (private) {
		/* A default VM has no private memory: the guest cannot make a private access. */
		out_str(o, "unsupported", "vcpu_access: private access on a VM without private memory");
		return;
	}
	if (!ob->guest) {
		char err[256];
		ob->guest = guest_create(need_kvm(), vm, err, sizeof(err));
		if (!ob->guest)
			trace_error("cannot set up the oracle's vCPU: %s", err);
	}
	guest_access(ob->guest, gpa, a, value, o);
}

/* ------------------------------------------------------------------ */
/* Driver loop                                                          */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	void (*fn)(const struct jval *, struct out *);
} ops[] = {
	{"create_vm", op_create_vm},
	{"destroy_vm", op_destroy_vm},
	{"create_guest_memfd", op_create_guest_memfd},
	{"fstat", op_fstat},
	{"ftruncate", op_ftruncate},
	{"check_extension", op_check_extension},
	{"fallocate", op_fallocate},
	{"set_user_memory_region2", op_set_user_memory_region2},
	{"anon_map", op_anon_map},
	{"memfd", op_memfd},
	{"mmap", op_mmap},
	{"munmap", op_munmap},
	{"load", op_load},
	{"store", op_store},
	{"close", op_close},
	{"set_memory_attributes", op_set_memory_attributes},
	{"vcpu_access", op_vcpu_access},
	{"memory_failure", op_memory_failure},
};

static void run_line(const char *text, long i)
{
	struct out o;
	out_begin(&o, i);
	const char *err = NULL;
	struct jval *volatile line = json_parse(text, &err);
	if (setjmp(line_env)) {
		out_begin(&o, i);
		out_str(&o, "error", line_err);
		out_end(&o);
		json_free(line);
		return;
	}
	if (!line)
		trace_error("invalid JSON: %s", err);
	if (line->type != J_OBJ)
		trace_error("a trace line must be a JSON object");
	const char *op = get_str(line, "op");
	if (!strcmp(op, "read") || !strcmp(op, "write")) {
		op_rw(line, &o, op[0] == 'w', 0);
	} else if (!strcmp(op, "pread") || !strcmp(op, "pwrite")) {
		op_rw(line, &o, op[1] == 'w', 1);
	} else if (!strcmp(op, "stats") || !strcmp(op, "gmem_link") ||
		   !strcmp(op, "move_enc_context_from")) {
		/* Extensions (SPEC 2.2, counters): nothing in the kernel to ask. */
		out_str(&o, "unsupported", op);
	} else {
		size_t k;
		for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
			if (!strcmp(op, ops[k].name))
				break;
		if (k == sizeof(ops) / sizeof(ops[0]))
			trace_error("unknown op \"%s\"", op);
		ops[k].fn(line, &o);
	}
	out_end(&o);
	json_free(line);
}

static char *read_all(FILE *f, size_t *lenp)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		size_t n = fread(buf + len, 1, cap - 1 - len, f);
		len += n;
		if (n == 0)
			break;
	}
	buf[len] = 0;
	*lenp = len;
	return buf;
}

static void cleanup(void)
{
	/* Maps first (they hold files), then fds, then VMs, each in creation order. */
	for (size_t k = 0; k < nobjs; k++)
		if (objs[k].live && objs[k].kind == K_MAP) {
			munmap(objs[k].addr, objs[k].len);
			objs[k].live = 0;
		}
	for (size_t k = 0; k < nobjs; k++)
		if (objs[k].live && objs[k].kind == K_VM)
			guest_release(&objs[k]);
	for (size_t k = 0; k < nobjs; k++)
		if (objs[k].live) {
			close(objs[k].fd);
			objs[k].live = 0;
		}
	if (kvm_fd >= 0)
		close(kvm_fd);
}

int main(int argc, char **argv)
{
	FILE *in = stdin;
	if (argc >= 2 && !strcmp(argv[1], "--bench")) {
		/* The timing mode (bench.c); a trace_error there ends the run. */
		if (setjmp(line_env)) {
			fprintf(stderr, "gmem-oracle --bench: %s\n", line_err);
			return 1;
		}
		return bench_main(argc - 1, argv + 1);
	}
	if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
		fprintf(stderr, "usage: gmem-oracle [TRACE|-]\n       gmem-oracle --bench NAME SCALE\n");
		return 2;
	}
	if (argc == 2 && strcmp(argv[1], "-")) {
		in = fopen(argv[1], "r");
		if (!in) {
			fprintf(stderr, "gmem-oracle: %s: %s\n", argv[1], strerror(errno));
			return 2;
		}
	}
	size_t len;
	char *text = read_all(in, &len);
	if (!text) {
		fprintf(stderr, "gmem-oracle: out of memory reading the trace\n");
		return 2;
	}
	if (in != stdin)
		fclose(in);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0; /* no SA_RESTART: a stuck KVM_RUN returns EINTR */
	sigaction(SIGALRM, &sa, NULL);

	arena_init();
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		snprintf(kvm_err, sizeof(kvm_err), "%s", strerror(errno));

	long i = 0;
	char *p = text;
	while (p < text + len) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		char *end = nl ? nl : text + len;
		*end = 0;
		if (end > p && end[-1] == '\r')
			end[-1] = 0;
		const char *s = p;
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')
			s++;
		if (*s && *s != '#')
			run_line(p, i++);
		p = end + 1;
	}
	cleanup();
	free(text);
	return 0;
}
