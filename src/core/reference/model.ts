/**
 * The reference model of the core contract (src/abi/core-abi.ts), command by
 * command. Each method is the contract's paragraph for that opcode, written as
 * directly as possible over the maps of state.ts.
 */
import * as A from "../../abi/core-abi.js";
import { BigMap } from "./bigmap.js";
import { RefState, RefInode, RefMap, RefVm, RefSlot, overlap, ascending, inRanges, addRange, removeRange } from "./state.js";

/** What pageFor() answers instead of a pfn (pfns are positive). */
const NO_PAGE = -1;
const POISONED = -2;

export class RefModel {
  readonly s = new RefState();
  /** Told of every stage-2 range installed in or zapped (the change log, changelog.ts); null when not tracking. */
  sptesChanged: ((vm: RefVm, start: number, end: number) => void) | null = null;

  // ---- frames ----
  private newFrame(inode: RefInode, pgoff: number): number {
    const pfn = this.s.freeStack.length ? this.s.freeStack.pop()! : this.s.nextPfn++;
    this.s.frames.set(pfn, { byte: 0, flags: 0, ctx: 0 });
    inode.pages.set(pgoff, pfn);
    if (inode.kind === A.INODE_ANON) this.s.anonPages++;
    else this.s.gmemPages++;
    return pfn;
  }

  private freeFrame(inode: RefInode, pgoff: number): void {
    const pfn = inode.pages.get(pgoff)!;
    inode.pages.delete(pgoff);
    // A pinned frame leaves the file but stays allocated until its last unpin.
    if (this.s.pinCount.has(pfn)) {
      this.s.detached.set(pfn, inode.kind);
      return;
    }
    this.releaseFrame(pfn, inode.kind);
  }

  private releaseFrame(pfn: number, kind: number): void {
    this.s.frames.delete(pfn);
    this.s.freeStack.push(pfn);
    if (kind === A.INODE_ANON) this.s.anonPages--;
    else this.s.gmemPages--;
  }

  /** Get or create the page and make it uptodate (zeroed on first use). */
  private faultIn(inode: RefInode, pgoff: number): number {
    const pfn = inode.pages.get(pgoff) ?? this.newFrame(inode, pgoff);
    const f = this.s.frames.get(pfn)!;
    if (!(f.flags & A.PG_UPTODATE)) {
      f.byte = 0;
      f.flags |= A.PG_UPTODATE;
    }
    return pfn;
  }

  private poisoned(inode: RefInode, pgoff: number): boolean {
    const pfn = inode.pages.get(pgoff);
    return pfn !== undefined && (this.s.frames.get(pfn)!.flags & A.PG_HWPOISON) !== 0;
  }

  // ---- stage 2 ----
  private zapGfns(vm: RefVm, start: number, end: number): void {
    const zaps = vm.zaps;
    for (const gfn of [...vm.sptes.keys()]) {
      if (gfn >= start && gfn < end) {
        vm.sptes.delete(gfn);
        vm.zaps++;
      }
    }
    if (vm.zaps !== zaps) this.sptesChanged?.(vm, start, end);
  }

  private zapAll(vm: RefVm): void {
    if (vm.sptes.size) this.sptesChanged?.(vm, 0, A.CHG_ALL);
    vm.zaps += vm.sptes.size;
    vm.sptes.clear();
  }

  /** Step 2 of invalidate: the MMU notifier for hva pages [hs, he). */
  private invalidateHva(hs: number, he: number): void {
    for (const vmId of ascending(this.s.vms.keys())) {
      const vm = this.s.vms.get(vmId)!;
      for (const slotId of ascending(vm.slots.keys())) {
        const slot = vm.slots.get(slotId)!;
        const o = overlap(hs, he, slot.uaddr, slot.uaddr + slot.npages);
        if (o) this.zapGfns(vm, slot.base + (o[0] - slot.uaddr), slot.base + (o[1] - slot.uaddr));
      }
    }
  }

