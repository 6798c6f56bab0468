/*
 * The C limit of gmemsim's core: the same recorded command stream
 * (src/abi/core-abi.ts: 8 doubles per command) run by plain C, -O2, on hash
 * tables for the page caches and the stage-2 tables and a LIFO frame pool, as
 * the core numbers frames. It reads its stream in place and writes no result
 * words (the core copies each batch into its memory and writes five words a
 * command, as its ABI asks): the limit is the data structures' work alone.
 * It knows the commands the guest-traffic benchmark
 * sends (create a VM, inode, file, memslot; guest access through a gmem-only
 * memslot; allocate; punch) and refuses any other, so that it can never be
 * timed on something it does not do.
 *
 *   limit SETUP TRAFFIC ROUNDS NVMS
 *
 * runs SETUP then TRAFFIC on fresh state ROUNDS times, timing TRAFFIC, and
 * prints {"ns_per_op", "read_sum", "counters"}: the best round's ns per
 * command (CPU time, as the JavaScript side measures), the sum of the bytes the guest read, and "sptes/faults/zaps" per VM
 * then ";host pages", which bench/tiers.ts checks against the other paths.
 *
 * The core itself keeps its page caches and stage-2 tables in block maps
 * (assembly/blockmap.ts): blocks of 64 aligned keys (a presence mask and the
 * values) under a directory of block numbers, a flat array while a map's
 * blocks lie within 30 block numbers (as every map of the tiers workload
 * does) and a B+tree with a small cache of recently used blocks beyond;
 * ordered, as its range operations and snapshots need, where these hash
 * tables are not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OP_VM_CREATE = 1, OP_INODE_CREATE = 3, OP_FILE_CREATE = 5, OP_SLOT_CREATE = 7, OP_SLOT_SET_UADDR = 8,
       OP_ALLOCATE = 11, OP_PUNCH = 12, OP_GUEST_ACCESS = 16, OP_FILE_SET_FOREIGN = 29 };
enum { SLOT_GUEST_MEMFD = 4, SLOT_GMEM_ONLY = 0x10000, PG_UPTODATE = 1 };
#define MAXOBJ 4096

/* An open-addressing map u64 -> u32 (0 = absent), linear probing, backward-shift deletion. */
typedef struct { uint64_t *keys; uint32_t *vals; uint32_t cap, len; } Map;

static inline uint32_t slot_of(const Map *m, uint64_t k) { return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1); }

static uint32_t map_get(const Map *m, uint64_t k) {
  if (!m->cap) return 0;
  for (uint32_t i = slot_of(m, k);; i = (i + 1) & (m->cap - 1)) {
    if (!m->vals[i]) return 0;
    if (m->keys[i] == k) return m->vals[i];
  }
}

static void map_put(Map *m, uint64_t k, uint32_t v);

static void map_grow(Map *m) {
  Map n = { 0, 0, m->cap ? m->cap * 2 : 16, 0 };
  n.keys = calloc(n.cap, 8);
  n.vals = calloc(n.cap, 4);
  for (uint32_t i = 0; i < m->cap; i++) if (m->vals[i]) map_put(&n, m->keys[i], m->vals[i]);
  free(m->keys);
  free(m->vals);
  *m = n;
}

static void map_put(Map *m, uint64_t k, uint32_t v) {
  if ((m->len + 1) * 2 > m->cap) map_grow(m);
  uint32_t i = slot_of(m, k);
  for (; m->vals[i]; i = (i + 1) & (m->cap - 1))
    if (m->keys[i] == k) { m->vals[i] = v; return; }
  m->keys[i] = k;
  m->vals[i] = v;
  m->len++;
}

/* Removes k; returns its value or 0. */
static uint32_t map_del(Map *m, uint64_t k) {
  if (!m->cap) return 0;
  uint32_t mask = m->cap - 1, i = slot_of(m, k);
  for (;; i = (i + 1) & mask) {
    if (!m->vals[i]) return 0;
    if (m->keys[i] == k) break;
  }
  uint32_t v = m->vals[i];
  for (uint32_t j = (i + 1) & mask; m->vals[j]; j = (j + 1) & mask) {
    uint32_t home = slot_of(m, m->keys[j]);
    /* Move j back into the hole at i when its home does not lie in (i, j]. */
    if (((j - home) & mask) >= ((j - i) & mask)) {
      m->keys[i] = m->keys[j];
      m->vals[i] = m->vals[j];
      i = j;
    }
  }
  m->vals[i] = 0;
  m->len--;
  return v;
}

