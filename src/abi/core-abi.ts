/**
 * The core's command set: the one contract between the TypeScript kernel layer and
 * either core (the AssemblyScript engine in assembly/, the reference model in
 * src/core/reference/). Both compilers read this file, so it holds numbers only.
 *
 * Division of labour. The kernel layer (src/kvm/) owns the uAPI: names, fds,
 * reference counts, every errno rule and the permission policy. It only emits a
 * command once the command is known to be valid, so a core never validates and
 * never fails except where the answer depends on page or SPTE state (poison, a
 * missing page). The core owns what is large or hot: the pfn pool, each inode's
 * page cache, each file's bindings, each VM's memslot index and stage-2 table,
 * the host-virtual-address map, and the zap fan-out.
 *
 * Ids are small integers chosen by the kernel layer, never reused, starting at 0.
 *
 * Command buffer. A Float64Array of CMD_CAPACITY commands of CMD_WORDS words:
 * word 0 is the opcode, words 1..7 are the arguments a..g below. Every integer
 * argument is exact in a double (gfns and pgoffs are below 2^53).
 * Result buffer. A Float64Array of CMD_CAPACITY results of RES_WORDS words:
 * word 0 the code (RES_OK or a RES_* outcome), words 1..4 the value and aux words.
 * `run(n)` executes commands 0..n-1 in order and fills results 0..n-1.
 *
 * Units: pages everywhere (gfn, pgoff, npages, hva page = host address >> 12),
 * ranges half-open [start, end).
 *
 * pfn allocation is part of the contract, so that both cores number frames alike:
 * a new frame takes the pfn most recently freed (a LIFO free stack), or, when
 * none is free, the next never-used pfn counting from 1. Frames freed by one
 * command are pushed in ascending pgoff order.
 */

export const CMD_WORDS = 8;
export const RES_WORDS = 5;
export const CMD_CAPACITY = 1024;

// ---- Outcome codes (result word 0) ----
export const RES_OK = 0;
/** Host access: the page is poisoned (SIGBUS). */
export const RES_SIGBUS = 1;
/** Guest access: KVM_EXIT_MMIO at gpa (aux = gfn; the kernel layer adds the offset). */
export const RES_MMIO = 2;
/** Guest access: KVM_EXIT_MEMORY_FAULT with errno EFAULT; value = MEMFAULT_* flags. */
export const RES_MEMFAULT_EFAULT = 3;
/** Guest access: KVM_EXIT_MEMORY_FAULT with errno EHWPOISON. */
export const RES_MEMFAULT_EHWPOISON = 4;
/** Guest access: KVM_EXIT_MEMORY_FAULT with errno EACCES (the file forbids it). */
export const RES_MEMFAULT_EACCES = 5;
/** Guest access: a shared access through userspace_addr found nothing mapped: bare EFAULT. */
export const RES_EFAULT = 6;
/** Guest access: exec where no memslot is: KVM_EXIT_INTERNAL_ERROR, emulation failure. */
export const RES_INTERNAL_ERROR = 7;
/** Host access: the map's protection forbids it (SIGSEGV). */
export const RES_SIGSEGV = 8;

// ---- Page flags (per frame) ----
/** Zeroed and initialised (set on first host or guest fault, not by fallocate). */
export const PG_UPTODATE = 1;
export const PG_HWPOISON = 2;
/** Prepared as private, under the encryption context recorded in the frame's ctx word. */
export const PG_PRIVATE = 4;

// ---- Rights (SPTEs, files) ----
export const RIGHT_R = 1;
export const RIGHT_W = 2;
export const RIGHT_X = 4;
export const RIGHTS_ALL = 7;
/** SPTE only: installed by a private access (the page is mapped private under the VM's context). */
export const SPTE_PRIVATE = 8;

// ---- Guest access kinds ----
export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_EXEC = 2;

// ---- Memslot flags (uAPI values) ----
export const SLOT_READONLY = 2;
export const SLOT_GUEST_MEMFD = 4;
/** Core-internal: bound to a file with GUEST_MEMFD_FLAG_MMAP, so every fault goes to gmem. */
export const SLOT_GMEM_ONLY = 0x10000;

/** Memory-fault exit flag: the access was private (KVM_MEMORY_EXIT_FLAG_PRIVATE). */
export const MEMFAULT_PRIVATE = 8;