  /** Zaps, in the file's VM, the gfns that bind file pages [start, end). */
  private zapFileRange(fileId: number, start: number, end: number): void {
    const file = this.s.files.get(fileId)!;
    const vm = this.s.vms.get(file.vm)!;
    for (const b of file.bindings) {
      const o = overlap(start, end, b.pgoff, b.pgoff + b.npages);
      if (!o) continue;
      const slot = vm.slots.get(b.slot)!;
      this.zapGfns(vm, slot.base + (o[0] - slot.pgoff), slot.base + (o[1] - slot.pgoff));
    }
  }

  /** The MMU notifier for the host maps of an inode (all, or only those through one file) over pages [start, end). */
  private notifyMaps(inode: RefInode, start: number, end: number, throughFile?: number): void {
    for (const mapId of ascending(inode.maps)) {
      const m = this.s.maps.get(mapId)!;
      if (throughFile !== undefined && m.file !== throughFile) continue;
      const o = overlap(start, end, m.pgoff, m.pgoff + m.npages);
      if (o) this.invalidateHva(m.hva + (o[0] - m.pgoff), m.hva + (o[1] - m.pgoff));
    }
  }

  private invalidate(inodeId: number, start: number, end: number): void {
    const inode = this.s.inodes.get(inodeId)!;
    for (const fileId of inode.files) this.zapFileRange(fileId, start, end);
    this.notifyMaps(inode, start, end);
  }

  private findMap(hva: number) {
    for (const m of this.s.maps.values()) if (hva >= m.hva && hva < m.hva + m.npages) return m;
    return undefined;
  }

  // ---- commands ----
  vmCreate(vm: number): void {
    this.s.vms.set(vm, { slots: new Map(), sptes: new BigMap(), faults: 0, zaps: 0, exits: 0, ctx: vm + 1 });
  }

  vmDestroy(vm: number): void {
    this.s.vms.delete(vm);
  }

  inodeCreate(id: number, npages: number, kind: number, gmemFlags: number): void {
    // kvm_gmem_init_inode(): every page index starts PRIVATE unless INIT_SHARED.
    const priv: Array<[number, number]> = kind === A.INODE_GMEM && !(gmemFlags & 2) ? [[0, npages]] : [];
    this.s.inodes.set(id, { npages, kind, gmemFlags, pages: new BigMap(), files: [], maps: [], priv });
  }

  inodeDestroy(id: number): number {
    const inode = this.s.inodes.get(id)!;
    const pgoffs = ascending(inode.pages.keys());
    for (const p of pgoffs) this.freeFrame(inode, p);
    this.s.inodes.delete(id);
    return pgoffs.length;
  }

  fileCreate(file: number, inode: number, vm: number, rights: number): void {
    this.s.files.set(file, { inode, vm, rights, foreign: A.FOREIGN_MAP, bindings: [], blocked: [] });
    this.s.inodes.get(inode)!.files.push(file);
  }

  fileRelease(fileId: number): void {
    const file = this.s.files.get(fileId)!;
    const vm = this.s.vms.get(file.vm)!;
    for (const b of [...file.bindings].sort((x, y) => x.pgoff - y.pgoff)) {
      const slot = vm.slots.get(b.slot)!;
      this.zapGfns(vm, slot.base, slot.base + slot.npages);
      slot.file = -1;
    }
    const inode = this.s.inodes.get(file.inode)!;
    inode.files = inode.files.filter((f) => f !== fileId);
    this.s.files.delete(fileId);
  }

  slotCreate(vmId: number, slot: number, base: number, npages: number, file: number, pgoff: number, flags: number): void {
    this.s.vms.get(vmId)!.slots.set(slot, { slot, base, npages, flags, file, pgoff, uaddr: 0 });
    if (file >= 0) {
      const f = this.s.files.get(file)!;
      f.bindings.push({ pgoff, npages, slot });
      f.bindings.sort((x, y) => x.pgoff - y.pgoff);
    }
  }

  slotSetUaddr(vmId: number, slot: number, hva: number): void {
    this.s.vms.get(vmId)!.slots.get(slot)!.uaddr = hva;
  }

