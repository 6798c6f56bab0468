/**
 * The checkers' copy of the core's state, indexed for checking: pages by pfn
 * and the SPTEs that map each pfn. Built once from a full snapshot, then kept
 * current from the core's change stream (core-abi.ts, "Change log"); applying
 * a stream says what it touched, so that checks can look at just that.
 */
import * as A from "../abi/core-abi.js";
import type { SnapMap, SnapSlot } from "./snapshot.js";

export interface CPage { readonly inode: number; readonly pgoff: number; pfn: number; flags: number; ctx: number }
export interface CSpte { readonly vm: number; readonly gfn: number; pfn: number; rights: number }
export interface CInode { id: number; npages: number; kind: number; gmemFlags: number; pages: Map<number, CPage> }
export interface CFile { id: number; inode: number; vm: number; rights: number; bindings: Array<{ pgoff: number; npages: number; slot: number }>; blocked: Array<[number, number]> }
export interface CVm { id: number; slots: SnapSlot[]; sptes: Map<number, CSpte>; ctx: number }

/** What one change stream touched. */
export interface Touched {
  /** SPTEs installed or changed (live ones only). */
  sptes: Set<CSpte>;
  /** pfns whose page changed, appeared or went (a page's old and new pfn). */
  pfns: Set<number>;
  /** VMs, files, inodes and maps created, changed or gone. */
  vms: Set<number>;
  files: Set<number>;
  inodes: Set<number>;
  /** Maps made or gone, with their records (as they were, for those gone). */
  maps: Map<number, SnapMap>;
  /** Pages given a pfn another live page holds. */
  doubled: CPage[];
}

export const touchedNothing = (): Touched => ({ sptes: new Set(), pfns: new Set(), vms: new Set(), files: new Set(), inodes: new Set(), maps: new Map(), doubled: [] });

export class CoreState {
  readonly inodes = new Map<number, CInode>();
  readonly files = new Map<number, CFile>();
  readonly vms = new Map<number, CVm>();
  readonly maps = new Map<number, SnapMap>();
  readonly byPfn = new Map<number, CPage>();
  /** The SPTEs mapping each pfn. */
  readonly mappers = new Map<number, Set<CSpte>>();
  /** The core's own page counts, as last reported. */
  gmemPages = 0;
  anonPages = 0;
  /** Pages held by the inodes here, by kind. */
  heldGmem = 0;
  heldAnon = 0;

  // ---- building blocks ----

  private addPage(inode: CInode, p: CPage, t: Touched): void {
    inode.pages.set(p.pgoff, p);
    if (inode.kind === A.INODE_GMEM) this.heldGmem++;
    else this.heldAnon++;
    const other = this.byPfn.get(p.pfn);
    if (other && other !== p) t.doubled.push(p);
    else this.byPfn.set(p.pfn, p);
    t.pfns.add(p.pfn);
  }

  private dropPage(inode: CInode, p: CPage, t: Touched): void {
    inode.pages.delete(p.pgoff);
    if (inode.kind === A.INODE_GMEM) this.heldGmem--;
    else this.heldAnon--;
    if (this.byPfn.get(p.pfn) === p) this.byPfn.delete(p.pfn);
    t.pfns.add(p.pfn);
  }

  private addSpte(vm: CVm, e: CSpte, t: Touched): void {
    vm.sptes.set(e.gfn, e);
    let set = this.mappers.get(e.pfn);
    if (!set) this.mappers.set(e.pfn, (set = new Set()));
    set.add(e);
    t.sptes.add(e);
  }

  private dropSpte(vm: CVm, e: CSpte): void {
    vm.sptes.delete(e.gfn);
    const set = this.mappers.get(e.pfn);
    set?.delete(e);
    if (set && set.size === 0) this.mappers.delete(e.pfn);
  }

  /** Keys of map in [start, end): by walking the range when it is smaller than the map, else the map. */
  private static keysIn<V>(map: Map<number, V>, start: number, end: number): number[] {
    const keys: number[] = [];
    if (end - start <= map.size) {
      for (let k = start; k < end; k++) if (map.has(k)) keys.push(k);
    } else {
      for (const k of map.keys()) if (k >= start && k < end) keys.push(k);
    }
    return keys;
  }