static void map_free(Map *m) { free(m->keys); free(m->vals); memset(m, 0, sizeof *m); }

typedef struct { int live; int id, file; uint32_t flags; uint64_t base, npages, pgoff; } Slot;
typedef struct { Map s2; int64_t sptes, faults, zaps, exits; Slot slots[8]; int nslots; } Vm;
typedef struct { Map pages; uint64_t npages; int files[16]; int nfiles; } Inode;
typedef struct { int inode, vm; uint32_t rights; } File;

static Vm vms[MAXOBJ];
static Inode inodes[MAXOBJ];
static File files[MAXOBJ];
static uint8_t *fbyte, *fflags;
static uint32_t fcap, next_pfn, *stack, stack_len, stack_cap;
static int64_t host_pages;
static double read_sum;

static uint32_t frame_alloc(void) {
  uint32_t pfn = stack_len ? stack[--stack_len] : next_pfn++;
  if (pfn >= fcap) {
    uint32_t cap = fcap ? fcap * 2 : 1024;
    while (cap <= pfn) cap *= 2;
    fbyte = realloc(fbyte, cap);
    fflags = realloc(fflags, cap);
    fcap = cap;
  }
  fbyte[pfn] = 0;
  fflags[pfn] = 0;
  host_pages++;
  return pfn;
}

static void frame_free(uint32_t pfn) {
  if (stack_len == stack_cap) stack = realloc(stack, (stack_cap = stack_cap ? stack_cap * 2 : 1024) * 4);
  stack[stack_len++] = pfn;
  host_pages--;
}

static void reset_state(void) {
  for (int i = 0; i < MAXOBJ; i++) { map_free(&vms[i].s2); map_free(&inodes[i].pages); }
  memset(vms, 0, sizeof vms);
  memset(inodes, 0, sizeof inodes);
  memset(files, 0, sizeof files);
  next_pfn = 1;
  stack_len = 0;
  host_pages = 0;
  read_sum = 0;
}

static void zap(Vm *vm, uint64_t start, uint64_t end) {
  for (uint64_t g = start; g < end; g++)
    if (map_del(&vm->s2, g)) { vm->sptes--; vm->zaps++; }
}

static void punch(Inode *ino, uint64_t start, uint64_t end) {
  for (int f = 0; f < ino->nfiles; f++) {
    File *file = &files[ino->files[f]];
    Vm *vm = &vms[file->vm];
    for (int s = 0; s < vm->nslots; s++) {
      Slot *sl = &vm->slots[s];
      if (!sl->live || sl->file != ino->files[f]) continue;
      uint64_t lo = start > sl->pgoff ? start : sl->pgoff, hi = end < sl->pgoff + sl->npages ? end : sl->pgoff + sl->npages;
      if (lo < hi) zap(vm, sl->base + lo - sl->pgoff, sl->base + hi - sl->pgoff);
    }
  }
  for (uint64_t p = start; p < end; p++) {
    uint32_t pfn = map_del(&ino->pages, p);
    if (pfn) frame_free(pfn);
  }
}