// ---- Inode kinds ----
export const INODE_GMEM = 0;
/** Anonymous host memory (anon_map, and `{"anon": NAME}` regions). */
export const INODE_ANON = 1;

// ---- Opcodes ----
/** VM_CREATE(vm): an empty memslot set and stage-2 table, counters at 0, ctx = vm + 1. */
export const OP_VM_CREATE = 1;
/** VM_DESTROY(vm): the struct kvm is freed with its SPTEs and memslots (its files are already released). */
export const OP_VM_DESTROY = 2;
/**
 * INODE_CREATE(inode, npages, kind, gmem_flags): an empty page cache of npages
 * pages (the file size). gmem_flags are GUEST_MEMFD_FLAG_* (INIT_SHARED = 2
 * decides host faults); 0 for anon inodes.
 */
export const OP_INODE_CREATE = 3;
/** INODE_DESTROY(inode): every page is freed (ascending pgoff). value = pages freed. */
export const OP_INODE_DESTROY = 4;
/** FILE_CREATE(file, inode, vm, rights): a view of inode for vm with guest rights (RIGHT_*), appended to the inode's file list. */
export const OP_FILE_CREATE = 5;
/**
 * FILE_RELEASE(file): kvm_gmem_release(): for every binding of the file, in
 * ascending pgoff, the SPTEs of its gfn range are zapped in the file's VM and
 * its memslot keeps no file (file = -1); the file leaves its inode's list.
 * Pages are not freed.
 */
export const OP_FILE_RELEASE = 6;
/**
 * SLOT_CREATE(vm, slot, base_gfn, npages, file, pgoff, flags): a new memslot
 * with userspace_addr 0; if file >= 0 it is bound to file pages
 * [pgoff, pgoff + npages). flags are the uAPI flags, plus SLOT_GMEM_ONLY when
 * the file has GUEST_MEMFD_FLAG_MMAP.
 */
export const OP_SLOT_CREATE = 7;
/** SLOT_SET_UADDR(vm, slot, hva_page): the memslot's userspace_addr >> 12 (sent right after SLOT_CREATE). */
export const OP_SLOT_SET_UADDR = 8;
/** SLOT_DELETE(vm, slot): unbind and remove the memslot, then zap every SPTE of the VM (KVM_X86_QUIRK_SLOT_ZAP_ALL). */
export const OP_SLOT_DELETE = 9;
/** SLOT_MOVE(vm, slot, new_base_gfn): a plain memslot moves; then every SPTE of the VM is zapped. */
export const OP_SLOT_MOVE = 10;
/**
 * ALLOCATE(inode, start, end): kvm_gmem_allocate(): every absent pgoff in range,
 * ascending, gets a new frame: not uptodate, contents 0. Present pages are
 * untouched. value = pages allocated.
 */
export const OP_ALLOCATE = 11;
/**
 * PUNCH(inode, start, end): kvm_gmem_punch_hole(): invalidate(inode, start, end)
 * (below), then every present page in range is freed (ascending pgoff),
 * poisoned or not. value = pages freed.
 *
 * invalidate(inode, start, end), shared with MEMORY_FAILURE:
 *  1. kvm_gmem_invalidate_begin(): for every file of the inode, in creation
 *     order, and every binding of it overlapping the range, zap the gfns that
 *     bind the overlap, in the file's VM;
 *  2. the MMU notifier: for every host map of the inode (ascending map id)
 *     overlapping the range, the hva pages showing the overlap are invalidated:
 *     in every live VM (ascending id), every memslot (ascending slot id) whose
 *     [uaddr, uaddr + npages) overlaps them has the matching gfns zapped.
 */
export const OP_PUNCH = 12;
/**
 * HOST_ACCESS(hva_page, write, byte): a host load (write 0) or store (1) at an
 * hva page that lies inside a live host map. In order: the map's rights lack
 * R (load) or W (store): RES_SIGSEGV. The page is pgoff = map.pgoff +
 * (hva_page - map.hva_page) of the map's inode; pgoff >= the inode's npages:
 * RES_SIGBUS; a gmem inode without INIT_SHARED: RES_SIGBUS; pgoff blocked in
 * the map's file (FILE_BLOCK): RES_SIGBUS; a poisoned page: RES_SIGBUS. Otherwise the page is got or created, zeroed and marked uptodate
 * if it was not, and a store fills it with byte. value = the page's byte.
 * A private map (HOSTMAP_COW) reads its copy of the page when it has one, with
 * none of the checks after the rights; a store where it has none copies the
 * page first (see HOSTMAP_COW) and fills the copy.
 */