  // ---- full snapshots ----

  /** The whole state from a snapshot stream (core-abi.ts, "Snapshot"). */
  static fromSnapshot(s: Float64Array): CoreState {
    const st = new CoreState();
    const t = touchedNothing();
    let i = 0;
    const next = () => s[i++];
    for (;;) {
      const tag = next();
      if (tag === A.SNAP_INODE) {
        const inode: CInode = { id: next(), npages: next(), kind: next(), gmemFlags: next(), pages: new Map() };
        st.inodes.set(inode.id, inode);
        const n = next();
        for (let k = 0; k < n; k++) {
          const pgoff = next();
          const pfn = next();
          next(); // byte: no check reads contents
          st.addPage(inode, { inode: inode.id, pgoff, pfn, flags: next(), ctx: next() }, t);
        }
      } else if (tag === A.SNAP_FILE) {
        const f: CFile = { id: next(), inode: next(), vm: next(), rights: next(), bindings: [], blocked: [] };
        const n = next();
        for (let k = 0; k < n; k++) f.bindings.push({ pgoff: next(), npages: next(), slot: next() });
        const b = next();
        for (let k = 0; k < b; k++) f.blocked.push([next(), next()]);
        st.files.set(f.id, f);
      } else if (tag === A.SNAP_VM) {
        const vm: CVm = { id: next(), slots: [], sptes: new Map(), ctx: 0 };
        const n = next();
        for (let k = 0; k < n; k++) vm.slots.push({ slot: next(), base: next(), npages: next(), flags: next(), file: next(), pgoff: next(), uaddr: next() });
        const m = next();
        for (let k = 0; k < m; k++) st.addSpte(vm, { vm: vm.id, gfn: next(), pfn: next(), rights: next() }, t);
        i += 4; // counters: no check reads them
        vm.ctx = next();
        st.vms.set(vm.id, vm);
      } else if (tag === A.SNAP_MAP) {
        const m: SnapMap = { id: next(), hva: next(), npages: next(), inode: next(), pgoff: next(), rights: next(), file: next() };
        st.maps.set(m.id, m);
      } else if (tag === A.SNAP_END) {
        st.gmemPages = next();
        st.anonPages = next();
        st.doubled = t.doubled;
        return st;
      } else {
        throw new Error(`snapshot: unexpected tag ${tag} at word ${i - 1}`);
      }
    }
  }

  /** Pages found doubled while building from a snapshot. */
  doubled: CPage[] = [];
  /** What the last apply() touched (one object, cleared per call: a check runs after every op). */
  private readonly touched = touchedNothing();

  // ---- change streams ----