  slotDelete(vmId: number, slotId: number): void {
    const vm = this.s.vms.get(vmId)!;
    const slot = vm.slots.get(slotId)!;
    if (slot.file >= 0) {
      const f = this.s.files.get(slot.file)!;
      f.bindings = f.bindings.filter((b) => b.slot !== slotId);
    }
    vm.slots.delete(slotId);
    this.zapAll(vm);
  }

  slotMove(vmId: number, slotId: number, base: number): void {
    const vm = this.s.vms.get(vmId)!;
    vm.slots.get(slotId)!.base = base;
    this.zapAll(vm);
  }

  allocate(inodeId: number, start: number, end: number): number {
    const inode = this.s.inodes.get(inodeId)!;
    let n = 0;
    for (let p = start; p < end; p++) {
      if (!inode.pages.has(p)) {
        this.newFrame(inode, p);
        n++;
      }
    }
    return n;
  }

  punch(inodeId: number, start: number, end: number): number {
    this.invalidate(inodeId, start, end);
    const inode = this.s.inodes.get(inodeId)!;
    const victims = ascending(inode.pages.keys()).filter((p) => p >= start && p < end);
    for (const p of victims) this.freeFrame(inode, p);
    return victims.length;
  }

  inodeResize(inodeId: number, npages: number, truncate: boolean): number {
    const inode = this.s.inodes.get(inodeId)!;
    let freed = 0;
    if (truncate) {
      // Everything from the new end on, past the old end too (pages a KEEP_SIZE fallocate made there).
      freed = this.punch(inodeId, npages, Infinity);
      // The private maps' copies of the pages past the new end go too (truncate_pagecache() unmaps COWed pages).
      for (const mapId of ascending(inode.maps)) {
        const m = this.s.maps.get(mapId)!;
        if (m.cow >= 0) this.punch(m.cow, Math.max(0, npages - m.pgoff), m.npages);
      }
    }
    inode.npages = npages;
    return freed;
  }

  inodeFill(inodeId: number, start: number, end: number, byte: number): number {
    const inode = this.s.inodes.get(inodeId)!;
    let made = 0;
    for (let p = start; p < end; p++) {
      if (!inode.pages.has(p)) made++;
      this.s.frames.get(this.faultIn(inode, p))!.byte = byte;
    }
    return made;
  }

  /** Returns [code, value]. */
  hostAccess(hva: number, write: number, byte: number): [number, number] {
    const m = this.findMap(hva)!;
    if (!(m.rights & (write ? A.RIGHT_W : A.RIGHT_R))) return [A.RES_SIGSEGV, 0];
    const got = this.pageFor(m, hva, write !== 0);
    if (got < 0) return [A.RES_SIGBUS, 0];
    const f = this.s.frames.get(got)!;
    if (write) f.byte = byte;
    return [A.RES_OK, f.byte];
  }

  /**
   * The pfn an access at hva reaches through map m (NO_PAGE or POISONED
   * instead): a private map's copy when it has one; else the file's page,
   * faulted in, which a write through a private map then copies (HOSTMAP_COW).
   */
  private pageFor(m: RefMap, hva: number, write: boolean): number {
    if (m.cow >= 0) {
      const copy = this.s.inodes.get(m.cow)!.pages.get(hva - m.hva);
      if (copy !== undefined) return copy;
    }
    const inode = this.s.inodes.get(m.inode)!;
    const pgoff = m.pgoff + (hva - m.hva);
    if (pgoff >= inode.npages || inRanges(inode.priv, pgoff) || this.blockedInMap(m, pgoff)) return NO_PAGE;
    if (this.poisoned(inode, pgoff)) return POISONED;
    const pfn = this.faultIn(inode, pgoff);
    if (!write || m.cow < 0) return pfn;
    const copy = this.faultIn(this.s.inodes.get(m.cow)!, hva - m.hva);
    this.s.frames.get(copy)!.byte = this.s.frames.get(pfn)!.byte;
    this.invalidateHva(hva, hva + 1);
    return copy;
  }

  hostmapCow(mapId: number, inode: number): void {
    this.s.maps.get(mapId)!.cow = inode;
  }

  private blockedInMap(m: { file: number }, pgoff: number): boolean {
    return m.file >= 0 && inRanges(this.s.files.get(m.file)!.blocked, pgoff);
  }