export const OP_HOST_ACCESS = 13;
/**
 * HOSTMAP_CREATE(map, hva_page, npages, inode, pgoff, rights, file): host virtual
 * pages [hva_page, hva_page + npages) show inode pages from pgoff on, through gmem
 * file `file` (-1 for anon memory and memfds). Maps never overlap (the kernel
 * layer places them).
 */
export const OP_HOSTMAP_CREATE = 14;
/**
 * HOSTMAP_DESTROY(map): munmap. The MMU notifier invalidates the map's whole hva
 * range (step 2 of invalidate, over the map's pages), then the map goes.
 */
export const OP_HOSTMAP_DESTROY = 15;
/**
 * GUEST_ACCESS(vm, gfn, access, private, byte, attr_private): a vCPU access
 * (ACCESS_*) at gfn; attr_private is the gfn's memory attribute, resolved by the
 * kernel layer. The x86 fault path, in this order:
 *  1. private != attr_private: RES_MEMFAULT_EFAULT (kvm_mmu_faultin_pfn();
 *     an installed SPTE always agrees with the attribute, since changing the
 *     attribute zaps it, so this check may come first).
 *  1b. an SPTE for gfn holds the access's right: no fault; the access is done
 *     on its pfn (read: value = the byte; write: fill with byte).
 *  2. no memslot holds gfn: private: RES_MEMFAULT_EFAULT; exec:
 *     RES_INTERNAL_ERROR; else RES_MMIO (kvm_handle_noslot_fault()).
 *  3. private, or the slot is SLOT_GMEM_ONLY (kvm_mmu_faultin_pfn_gmem()):
 *     no GUEST_MEMFD flag, or its file released: RES_MEMFAULT_EFAULT;
 *     the file's rights lack a right the SPTE would carry (read R, write R|W,
 *     exec R|X: x86 cannot map write- or execute-only), or pgoff = slot.pgoff +
 *     gfn - slot.base is blocked in the file (FILE_BLOCK): RES_MEMFAULT_EACCES;
 *     the page (file inode, pgoff) is poisoned: RES_MEMFAULT_EHWPOISON; else the
 *     page is got or created, zeroed and marked uptodate if it was not.
 *  3b. a page PG_PRIVATE under a ctx other than the VM's (any access, private
 *     or not), by the file's foreign mode: FOREIGN_REFUSE: RES_MEMFAULT_EACCES;
 *     FOREIGN_ZERO: invalidate(inode, pgoff, pgoff + 1), then the page's byte
 *     becomes 0 and PG_PRIVATE and its ctx are cleared; FOREIGN_MAP: nothing.
 *     Then a private access to a page not PG_PRIVATE prepares it:
 *     invalidate(inode, pgoff, pgoff + 1) (a page that becomes private is
 *     unmapped from every other view), PG_PRIVATE is set and the frame's ctx
 *     word becomes the VM's context.
 *  4. otherwise the shared path through userspace_addr: a write to a READONLY
 *     slot: RES_MMIO; hva_page = slot.uaddr + gfn - slot.base; no host map
 *     holds it, or the map lacks the right (R for read and exec, W for write),
 *     or the page is past its inode's npages, or a gmem inode without
 *     INIT_SHARED, or the page is blocked in the map's file: RES_EFAULT; poisoned: RES_SIGBUS; else got or created,
 *     zeroed and marked uptodate if it was not.
 *  5. the SPTE gfn -> pfn is installed (replacing any SPTE there), or its rights widened, with the
 *     access's right (read R, write R|W, exec R|X), plus SPTE_PRIVATE for a
 *     private access; faults += 1; the access is done as in 1b.
 * Every RES_MEMFAULT_*, RES_MMIO and RES_INTERNAL_ERROR counts exits += 1.
 * Memory-fault results carry value = MEMFAULT_PRIVATE if private, else 0.
 * RES_OK carries aux = 1 if the access was private (as resolved), else 0: the
 * kernel layer learns a DERIVED access's privateness from its own result.
 */