  /**
   * Applies a change stream. Removals come before additions whatever the
   * order of the records, so that a pfn freed and reused within one stream
   * is not taken for a pfn held twice.
   */
  apply(s: Float64Array): Touched {
    const t = this.touched;
    t.sptes.clear();
    t.pfns.clear();
    t.vms.clear();
    t.files.clear();
    t.inodes.clear();
    t.maps.clear();
    t.doubled.length = 0;
    const pageSets: Array<{ inode: CInode; start: number; end: number; pages: CPage[] }> = [];
    const spteSets: Array<{ vm: CVm; start: number; end: number; sptes: CSpte[] }> = [];
    let i = 0;
    const next = () => s[i++];
    // Pass 1: objects, and the ranges' contents read.
    for (;;) {
      const tag = next();
      if (tag === A.CHG_SPTES) {
        const id = next();
        const start = next();
        const end = next();
        const n = next();
        const sptes: CSpte[] = [];
        for (let k = 0; k < n; k++) sptes.push({ vm: id, gfn: next(), pfn: next(), rights: next() });
        const vm = this.vms.get(id) ?? this.newVm(id, t);
        spteSets.push({ vm, start, end, sptes });
      } else if (tag === A.CHG_PAGES) {
        const id = next();
        const start = next();
        const end = next();
        const n = next();
        const pages: CPage[] = [];
        for (let k = 0; k < n; k++) {
          const pgoff = next();
          const pfn = next();
          next(); // byte
          pages.push({ inode: id, pgoff, pfn, flags: next(), ctx: next() });
        }
        const inode = this.inodes.get(id);
        if (!inode) throw new Error(`change stream: pages of inode ${id}, which the stream never made`);
        pageSets.push({ inode, start, end, pages });
      } else if (tag === A.CHG_INODE) {
        const id = next();
        const npages = next();
        const kind = next();
        const gmemFlags = next();
        const inode = this.inodes.get(id);
        if (!inode) this.inodes.set(id, { id, npages, kind, gmemFlags, pages: new Map() });
        else inode.npages = npages; // a memfd's size changes (INODE_RESIZE)
        t.inodes.add(id);
      } else if (tag === A.CHG_FILE) {
        const f: CFile = { id: next(), inode: next(), vm: next(), rights: next(), bindings: [], blocked: [] };
        const n = next();
        for (let k = 0; k < n; k++) f.bindings.push({ pgoff: next(), npages: next(), slot: next() });
        const b = next();
        for (let k = 0; k < b; k++) f.blocked.push([next(), next()]);
        this.files.set(f.id, f);
        t.files.add(f.id);
      } else if (tag === A.CHG_VM) {
        const id = next();
        const vm = this.vms.get(id) ?? this.newVm(id, t);
        vm.slots = [];
        const n = next();
        for (let k = 0; k < n; k++) vm.slots.push({ slot: next(), base: next(), npages: next(), flags: next(), file: next(), pgoff: next(), uaddr: next() });
        vm.ctx = next();
        t.vms.add(id);
      } else if (tag === A.CHG_MAP) {
        const m: SnapMap = { id: next(), hva: next(), npages: next(), inode: next(), pgoff: next(), rights: next(), file: next() };
        this.maps.set(m.id, m);
        t.maps.set(m.id, m);
      } else if (tag === A.CHG_GONE) {
        this.gone(next(), next(), t);
      } else if (tag === A.CHG_END) {
        this.gmemPages = next();
        this.anonPages = next();
        break;
      } else {
        throw new Error(`change stream: unexpected tag ${tag} at word ${i - 1}`);
      }
    }
    // Pass 2: what the ranges held goes; pass 3: what they hold now comes.
    for (const r of pageSets) for (const pgoff of CoreState.keysIn(r.inode.pages, r.start, r.end)) this.dropPage(r.inode, r.inode.pages.get(pgoff)!, t);
    for (const r of spteSets) for (const gfn of CoreState.keysIn(r.vm.sptes, r.start, r.end)) this.dropSpte(r.vm, r.vm.sptes.get(gfn)!);
    for (const r of pageSets) if (this.inodes.get(r.inode.id) === r.inode) for (const p of r.pages) if (!r.inode.pages.has(p.pgoff)) this.addPage(r.inode, p, t);
    for (const r of spteSets) if (this.vms.get(r.vm.id) === r.vm) for (const e of r.sptes) if (!r.vm.sptes.has(e.gfn)) this.addSpte(r.vm, e, t);
    return t;
  }

  private newVm(id: number, t: Touched): CVm {
    const vm: CVm = { id, slots: [], sptes: new Map(), ctx: id + 1 };
    this.vms.set(id, vm);
    t.vms.add(id);
    return vm;
  }

  private gone(kind: number, id: number, t: Touched): void {
    if (kind === A.CHG_INODE) {
      const inode = this.inodes.get(id);
      if (inode) for (const p of [...inode.pages.values()]) this.dropPage(inode, p, t);
      this.inodes.delete(id);
      t.inodes.add(id);
    } else if (kind === A.CHG_FILE) {
      this.files.delete(id);
      t.files.add(id);
    } else if (kind === A.CHG_VM) {
      const vm = this.vms.get(id);
      if (vm) for (const e of [...vm.sptes.values()]) this.dropSpte(vm, e);
      this.vms.delete(id);
      t.vms.add(id);
    } else if (kind === A.CHG_MAP) {
      const m = this.maps.get(id);
      if (m) t.maps.set(id, m);
      this.maps.delete(id);
    }
  }
}