  hostmapCreate(map: number, hva: number, npages: number, inode: number, pgoff: number, rights: number, file: number): void {
    this.s.maps.set(map, { hva, npages, inode, pgoff, rights, file, cow: -1 });
    this.s.inodes.get(inode)!.maps.push(map);
  }

  hostmapDestroy(mapId: number): void {
    const m = this.s.maps.get(mapId)!;
    this.invalidateHva(m.hva, m.hva + m.npages);
    const inode = this.s.inodes.get(m.inode)!;
    inode.maps = inode.maps.filter((x) => x !== mapId);
    this.s.maps.delete(mapId);
  }

  /** Returns [code, value, aux]. */
  /** The memslot holding gfn, if any. */
  private slotAt(vm: RefVm, gfn: number): RefSlot | undefined {
    for (const s of vm.slots.values()) if (gfn >= s.base && gfn < s.base + s.npages) return s;
    return undefined;
  }

  /** kvm_gmem_is_private_gfn(): the bound inode's attribute at pgoff; shared without a slot, a gmem binding or a live file. */
  private gmemPrivateGfn(vm: RefVm, gfn: number): boolean {
    const slot = this.slotAt(vm, gfn);
    if (!slot || !(slot.flags & A.SLOT_GUEST_MEMFD) || slot.file < 0) return false;
    const inode = this.s.inodes.get(this.s.files.get(slot.file)!.inode)!;
    return inRanges(inode.priv, slot.pgoff + (gfn - slot.base));
  }

  gfnPrivate(vmId: number, gfn: number): boolean {
    return this.gmemPrivateGfn(this.s.vms.get(vmId)!, gfn);
  }