export const OP_GUEST_ACCESS = 16;
/** ZAP_GFNS(vm, start, end): zap the SPTEs of a gfn range (memory-attribute changes). */
export const OP_ZAP_GFNS = 17;
/**
 * MEMORY_FAILURE(inode, pgoff): an absent page is RES_NO_PAGE and nothing
 * changes; otherwise the page is marked poisoned, then invalidate(inode,
 * pgoff, pgoff + 1). value = 1 if the page was newly poisoned.
 */
export const OP_MEMORY_FAILURE = 18;
/** FILE_SET_RIGHTS(file, rights): a file's guest rights change; in its VM, every SPTE reached through its bindings is zapped. */
export const OP_FILE_SET_RIGHTS = 19;
/** STATS_HOST(): value = gmem pages allocated on the host, aux = anon pages. */
export const OP_STATS_HOST = 20;
/** STATS_VM(vm): value = SPTEs now, aux = faults, aux2 = zaps, aux3 = exits. */
export const OP_STATS_VM = 21;
/** STATS_INODE(inode): value = pages present, aux = of them poisoned. */
export const OP_STATS_INODE = 22;
/** VM_SET_CTX(vm, ctx): the VM's encryption context (every VM starts with ctx = its id + 1; 0 means none). */
export const OP_VM_SET_CTX = 23;
/**
 * FILE_BLOCK(file, start, end): pgoffs [start, end) of the file become
 * unreachable through it for good (a donated window): the SPTEs of the file's
 * bindings over the range are zapped in its VM, then the MMU notifier
 * invalidates the hva pages of every host map of the file over the range (step
 * 2 of invalidate). Later guest faults through the file there are
 * RES_MEMFAULT_EACCES, host accesses through its maps RES_SIGBUS.
 */
export const OP_FILE_BLOCK = 24;

// ---- Foreign encryption contexts (an extension: both designs of the 2023 discussion) ----
/** A page prepared private under another context is mapped as it is (the "right key" hazard). */
export const FOREIGN_MAP = 0;
/** The page is unmapped everywhere, zeroed, and prepared again under the faulting VM's context. */
export const FOREIGN_ZERO = 1;
/** The fault is a memory-fault exit with EACCES; nothing changes. */
export const FOREIGN_REFUSE = 2;
/**
 * FILE_SET_FOREIGN(file, mode): what a guest fault through the file does on a
 * page prepared private under a context other than the faulting VM's
 * (FOREIGN_*; a new file has FOREIGN_MAP). Step 3b of GUEST_ACCESS.
 */
export const OP_FILE_SET_FOREIGN = 29;

// ---- ordinary files (shmem memfds): their size changes, and write(2) fills pages ----
/**
 * INODE_RESIZE(inode, npages, truncate): an anon inode's size becomes npages
 * pages (shmem_setattr() → truncate_setsize()). With truncate (the size
 * did not grow: it shrank, in bytes, or was set to itself) it first runs
 * PUNCH(inode, npages, 2^64 - 1): the MMU
 * notifier for its host maps, then every page at or past the new end is
 * freed, those a KEEP_SIZE fallocate made past the old end too
 * (shmem_truncate_range(inode, newsize, -1)). A grow frees nothing.
 * value = pages freed.
 */
export const OP_INODE_RESIZE = 40;
/**
 * INODE_FILL(inode, start, end, byte): write(2) through the page cache
 * (shmem_write_begin()): every page of [start, end), ascending, is got or
 * created, zeroed and marked uptodate if it was not, then filled with byte.
 * value = pages created.
 */
export const OP_INODE_FILL = 41;
/** COUNT_PRESENT(inode, start, end): value = present pages of the inode in [start, end) (asked only near the frame limit). */
export const OP_COUNT_PRESENT = 42;

// ---- private mappings of ordinary files (MAP_PRIVATE of a memfd): copy-on-write ----
/**
 * HOSTMAP_COW(map, inode): the live map is private. `inode`, an anon inode of
 * the map's npages that nothing else uses, holds the map's copied pages by
 * page of the map (hva_page - map.hva_page), as the anon pages of a
 * MAP_PRIVATE VMA. A load, or a guest read or exec through the map (step 4 of
 * GUEST_ACCESS), takes the copy when there is one, else the file's page as
 * for any map. A store or a guest write where there is no copy first gets the
 * file's page as a load would (the same checks and results; do_cow_fault()
 * faults the file page in), then makes the copy: a new frame in `inode` with
 * the page's byte, after which the MMU notifier runs over that hva page
 * (wp_page_copy()), zapping the SPTEs that mapped the file's page there. A
 * PUNCH of the file keeps the copies (unmap_mapping_range() without
 * even_cows), though its notifier zaps the SPTEs of the whole range; an
 * INODE_RESIZE shrink frees the copies of the pages past the new end, after
 * its punch (truncate_pagecache() with even_cows). HOSTMAP_DESTROY leaves
 * `inode` to the kernel layer's INODE_DESTROY.
 */