static void guest_access(Vm *vm, uint64_t gfn, int access, uint32_t byte) {
  uint32_t right = access == 0 ? 1 : access == 1 ? 2 : 4;
  uint32_t spte = map_get(&vm->s2, gfn), pfn;
  if (!(spte & right)) {
    Slot *sl = 0;
    for (int s = 0; s < vm->nslots; s++)
      if (vm->slots[s].live && gfn - vm->slots[s].base < vm->slots[s].npages) sl = &vm->slots[s];
    if (!sl) { vm->exits++; return; }
    if (!(sl->flags & SLOT_GMEM_ONLY) || !(sl->flags & SLOT_GUEST_MEMFD) || sl->file < 0) { fprintf(stderr, "limit: only gmem-only memslots are modelled\n"); exit(2); }
    Inode *ino = &inodes[files[sl->file].inode];
    uint64_t pgoff = sl->pgoff + gfn - sl->base;
    pfn = map_get(&ino->pages, pgoff);
    if (!pfn) { pfn = frame_alloc(); map_put(&ino->pages, pgoff, pfn); }
    if (!(fflags[pfn] & PG_UPTODATE)) { fbyte[pfn] = 0; fflags[pfn] |= PG_UPTODATE; }
    uint32_t rights = access == 0 ? 1 : access == 1 ? 3 : 5;
    if (!spte) vm->sptes++;
    else if (spte >> 4 == pfn) rights |= spte & 15;
    map_put(&vm->s2, gfn, pfn << 4 | rights);
    vm->faults++;
  } else pfn = spte >> 4;
  if (access == 1) fbyte[pfn] = (uint8_t)byte;
  else if (access == 0) read_sum += fbyte[pfn];
}

static void run(const double *c, size_t n) {
  for (size_t i = 0; i < n; i++, c += 8) {
    int op = (int)c[0];
    switch (op) {
      case OP_GUEST_ACCESS:
        if (c[4] != 0 || c[6] != 0) { fprintf(stderr, "limit: private accesses are not modelled\n"); exit(2); }
        guest_access(&vms[(int)c[1]], (uint64_t)c[2], (int)c[3], (uint32_t)c[5]);
        break;
      case OP_ALLOCATE: {
        Inode *ino = &inodes[(int)c[1]];
        for (uint64_t p = (uint64_t)c[2]; p < (uint64_t)c[3]; p++)
          if (!map_get(&ino->pages, p)) map_put(&ino->pages, p, frame_alloc());
        break;
      }
      case OP_PUNCH: punch(&inodes[(int)c[1]], (uint64_t)c[2], (uint64_t)c[3]); break;
      case OP_VM_CREATE: break;
      /* What a fault does on a page prepared private under another context: the limit has no private pages. */
      case OP_FILE_SET_FOREIGN: break;
      case OP_INODE_CREATE: inodes[(int)c[1]].npages = (uint64_t)c[2]; break;
      case OP_FILE_CREATE: {
        File *f = &files[(int)c[1]];
        f->inode = (int)c[2]; f->vm = (int)c[3]; f->rights = (uint32_t)c[4];
        Inode *ino = &inodes[f->inode];
        ino->files[ino->nfiles++] = (int)c[1];
        break;
      }
      case OP_SLOT_CREATE: {
        Vm *vm = &vms[(int)c[1]];
        Slot *sl = &vm->slots[vm->nslots++];
        *sl = (Slot){ 1, (int)c[2], (int)c[5], (uint32_t)c[7], (uint64_t)c[3], (uint64_t)c[4], (uint64_t)c[6] };
        break;
      }
      case OP_SLOT_SET_UADDR: break;
      default: fprintf(stderr, "limit: opcode %d is not modelled\n", op); exit(2);
    }
  }
}

static double *load(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  double *d = malloc(len ? len : 1);
  if (fread(d, 1, len, f) != (size_t)len) { perror(path); exit(2); }
  fclose(f);
  *n = len / 64;
  return d;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: limit SETUP TRAFFIC ROUNDS NVMS\n"); return 2; }
  size_t ns, nt;
  double *setup = load(argv[1], &ns), *traffic = load(argv[2], &nt);
  int rounds = atoi(argv[3]), nvms = atoi(argv[4]);
  double best = 1e300;
  for (int r = 0; r < rounds; r++) {
    reset_state();
    run(setup, ns);
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    run(traffic, nt);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double t = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    if (t < best) best = t;
  }
  printf("{\"ns_per_op\": %.3f, \"read_sum\": %.0f, \"counters\": \"", best / (nt ? nt : 1), read_sum);
  for (int v = 0; v < nvms; v++) printf("%s%lld/%lld/%lld", v ? "," : "", (long long)vms[v].sptes, (long long)vms[v].faults, (long long)vms[v].zaps);
  printf(";%lld\"}\n", (long long)host_pages);
  return 0;
}