  guestAccess(vmId: number, gfn: number, access: number, privArg: number, byte: number, attrArg: number): [number, number, number] {
    const vm = this.s.vms.get(vmId)!;
    const attrPriv = attrArg === A.DERIVED ? (this.gmemPrivateGfn(vm, gfn) ? 1 : 0) : attrArg;
    const priv = privArg === A.DERIVED ? attrPriv : privArg;
    const right = access === A.ACCESS_READ ? A.RIGHT_R : access === A.ACCESS_WRITE ? A.RIGHT_W : A.RIGHT_X;
    const memflag = priv ? A.MEMFAULT_PRIVATE : 0;
    const exit = (code: number, value = 0): [number, number, number] => {
      vm.exits++;
      return [code, value, gfn];
    };
    const perform = (pfn: number): [number, number, number] => {
      const f = this.s.frames.get(pfn)!;
      if (access === A.ACCESS_WRITE) f.byte = byte;
      return [A.RES_OK, access === A.ACCESS_READ ? f.byte : 0, priv ? 1 : 0];
    };

    if ((priv ? 1 : 0) !== (attrPriv ? 1 : 0)) return exit(A.RES_MEMFAULT_EFAULT, memflag);
    const spte = vm.sptes.get(gfn);
    if (spte && spte.rights & right) return perform(spte.pfn);

    const slot = this.slotAt(vm, gfn);
    if (!slot) {
      if (priv) return exit(A.RES_MEMFAULT_EFAULT, memflag);
      return exit(access === A.ACCESS_EXEC ? A.RES_INTERNAL_ERROR : A.RES_MMIO);
    }

    let pfn: number;
    if (priv || slot.flags & A.SLOT_GMEM_ONLY) {
      if (!(slot.flags & A.SLOT_GUEST_MEMFD) || slot.file < 0) return exit(A.RES_MEMFAULT_EFAULT, memflag);
      const file = this.s.files.get(slot.file)!;
      const pgoff = slot.pgoff + (gfn - slot.base);
      const needs = access === A.ACCESS_READ ? A.RIGHT_R : access === A.ACCESS_WRITE ? A.RIGHT_R | A.RIGHT_W : A.RIGHT_R | A.RIGHT_X;
      if ((file.rights & needs) !== needs || inRanges(file.blocked, pgoff)) return exit(A.RES_MEMFAULT_EACCES, memflag);
      const inode = this.s.inodes.get(file.inode)!;
      if (this.poisoned(inode, pgoff)) return exit(A.RES_MEMFAULT_EHWPOISON, memflag);
      pfn = this.faultIn(inode, pgoff);
      const frame = this.s.frames.get(pfn)!;
      // 3b. A page prepared under another context: the file's foreign mode decides.
      let zeroed = false;
      if (frame.flags & A.PG_PRIVATE && frame.ctx !== vm.ctx) {
        if (file.foreign === A.FOREIGN_REFUSE) return exit(A.RES_MEMFAULT_EACCES, memflag);
        if (file.foreign === A.FOREIGN_ZERO) {
          this.invalidate(file.inode, pgoff, pgoff + 1);
          frame.byte = 0;
          frame.flags &= ~A.PG_PRIVATE;
          frame.ctx = 0;
          zeroed = true;
        }
      }
      if (priv && !(frame.flags & A.PG_PRIVATE)) {
        // A foreign page just zeroed has left every mapping already.
        if (!zeroed) this.invalidate(file.inode, pgoff, pgoff + 1);
        frame.flags |= A.PG_PRIVATE;
        frame.ctx = vm.ctx;
      }
    } else {
      if (access === A.ACCESS_WRITE && slot.flags & A.SLOT_READONLY) return exit(A.RES_MMIO);
      const hva = slot.uaddr + (gfn - slot.base);
      const m = this.findMap(hva);
      if (!m || !(m.rights & (access === A.ACCESS_WRITE ? A.RIGHT_W : A.RIGHT_R))) return [A.RES_EFAULT, 0, gfn];
      const got = this.pageFor(m, hva, access === A.ACCESS_WRITE);
      if (got === NO_PAGE) return [A.RES_EFAULT, 0, gfn];
      if (got === POISONED) return [A.RES_SIGBUS, 0, gfn];
      pfn = got;
    }

    const old = vm.sptes.get(gfn);
    const rights = (access === A.ACCESS_READ ? A.RIGHT_R : access === A.ACCESS_WRITE ? A.RIGHT_R | A.RIGHT_W : A.RIGHT_R | A.RIGHT_X) | (priv ? A.SPTE_PRIVATE : 0);
    if (old && old.pfn === pfn) old.rights |= rights;
    else vm.sptes.set(gfn, { pfn, rights });
    vm.faults++;
    this.sptesChanged?.(vm, gfn, gfn + 1);
    return perform(pfn);
  }

  zapGfnsCmd(vmId: number, start: number, end: number): void {
    this.zapGfns(this.s.vms.get(vmId)!, start, end);
  }

  /** -1 for an absent page (RES_NO_PAGE: nothing changes). */
  memoryFailure(inodeId: number, pgoff: number): number {
    const inode = this.s.inodes.get(inodeId)!;
    const pfn = inode.pages.get(pgoff);
    if (pfn === undefined) return -1;
    const f = this.s.frames.get(pfn)!;
    const fresh = f.flags & A.PG_HWPOISON ? 0 : 1;
    f.flags |= A.PG_HWPOISON;
    this.invalidate(inodeId, pgoff, pgoff + 1);
    return fresh;
  }

  fileSetRights(fileId: number, rights: number): void {
    this.s.files.get(fileId)!.rights = rights;
    this.zapFileRange(fileId, 0, Infinity);
  }


  vmSetCtx(vmId: number, ctx: number): void {
    this.s.vms.get(vmId)!.ctx = ctx;
  }

  fileSetForeign(fileId: number, mode: number): void {
    this.s.files.get(fileId)!.foreign = mode;
  }

  fileBlock(fileId: number, start: number, end: number): void {
    const file = this.s.files.get(fileId)!;
    file.blocked = addRange(file.blocked, start, end);
    this.zapFileRange(fileId, start, end);
    this.notifyMaps(this.s.inodes.get(file.inode)!, start, end, fileId);
  }