export const OP_HOSTMAP_COW = 43;

/**
 * Zapping: every SPTE removed counts zaps += 1 in its VM. No other command
 * changes counters.
 *
 * Snapshot: a Float64 stream of the whole core state, identical for both cores,
 * read after run() by snapshot(). In order:
 *  - for each live inode, ascending id: SNAP_INODE, id, npages, kind,
 *    gmem_flags, n, then n x (pgoff, pfn, byte, page flags, ctx), ascending
 *    pgoff (ctx is 0 unless PG_PRIVATE);
 *  - for each live file, ascending id: SNAP_FILE, id, inode, vm, rights, n,
 *    then n x (pgoff, npages, slot), ascending pgoff; then b, then
 *    b x (start, end), its blocked ranges, ascending and merged;
 *  - for each live VM, ascending id: SNAP_VM, id, n, then n x (slot, base_gfn,
 *    npages, flags, file, pgoff, uaddr_page), ascending slot; m, then
 *    m x (gfn, pfn, rights), ascending gfn; then sptes, faults, zaps, exits, ctx;
 *  - for each live host map, ascending id: SNAP_MAP, id, hva_page, npages,
 *    inode, pgoff, rights, file, cow (its HOSTMAP_COW inode, or -1);
 *  - SNAP_END, gmem pages, anon pages, next never-used pfn, free-stack depth.
 */
export const SNAP_INODE = 1;
export const SNAP_FILE = 2;
export const SNAP_VM = 3;
export const SNAP_MAP = 4;
export const SNAP_END = 5;

// ---- In-place conversion (linux-next, profile `next`) and memory failure on an absent page ----
/**
 * Attributes belong to the gmem inode (struct gmem_inode's attribute map):
 * every inode carries a set of PRIVATE pgoff runs, sparse and range-based,
 * created by INODE_CREATE as [0, npages) for a gmem inode without INIT_SHARED
 * and empty otherwise (kvm_gmem_init_inode(), kvm_gmem_get_default_attributes()).
 * The host-fault and shared-path checks that the paragraphs above phrase as
 * "a gmem inode without INIT_SHARED" read "the page's attribute is PRIVATE"
 * (the same thing while nothing converts). PUNCH, MEMORY_FAILURE and file or
 * slot changes never change attributes.
 *
 * GUEST_ACCESS's private and attr_private words take one more value each,
 * DERIVED (2): attr_private DERIVED means kvm_gmem_is_private_gfn(): no memslot
 * at gfn, a memslot without GUEST_MEMFD or whose file is released: shared;
 * else the attribute of the file's inode at pgoff; private DERIVED means "the
 * access is private exactly when the gfn is" (sw_protected's
 * kvm_mmu_page_fault()). Both are resolved before step 1.
 *
 * Snapshot: after the SNAP_MAP records, for each live inode with private runs,
 * ascending id: SNAP_ATTR, id, n, then n x (start, end), ascending and merged;
 * then, only if some frame is detached while pinned (PIN below):
 * SNAP_DETACHED, detached gmem frames, detached anon frames.
 */
export const DERIVED = 2;
export const SNAP_ATTR = 6;
export const SNAP_DETACHED = 7;
/** SET_ATTRIBUTES: a page of the range has an outstanding reference; value = its pgoff. */
export const RES_EAGAIN = 9;
/** MEMORY_FAILURE: the page is absent (there is no folio to fail); nothing changed. */
export const RES_NO_PAGE = 10;
/**
 * SET_ATTRIBUTES(inode, start, end, private): __kvm_gmem_set_attributes().
 *  1. Every page of [start, end) already has the attribute: RES_OK, value 0;
 *     nothing else happens.
 *  2. To private only: the MMU notifier runs over every host map of the inode
 *     showing the range (invalidate step 2; unmap_mapping_pages()); then the
 *     present pages of the range are scanned in ascending pgoff, and the first
 *     whose frame is pinned (PIN) fails the command: RES_EAGAIN, value = pgoff,
 *     nothing else changes.
 *  3. invalidate step 1 over [start, end) (every file of the inode, every
 *     binding); the attributes of the range are set; to shared, every present
 *     page of the range loses PG_PRIVATE and its ctx word becomes 0 (it is no
 *     longer prepared private; a later private fault prepares it again);
 *     RES_OK, value 1.
 * Contents and pages are untouched.
 */