  // ---- in-place conversion (core-abi.ts SET_ATTRIBUTES, PIN, UNPIN) ----
  /** Returns [code, value]. */
  setAttributes(inodeId: number, start: number, end: number, toPrivate: boolean): [number, number] {
    const inode = this.s.inodes.get(inodeId)!;
    const already = (toPrivate ? inode.priv.some(([s, e]) => s <= start && e >= end) : !inode.priv.some(([s, e]) => s < end && start < e));
    if (already) return [A.RES_OK, 0];
    if (toPrivate) {
      this.notifyMaps(inode, start, end);
      for (const p of ascending(inode.pages.keys())) {
        if (p >= start && p < end && this.s.pinCount.has(inode.pages.get(p)!)) return [A.RES_EAGAIN, p];
      }
    }
    for (const fileId of inode.files) this.zapFileRange(fileId, start, end);
    inode.priv = toPrivate ? addRange(inode.priv, start, end) : removeRange(inode.priv, start, end);
    if (!toPrivate) {
      for (const p of inode.pages.keys()) {
        if (p < start || p >= end) continue;
        const f = this.s.frames.get(inode.pages.get(p)!)!;
        f.flags &= ~A.PG_PRIVATE;
        f.ctx = 0;
      }
    }
    return [A.RES_OK, 1];
  }

  pin(id: number, hva: number, npages: number): number {
    const m = this.findMap(hva)!;
    if (!(m.rights & A.RIGHT_W)) return A.RES_EFAULT;
    const inode = this.s.inodes.get(m.inode)!;
    const copies = m.cow >= 0 ? this.s.inodes.get(m.cow)!.pages : null;
    for (let k = 0; k < npages; k++) {
      if (copies?.has(hva + k - m.hva)) continue;
      const pgoff = m.pgoff + (hva + k - m.hva);
      if (pgoff >= inode.npages || inRanges(inode.priv, pgoff) || this.blockedInMap(m, pgoff) || this.poisoned(inode, pgoff)) return A.RES_EFAULT;
    }
    const frames: number[] = [];
    for (let k = 0; k < npages; k++) {
      // A private map pins its copies, copying as a store would (FOLL_WRITE breaks copy-on-write).
      const pfn = copies ? this.pageFor(m, hva + k, true) : this.faultIn(inode, m.pgoff + (hva + k - m.hva));
      this.s.pinCount.set(pfn, (this.s.pinCount.get(pfn) ?? 0) + 1);
      frames.push(pfn);
    }
    this.s.pins.set(id, frames);
    return A.RES_OK;
  }

  unpin(id: number): void {
    for (const pfn of this.s.pins.get(id)!) {
      const n = this.s.pinCount.get(pfn)! - 1;
      if (n > 0) {
        this.s.pinCount.set(pfn, n);
        continue;
      }
      this.s.pinCount.delete(pfn);
      const kind = this.s.detached.get(pfn);
      if (kind !== undefined) {
        this.s.detached.delete(pfn);
        this.releaseFrame(pfn, kind);
      }
    }
    this.s.pins.delete(id);
  }

  // ---- snapshot (core-abi.ts, "Snapshot") ----
  snapshot(): Float64Array {
    this.writeSnapshot();
    return SNAP.take();
  }

  /**
   * The snapshot's words in the writer's own buffer, not copied: valid until the next snapshot of any model. For a
   * caller that only reads them at once (the fuzzer's lockstep comparison), where the copy cost more than the walk.
   */
  snapshotView(): Float64Array {
    this.writeSnapshot();
    return SNAP.view();
  }

  private writeSnapshot(): void {
    // Written into one growing buffer (no boxed array of every word), then copied out or lent.
    const out = SNAP;
    out.n = 0;
    const s = this.s;
    const inodeIds = ascending(s.inodes.keys());
    for (const id of inodeIds) {
      const inode = s.inodes.get(id)!;
      const pgoffs = ascending(inode.pages.keys());
      out.push6(A.SNAP_INODE, id, inode.npages, inode.kind, inode.gmemFlags, pgoffs.length);
      for (const p of pgoffs) {
        const pfn = inode.pages.get(p)!;
        const f = s.frames.get(pfn)!;
        out.push5(p, pfn, f.byte, f.flags, f.ctx);
      }
    }
    for (const id of ascending(s.files.keys())) {
      const f = s.files.get(id)!;
      out.push6(A.SNAP_FILE, id, f.inode, f.vm, f.rights, f.bindings.length);
      // slotCreate() keeps a file's bindings sorted by pgoff.
      for (const b of f.bindings) out.push3(b.pgoff, b.npages, b.slot);
      out.push(f.blocked.length);
      for (const [bs, be] of f.blocked) out.push2(bs, be);
    }
    for (const id of ascending(s.vms.keys())) {
      const vm = s.vms.get(id)!;
      const slots = ascending(vm.slots.keys());
      out.push3(A.SNAP_VM, id, slots.length);
      for (const sid of slots) {
        const sl = vm.slots.get(sid)!;
        out.push7(sl.slot, sl.base, sl.npages, sl.flags, sl.file, sl.pgoff, sl.uaddr);
      }
      const gfns = ascending(vm.sptes.keys());
      out.push(gfns.length);
      for (const g of gfns) {
        const e = vm.sptes.get(g)!;
        out.push3(g, e.pfn, e.rights);
      }
      out.push5(vm.sptes.size, vm.faults, vm.zaps, vm.exits, vm.ctx);
    }
    for (const id of ascending(s.maps.keys())) {
      const m = s.maps.get(id)!;
      out.push2(A.SNAP_MAP, id);
      out.push6(m.hva, m.npages, m.inode, m.pgoff, m.rights, m.file);
      out.push(m.cow);
    }
    for (const id of inodeIds) {
      const a = s.inodes.get(id)!.priv;
      if (!a.length) continue;
      out.push3(A.SNAP_ATTR, id, a.length);
      for (const [st, e] of a) out.push2(st, e);
    }
    if (s.detached.size) {
      let dg = 0;
      for (const k of s.detached.values()) if (k === A.INODE_GMEM) dg++;
      out.push3(A.SNAP_DETACHED, dg, s.detached.size - dg);
    }
    out.push5(A.SNAP_END, s.gmemPages, s.anonPages, s.nextPfn, s.freeStack.length);
  }
}

/** A snapshot's words as they are written: one buffer for every snapshot (JavaScript takes one at a time), grown by doubling. */
class SnapWriter {
  words = new Float64Array(1024);
  n = 0;

  private room(k: number): Float64Array {
    if (this.n + k > this.words.length) {
      const grown = new Float64Array(Math.max(2 * this.words.length, this.n + k));
      grown.set(this.words.subarray(0, this.n));
      this.words = grown;
    }
    return this.words;
  }

  push(a: number): void {
    this.room(1)[this.n++] = a;
  }

  /** The words written, copied out; a buffer grown past 64 Ki words is let go (a large state's snapshot keeps no copy alive). */
  take(): Float64Array {
    const out = this.words.slice(0, this.n);
    if (this.words.length > 1 << 16) this.words = new Float64Array(1024);
    return out;
  }

  /** The words written, in place (the next snapshot overwrites them). */
  view(): Float64Array {
    return this.words.subarray(0, this.n);
  }

  push2(a: number, b: number): void {
    const w = this.room(2);
    w[this.n] = a;
    w[this.n + 1] = b;
    this.n += 2;
  }

  push3(a: number, b: number, c: number): void {
    const w = this.room(3);
    w[this.n] = a;
    w[this.n + 1] = b;
    w[this.n + 2] = c;
    this.n += 3;
  }

  push5(a: number, b: number, c: number, d: number, e: number): void {
    const w = this.room(5);
    const n = this.n;
    w[n] = a;
    w[n + 1] = b;
    w[n + 2] = c;
    w[n + 3] = d;
    w[n + 4] = e;
    this.n = n + 5;
  }

  push6(a: number, b: number, c: number, d: number, e: number, f: number): void {
    this.push5(a, b, c, d, e);
    this.push(f);
  }

  push7(a: number, b: number, c: number, d: number, e: number, f: number, g: number): void {
    this.push5(a, b, c, d, e);
    this.push2(f, g);
  }
}
const SNAP = new SnapWriter();