export const OP_SET_ATTRIBUTES = 25;
/** GFN_PRIVATE(vm, gfn): value = 1 if kvm_gmem_is_private_gfn() (attr_private DERIVED above) holds, else 0. Changes nothing. */
export const OP_GFN_PRIVATE = 26;
/**
 * PIN(pin, hva_page, npages): a long-term writable GUP pin of host pages
 * [hva_page, hva_page + npages), all inside one live host map. Every page is
 * checked first, ascending: the map lacks W, the pgoff is past the inode's
 * npages, the page's attribute is PRIVATE, or the page is poisoned: RES_EFAULT
 * and nothing changes. Then each page is got or created, zeroed and marked
 * uptodate if it was not, and its frame's pin count grows by one; the pin
 * remembers its frames. A frame that PUNCH or INODE_DESTROY removes from its
 * inode while pinned is detached: it stays allocated (counted in gmem or anon
 * pages as before) until its last pin goes, then it is freed. Through a
 * private map (HOSTMAP_COW) a page that has a copy skips the checks and its
 * copy is pinned; any other is checked as above, then copied as a store
 * would copy it, and the copy is pinned.
 */
export const OP_PIN = 27;
/** UNPIN(pin): every frame of the pin loses one pin, in the order pinned; a detached frame left with none is freed. */
export const OP_UNPIN = 28;


// ---- Change log (incremental checking) ----
/**
 * While change tracking is on (Core.trackChanges()), a core notes what each
 * command may have changed, and Core.changes() (after a flush) returns a
 * stream of records giving the current state of everything noted since the
 * last call, then forgets the notes. A checker keeps its own copy of the state
 * current from this stream and checks only what it names, so checking after
 * an op costs what the op changed. Records may repeat and come in any order:
 * each describes the state after the last command run.
 *  - CHG_SPTES, vm, start, end, n, then n x (gfn, pfn, rights): the SPTEs now
 *    in gfns [start, end) of a live VM;
 *  - CHG_PAGES, inode, start, end, n, then n x (pgoff, pfn, byte, flags, ctx):
 *    the pages now in [start, end) of a live inode;
 *  - CHG_INODE, id, npages, kind, gmem_flags, n, n x (start, end): a live
 *    inode with its PRIVATE attribute runs (ascending, merged; as SNAP_ATTR);
 *  - CHG_ATTRS, inode, start, end, n, n x (start, end): the PRIVATE runs of a
 *    live inode that overlap or touch [start, end), whole and ascending. A
 *    conversion changes the runs there only (merging or splitting those that
 *    reach it), so these replace every run the reader holds that overlaps or
 *    touches [start, end): a conversion costs the runs around it, not all of
 *    the inode's;
 *  - CHG_FILE, id, inode, vm, rights, n, n x (pgoff, npages, slot), b,
 *    b x (start, end): a live file (as in the snapshot);
 *  - CHG_BLOCKED, file, start, end, n, n x (start, end): the blocked ranges
 *    of a live file that overlap or touch [start, end), whole and ascending
 *    (merged, as in the file's record); they replace every range the reader
 *    holds for the file that overlaps or touches [start, end), as CHG_ATTRS
 *    does for an inode's runs. FILE_BLOCK notes its window this way, not its
 *    file: a donation costs the ranges around its window, not every binding
 *    and window of the donor file;
 *  - CHG_VM, id, n, n x (slot, base_gfn, npages, flags, file, pgoff,
 *    uaddr_page), ascending slot, then ctx: a live VM's memslots and context
 *    (as in the snapshot; SPTEs come apart);
 *  - CHG_SLOT, vm, slot, present, then when present (1) base_gfn, npages,
 *    flags, file, pgoff, uaddr_page: one memslot of a live VM as it is (0:
 *    there is none with that id);
 *  - CHG_BINDING, file, slot, pgoff, npages: the binding of that memslot at
 *    that pgoff in a live file's bindings, by its length (0: none there).
 *    SLOT_* commands note their memslot and its
 *    binding these two ways, not their VM and file: a memslot change costs
 *    that memslot, not every memslot of the VM and every binding of the file
 *    (a file's record, when also noted, lists its bindings as they are);
 *  - CHG_MAP, id, hva_page, npages, inode, pgoff, rights, file, cow: a live map;
 *  - CHG_GONE, kind (CHG_INODE, CHG_FILE, CHG_VM or CHG_MAP), id: an object
 *    that no longer exists, with everything in it (pages, SPTEs, bindings);
 *  - CHG_END, gmem pages, anon pages, next never-used pfn, free-stack depth,
 *    then the frames detached while pinned (gmem, anon; see PIN).
 * What is noted (both cores):
 *  - every SPTE installed or widened (its gfn), every zap that removed
 *    something (its gfn range; the zap-all of SLOT_DELETE/SLOT_MOVE and
 *    VM_SET_CTX's callers [0, 2^53));
 *  - ALLOCATE, PUNCH and INODE_FILL: their page range; INODE_RESIZE: the
 *    inode, and its pages from the new size on; MEMORY_FAILURE: its page;
 *    SET_ATTRIBUTES: its page range, and its runs (CHG_ATTRS); PIN: the pages of the map it pins (and
 *    of its HOSTMAP_COW inode);
 *    HOST_ACCESS: the page of the map at hva_page (and of its HOSTMAP_COW
 *    inode); GUEST_ACCESS: the pages the access may fault in (through the
 *    gfn's memslot: the file's page at its pgoff, and the page of the host
 *    map at its userspace_addr, and of that map's HOSTMAP_COW inode);
 *    INODE_RESIZE also the HOSTMAP_COW inodes of the inode's maps;
 *  - the object each command names: VM_CREATE, VM_DESTROY and VM_SET_CTX
 *    its VM; every SLOT_* its memslot (CHG_SLOT) and that memslot's binding
 *    in its file as it was and as it is (CHG_BINDING, at the memslot's pgoff
 *    then and now); INODE_*: the inode; FILE_BLOCK: its window (CHG_BLOCKED);
 *    the other FILE_*: the file, FILE_RELEASE also each memslot bound to it
 *    (CHG_SLOT: it loses the file; not the VM's every memslot);
 *    HOSTMAP_* (HOSTMAP_COW too): the map.
 */
export const CHG_SPTES = 11;
export const CHG_PAGES = 12;
export const CHG_INODE = 13;
export const CHG_FILE = 14;
export const CHG_VM = 15;
export const CHG_MAP = 16;
export const CHG_GONE = 17;
export const CHG_END = 18;
export const CHG_ATTRS = 19;
export const CHG_SLOT = 20;
export const CHG_BINDING = 21;
export const CHG_BLOCKED = 22;
/** The end of every gfn and pgoff range (2^53): a note over all of a VM's SPTEs. */
export const CHG_ALL = 9007199254740992;

/**
 * Typed entry (an optional part of a core: the engine has it, the reference
 * model does not). The public typed layout of src/api/typed.ts (4 command
 * words, 8 result words) is decoded in the core itself, for the commands the
 * kernel layer has cleared in advance:
 *  - a handle table, TYPED_HANDLE_BYTES per handle: kind (i32: 0, or HOT_VM,
 *    HOT_FILE, HOT_MAP), core id (i32), arg (i32), 4 bytes unused, x (f64),
 *    y (f64). HOT_VM: the VM's core id and GUEST_ACCESS's attr_private (the
 *    access is shared: private 0). HOT_FILE: arg = its inode. HOT_MAP:
 *    x = hva_page, y = npages. Kind 0: every command on it needs the kernel layer.
 *  - typedRun(n, start, room) runs commands [start, n) of the typed command
 *    buffer, in order, as GUEST_ACCESS, ALLOCATE, PUNCH and HOST_ACCESS would,
 *    each one's 8 result words in the result buffer: all 0 on RES_OK but word
 *    3 (the byte of a read or load); otherwise words 0 and 1 are the core's
 *    code and value and its index is listed among the fixups, for the kernel
 *    layer to translate. A run stores words 0, 1 and 3; words 2 and 4 to 7
 *    are 0 in every result, and so are never written (the module's zeros).
 *    It stops at the first command that is not plainly one of those
 *    (an opcode or handle word that is no index, a handle of another kind, an
 *    address or length that is no in-range integer, an unaligned or empty
 *    range, an allocation past EOF), that could make more frames than `room`
 *    (a fault one, an allocation its length), or at `start` itself while
 *    changes are being noted, and returns its index (n when it ran them all).
 */
export const TYPED_CAPACITY = 1024;
/** The public typed layout the entry reads (src/api/typed.ts documents it and exports these): words per command and result, and the opcodes the core runs. */
export const TYPED_CMD_WORDS = 4;
export const TYPED_RES_WORDS = 8;
export const TYPED_READ = 1;
export const TYPED_WRITE = 2;
export const TYPED_EXEC = 3;
export const TYPED_ALLOCATE = 4;
export const TYPED_PUNCH = 5;
export const TYPED_LOAD = 6;
export const TYPED_STORE = 7;
export const TYPED_HANDLE_BYTES = 32;
/** Frames the typed entry reserves for a guest or host access (its fault's page): the kernel layer marks hot only the objects whose accesses make no more (Host.faultFrames()). */
export const TYPED_FAULT_FRAMES = 1;
export const HOT_VM = 1;
export const HOT_FILE = 2;
export const HOT_MAP = 3;

/**
 * Binary replay (an optional part of a core, with the typed entry): the
 * binary trace's compact records (src/trace/binary.ts) read from a window of
 * the trace, each run as its typed command (as typedRun() would, on the same
 * handle table), and the success lines written, {"i":N,"ret":0} (plus
 * ,"value":V for a read or load) and a newline. binRun(len, start, at, room,
 * final, outAt) reads records from window byte `start` on, N counting from
 * `at`, writes their lines from output byte `outAt` on (the bytes before it
 * are kept: the output gathers across windows and the kernel layer's lines,
 * and is copied out once, when full), and returns why it stopped (binOutLen():
 * where the output ends):
 *  - BIN_INPUT: the window has no whole record left (binPos(): where the next
 *    begins); short of the trace's end (`final` false), the window's last
 *    BIN_REC_LONGEST bytes are left for the next window;
 *  - BIN_OUTPUT: the output buffer is nearly full;
 *  - BIN_RECORD: the record at binPos() is not one the core reads (text, a
 *    name, a tag, name or number it does not take, a name index whose table
 *    entry is -1, or a record cut short at the end of a `final` window): nothing ran;
 *  - BIN_COMMAND: the record at binPos() decodes, but its command needs the
 *    kernel layer (typedRun() would stop there): nothing ran;
 *  - BIN_RESULT: the record at binRecordStart() ran and did not succeed: its
 *    code and value are rawCode() and rawValue(); binPos() is past it, and
 *    binCount() still counts it as the next line.
 * The name table holds a typed handle per name index, or -1.
 */
export const BIN_IN_CAP = 65536;
/** The binary format's record tags the core reads (src/trace/binary.ts documents them), its number of fallocate mode forms (binary.ts MODE_FORMS), and its longest compact record the core reads (a one-byte name, 7-byte varints). */
export const BIN_REC_TEXT = 0;
export const BIN_REC_NAME = 1;
export const BIN_REC_READ = 2;
export const BIN_REC_WRITE = 3;
export const BIN_REC_EXEC = 4;
export const BIN_REC_FALLOCATE = 5;
export const BIN_REC_LOAD = 6;
export const BIN_REC_STORE = 7;
export const BIN_MODE_FORMS = 4;
export const BIN_REC_LONGEST = 1 + 1 + 7 + 1 + 7;
export const BIN_OUT_CAP = 65536;
export const BIN_INPUT = 0;
export const BIN_OUTPUT = 1;
export const BIN_RECORD = 2;
export const BIN_COMMAND = 3;
export const BIN_RESULT = 4;

/**
 * Hot calls (an optional part of a core: the engine has them, the reference
 * model does not): a command the object API's handles need answered at once,
 * run from its arguments, with no command buffer written and no batch. The
 * kernel layer makes them only with nothing queued and no change log (which
 * notes the batch's commands), and only after every check it makes for the
 * command queued. Each leaves its result words at result 0, as a batch of one.
 *  - hotAccess(vm, gfn, access, byte, attr): GUEST_ACCESS with private 0;
 *    returns its value word (the byte, for a read) on RES_OK, else -1 - code.
 *  - hotFallocate(inode, start, stop, punch): ALLOCATE (punch 0) or PUNCH (1).
 */
