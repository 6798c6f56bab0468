/**
 * The checkers' copy of the core's state, indexed for checking: pages by pfn
 * and the SPTEs that map each pfn. Built once from a full snapshot, then kept
 * current from the core's change stream (core-abi.ts, "Change log"); applying
 * a stream says what it touched, so that checks can look at just that.
 */
import * as A from "../abi/core-abi.js";
import type { SnapMap, SnapSlot } from "./snapshot.js";
import { HvaIndex } from "./hva-index.js";
import { BlockList } from "../sorted.js";
import { RunList, type Run } from "./runs.js";
import { IntMap } from "./int-map.js";

export interface CPage { readonly inode: number; readonly pgoff: number; pfn: number; flags: number; ctx: number }
export interface CSpte { readonly vm: number; readonly gfn: number; pfn: number; rights: number }
export interface CInode { id: number; npages: number; kind: number; gmemFlags: number; pages: IntMap<CPage> }
export interface CBinding { pgoff: number; npages: number; slot: number }
/** A file: its bindings by pgoff, then memslot (as the core lists them), and the windows it blocks. */
export interface CFile { id: number; inode: number; vm: number; rights: number; bindings: BlockList<CBinding>; blocked: RunList }
/** A VM: its memslots by id (as the core lists them) and by base gfn (for the memslot of a gfn), its SPTEs by gfn. */
export interface CVm { id: number; slots: BlockList<SnapSlot>; byGfn: BlockList<SnapSlot>; sptes: IntMap<CSpte>; ctx: number }

/**
 * The ids of one kind an op touched, each once: an op touches one to a handful, so they are a list (emptied by
 * dropping it: a Set's clear() allocates a new table, about half the ops a fuzzed trace checks), with a Set beside
 * it only past SET_AFTER ids, so that a large op stays linear.
 */
export class Ids {
  list: number[] = [];
  private set: Set<number> | null = null;

  get size(): number {
    return this.list.length;
  }

  has(id: number): boolean {
    return this.set !== null ? this.set.has(id) : this.list.includes(id);
  }

  add(id: number): void {
    if (this.has(id)) return;
    this.list.push(id);
    if (this.set !== null) this.set.add(id);
    else if (this.list.length > SET_AFTER) this.set = new Set(this.list);
  }

  clear(): void {
    if (this.list.length) this.list = [];
    this.set = null;
  }
}
const SET_AFTER = 16;

/** What one change stream touched. */
export interface Touched {
  /** SPTEs installed or changed (live ones only). */
  sptes: Set<CSpte>;
  /** pfns whose page changed, appeared or went (a page's old and new pfn). */
  pfns: Set<number>;
  /** Pgoffs whose PRIVATE attribute changed (profile next's conversions), as flat [inode, start, end] triples. */
  converted: number[];
  /** Files, inodes and maps created, changed or gone. */
  files: Ids;
  inodes: Ids;
  /** Maps made or gone, with their records (as they were, for those gone). */
  maps: Map<number, SnapMap>;
  /** Pages given a pfn another live page holds. */
  doubled: CPage[];
  /**
   * The gfn ranges whose SPTEs a memslot or file change may have left stale, as flat [vm, start, end] triples:
   * the memslots that changed (as they were and as they are) and the memslots bound to a file that changed.
   */
  ranges: number[];
  /** VMs whose every SPTE may have changed its standing (a new encryption context). */
  wholeVms: Ids;
  /** The bindings of changed memslots, as they were and as they are, as flat [file, pgoff] pairs: checked where they lie (or whole, with their file, when it is in `files`). */
  slotBindings: number[];
  /** Pgoffs a file no longer blocks (it did before the change), as flat [file, start, end] triples: a donation there would be reachable again. */
  unblocked: number[];
  /** Host pages whose shared path changed with their file's blocked ranges, as flat [hva_page, npages] pairs: the SPTEs of every memslot over them may be stale. */
  hvaRanges: number[];
}

export const touchedNothing = (): Touched => ({ sptes: new Set(), pfns: new Set(), converted: [], files: new Ids(), inodes: new Ids(), maps: new Map(), doubled: [], ranges: [], wholeVms: new Ids(), slotBindings: [], unblocked: [], hvaRanges: [] });


/** fromSnapshot()'s record of what it touched, reused (JavaScript runs one build at a time). */
const BUILD_SCRATCH = touchedNothing();

export class CoreState {
  readonly inodes = new Map<number, CInode>();
  readonly files = new Map<number, CFile>();
  readonly vms = new Map<number, CVm>();
  readonly maps = new Map<number, SnapMap>();
  /** Maps by hva and memslots by userspace_addr, across VMs (the shared path's side). */
  readonly hva = new HvaIndex();
  /** Each inode's files, by id. */
  private readonly fileIds = new Map<number, Set<number>>();
  /** Each VM's files, by id (an inode of the system design has a file per bound VM: a VM's are found without them). */
  private readonly vmFileIds = new Map<number, Set<number>>();
  /** The private maps (core-abi.ts HOSTMAP_COW), by the inode of their copies. */
  readonly copiesOf = new Map<number, SnapMap>();
  readonly byPfn = new IntMap<CPage>();
  /**
   * The SPTEs mapping each pfn: the SPTE itself while it is the only one, a Set from the second (most frames have
   * one mapper; a Set per frame cost an allocation per new mapping and, with a guest's whole memory mapped, the
   * memory and cache misses of as many hash tables).
   */
  readonly mappers = new IntMap<CSpte | Set<CSpte>>();
  /** The core's own page counts, as last reported. */
  gmemPages = 0;
  anonPages = 0;
  /** Pages held by the inodes here, by kind. */
  heldGmem = 0;
  heldAnon = 0;
  /** Frames detached from their inode while pinned (profile next's pins): counted by the core, held by no inode. */
  detachedGmem = 0;
  detachedAnon = 0;
  /** Each inode's PRIVATE runs (from snapshots and the change stream), for the in-place invariant. */
  attrs = new Map<number, RunList>();

  // ---- building blocks ----

  /** Adds a page; one whose pfn another page holds goes to `clashes` (judged by the caller), or straight to t.doubled. */
  private addPage(inode: CInode, p: CPage, t: Touched, clashes: CPage[] = t.doubled): void {
    inode.pages.set(p.pgoff, p);
    if (inode.kind === A.INODE_GMEM) this.heldGmem++;
    else this.heldAnon++;
    const other = this.byPfn.get(p.pfn);
    if (other && other !== p) clashes.push(p);
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
    const m = this.mappers.get(e.pfn);
    if (m === undefined) this.mappers.set(e.pfn, e);
    else if (m instanceof Set) m.add(e);
    else if (m !== e) this.mappers.set(e.pfn, new Set([m, e]));
    t.sptes.add(e);
  }

  private dropSpte(vm: CVm, e: CSpte): void {
    vm.sptes.delete(e.gfn);
    const m = this.mappers.get(e.pfn);
    if (m === e) this.mappers.delete(e.pfn);
    else if (m instanceof Set && m.delete(e) && m.size === 1) this.mappers.set(e.pfn, m.values().next().value!);
  }

  /** Adds the SPTEs that map pfn to `out`. */
  addMappersTo(pfn: number, out: Set<CSpte>): void {
    const m = this.mappers.get(pfn);
    if (m === undefined) return;
    if (m instanceof Set) for (const e of m) out.add(e);
    else out.add(m);
  }

  /** Whether the index of SPTEs by pfn holds e. */
  indexesSpte(e: CSpte): boolean {
    const m = this.mappers.get(e.pfn);
    return m === e || (m instanceof Set && m.has(e));
  }

  /** How many SPTEs the index of SPTEs by pfn holds. */
  indexedSptes(): number {
    let n = 0;
    for (const m of this.mappers.values()) n += m instanceof Set ? m.size : 1;
    return n;
  }

  private setFile(f: CFile, t: Touched | null): void {
    const old = this.files.get(f.id);
    if (t) this.fileRanges(old, f, t);
    if (old && old.inode !== f.inode) unlist(this.fileIds, old.inode, old.id);
    if (old && old.vm !== f.vm) unlist(this.vmFileIds, old.vm, old.id);
    this.files.set(f.id, f);
    list(this.fileIds, f.inode, f.id);
    list(this.vmFileIds, f.vm, f.id);
  }

  /**
   * The gfn ranges a file's change reaches: every binding's memslot, as it was and as it is, when what the file
   * grants changed (its rights, blocked windows, inode or VM) or it is gone (`after` undefined); only the bindings
   * that changed otherwise.
   */
  private fileRanges(before: CFile | undefined, after: CFile | undefined, t: Touched): void {
    // Blocked pgoffs that came or went (a donation blocks a window): the bindings' gfns over them; those that went
    // are noted for the donations of the file.
    const was = before?.blocked.toArray();
    const is = after?.blocked.toArray();
    const blocked = was && is && !sameRanges(was, is) ? coverageDiff(was, is) : null;
    if (blocked) for (const [lo, hi] of blocked.lost) t.unblocked.push(after!.id, lo, hi);
    const whole = !before || !after || before.rights !== after.rights || before.inode !== after.inode || before.vm !== after.vm;
    const push = (vm: number, start: number, end: number) => t.ranges.push(vm, start, end);
    // Over [lo, hi) of the file's pgoffs (a binding's whole memslot by default).
    const note = (f: CFile, b: CBinding, lo = -Infinity, hi = Infinity) => this.bindingGfns(f, b, lo, hi, push);
    if (whole) {
      for (const f of [before, after]) if (f) for (const b of f.bindings) note(f, b);
      return;
    }
    if (blocked) for (const [lo, hi] of [...blocked.gained, ...blocked.lost]) for (const f of [before!, after!]) this.bindingsOver(f, lo, hi, push);
    diffLists(before!.bindings.toArray(), after!.bindings.toArray(), byBinding, (a, b) => {
      if (a && b && a.npages === b.npages) return;
      if (a) note(before!, a);
      if (b) note(after!, b);
    });
  }

  /**
   * A CHG_BLOCKED record at s[i] (a donation): the ranges it lists replace the file's blocked ranges that overlap
   * or touch its range, found by binary search; the gfns of the bindings, and the host pages of the maps, over
   * pgoffs blocked or unblocked by it are noted (those unblocked for the file's donations too). A donation costs
   * the ranges and bindings around its window, not every binding and window of the file. Returns the index after
   * the record.
   */
  private applyBlocked(s: Float64Array, i: number, t: Touched): number {
    const { id, start, end, now, next } = readAround(s, i);
    const f = this.files.get(id);
    if (!f) return next;
    const before = f.blocked.replaceAround(start, end, now);
    if (sameRanges(before, now)) return next;
    const d = coverageDiff(before, now);
    for (const [lo, hi] of d.lost) t.unblocked.push(id, lo, hi);
    const push = (vm: number, s0: number, e0: number) => t.ranges.push(vm, s0, e0);
    for (const [lo, hi] of [...d.gained, ...d.lost]) {
      this.bindingsOver(f, lo, hi, push);
      // The file's host maps over those pgoffs: what the shared path reaches there changed too.
      for (const m of this.hva.mapsOfFile(id)) {
        const s0 = Math.max(lo, m.pgoff);
        const e0 = Math.min(hi, m.pgoff + m.npages);
        if (s0 < e0) t.hvaRanges.push(m.hva + (s0 - m.pgoff), e0 - s0);
      }
    }
    return next;
  }

  /**
   * The gfns of file f's bindings over pgoffs [lo, hi): fn(vm, start, end). A file's bindings never overlap
   * (kvm_gmem_bind() refuses one that would: EEXIST), so those over the range are the ones just before the first
   * binding that starts at or past hi, back to the first that ends by lo.
   */
  private bindingsOver(f: CFile, lo: number, hi: number, fn: (vm: number, start: number, end: number) => void): void {
    const list = f.bindings;
    for (let k = list.lowerBound(hi, bindingPgoff) - 1; k >= 0; k--) {
      const b = list.at(k)!;
      if (b.pgoff + b.npages <= lo) break;
      this.bindingGfns(f, b, lo, hi, fn);
    }
  }

  /**
   * A CHG_ATTRS record at s[i]: the runs it lists replace the kept runs of its inode that overlap or touch its
   * range (core-abi.ts says why that is exact), found by binary search; the pages whose attribute changed are
   * noted. Returns the index after the record.
   */
  private applyAttrs(s: Float64Array, i: number, t: Touched): number {
    const { id, start, end, now, next } = readAround(s, i);
    let runs = this.attrs.get(id);
    if (!runs) {
      if (now.length === 0) return next;
      this.attrs.set(id, (runs = new RunList()));
    }
    noteConverted(id, runs.replaceAround(start, end, now), now, t);
    if (runs.size === 0) this.attrs.delete(id);
    return next;
  }

  /** The gfns through which binding `b` of file `f` shows its pgoffs in [lo, hi), if any: fn(vm, start, end). */
  bindingGfns(f: CFile, b: CBinding, lo: number, hi: number, fn: (vm: number, start: number, end: number) => void): void {
    const sl = this.slotOfVm(f.vm, b.slot);
    const s = Math.max(lo, b.pgoff);
    const e = Math.min(hi, b.pgoff + b.npages);
    if (sl && s < e) fn(f.vm, sl.base + (s - sl.pgoff), sl.base + (e - sl.pgoff));
  }

  /** Memslot `slot` of VM `vm`, if it has one. */
  slotOfVm(vm: number, slot: number): SnapSlot | undefined {
    const v = this.vms.get(vm);
    if (!v) return undefined;
    // A VM's memslots are kept by id (applySlots()).
    const sl = v.slots.at(v.slots.lowerBound(slot, slotId));
    return sl?.slot === slot ? sl : undefined;
  }

  private unlistFile(f: CFile): void {
    unlist(this.fileIds, f.inode, f.id);
    unlist(this.vmFileIds, f.vm, f.id);
  }

  /** The files of an inode. */
  *filesOf(inode: number): Iterable<CFile> {
    const ids = this.fileIds.get(inode);
    if (ids) for (const id of ids) yield this.files.get(id)!;
  }

  /** The files of a VM. */
  *filesOfVm(vm: number): Iterable<CFile> {
    const ids = this.vmFileIds.get(vm);
    if (ids) for (const id of ids) yield this.files.get(id)!;
  }

  private setMap(m: SnapMap): void {
    const old = this.maps.get(m.id);
    if (old) {
      this.hva.removeMap(old);
      if (old.cow >= 0) this.copiesOf.delete(old.cow);
    }
    this.maps.set(m.id, m);
    this.hva.addMap(m);
    if (m.cow >= 0) this.copiesOf.set(m.cow, m);
  }

  /**
   * A VM's n memslots as a stream lists them (7 words each from word `at`): compared with the records it has, both
   * by id, so that only a memslot that changed is made anew and indexed again (a VM's change is mostly one memslot,
   * or its context alone), and with `t` each changed memslot's gfn range (as it was and as it is) and file are
   * noted. Both lists are in id order (core-abi.ts CHG_VM, SNAP_VM), which slotOfVm() searches. Returns the word
   * after the memslots.
   */
  private applySlots(vm: CVm, s: Float64Array, at: number, n: number, t: Touched | null): number {
    const old = vm.slots;
    const next: SnapSlot[] = new Array(n);
    const gone = (o: SnapSlot) => {
      this.hva.removeSlot(o);
      if (t) this.slotChanged(vm.id, o, t);
    };
    let j = 0;
    for (let k = 0, w = at; k < n; k++, w += 7) {
      while (j < old.length && old.at(j)!.slot < s[w]) gone(old.at(j++)!);
      const o = j < old.length && old.at(j)!.slot === s[w] ? old.at(j) : undefined;
      if (o && sameSlot(o, s, w + 1)) {
        next[k] = o;
        j++;
        continue;
      }
      if (o) gone(old.at(j++)!);
      const sl = slotAt(s[w], s, w + 1);
      this.hva.addSlot(vm.id, sl);
      if (t) this.slotChanged(vm.id, sl, t);
      next[k] = sl;
    }
    while (j < old.length) gone(old.at(j++)!);
    vm.slots = new BlockList(next);
    // A whole list (a VM's record, made for a new VM or context or a file's release): sorted anew by base gfn.
    vm.byGfn = new BlockList(next.sort((a, b) => a.base - b.base));
    return at + n * 7;
  }

  /**
   * A CHG_SLOT record at s[i]: one memslot as it is now, or none with its id. The VM's memslots, by id and by
   * base gfn, follow it, and the gfns it covered and covers are noted, as applySlots() notes a memslot that
   * changed (its binding comes in CHG_BINDING records). Returns the index after the record.
   */
  private applySlot(s: Float64Array, i: number, t: Touched): number {
    const vmId = s[i + 1];
    const id = s[i + 2];
    const present = s[i + 3] === 1;
    const after = i + (present ? 10 : 4);
    const vm = this.vms.get(vmId) ?? this.newVm(vmId);
    const slots = vm.slots;
    const k = slots.lowerBound(id, slotId);
    const there = slots.at(k);
    const old = there?.slot === id ? there : undefined;
    if (old === undefined ? !present : present && sameSlot(old, s, i + 4)) return after;
    const sl = present ? slotAt(id, s, i + 4) : undefined;
    if (old) {
      this.hva.removeSlot(old);
      this.slotChanged(vmId, old, t);
      vm.byGfn.removeSorted(old, slotBase);
    }
    if (sl) {
      this.hva.addSlot(vmId, sl);
      this.slotChanged(vmId, sl, t);
      if (old) slots.set(k, sl);
      else slots.insertAt(k, sl);
      vm.byGfn.insertSorted(sl, slotBase);
    } else slots.removeAt(k);
    return after;
  }

  /**
   * A CHG_BINDING record: file `file`'s binding of memslot `slot` at `pgoff`, `npages` long (0: none), put into
   * its list (by pgoff, then memslot) or taken out; a file's record in the same stream may have listed it
   * already: either way once.
   */
  private binding(file: number, slot: number, pgoff: number, npages: number): void {
    const f = this.files.get(file);
    if (!f) return;
    const list = f.bindings;
    let k = list.lowerBound(pgoff, bindingPgoff);
    while (k < list.length && list.at(k)!.pgoff === pgoff && list.at(k)!.slot < slot) k++;
    const at = list.at(k);
    const there = at !== undefined && at.pgoff === pgoff && at.slot === slot;
    if (npages === 0) {
      if (there) list.removeAt(k);
    } else if (there) list.set(k, { pgoff, npages, slot });
    else list.insertAt(k, { pgoff, npages, slot });
  }

  private slotChanged(vm: number, sl: SnapSlot, t: Touched): void {
    t.ranges.push(vm, sl.base, sl.base + sl.npages);
    if (sl.file >= 0) t.slotBindings.push(sl.file, sl.pgoff);
  }

  // ---- full snapshots ----

  /** The whole state from a snapshot stream (core-abi.ts, "Snapshot"). */
  static fromSnapshot(s: Float64Array): CoreState {
    const st = new CoreState();
    st.hva.beginBulk();
    // What building touches is not reported (only the pages found doubled): one scratch record, emptied after each build.
    const t = BUILD_SCRATCH;
    t.doubled = [];
    let i = 0;
    const next = () => s[i++];
    for (;;) {
      const tag = next();
      if (tag === A.SNAP_INODE) {
        const inode: CInode = { id: next(), npages: next(), kind: next(), gmemFlags: next(), pages: new IntMap() };
        st.inodes.set(inode.id, inode);
        const n = next();
        for (let k = 0; k < n; k++) {
          const pgoff = next();
          const pfn = next();
          next(); // byte: no check reads contents
          st.addPage(inode, { inode: inode.id, pgoff, pfn, flags: next(), ctx: next() }, t);
        }
      } else if (tag === A.SNAP_FILE) {
        const f: CFile = { id: next(), inode: next(), vm: next(), rights: next(), bindings: new BlockList(), blocked: new RunList() };
        const n = next();
        for (let k = 0; k < n; k++) f.bindings.push({ pgoff: next(), npages: next(), slot: next() });
        const blocked: Run[] = [];
        const b = next();
        for (let k = 0; k < b; k++) blocked.push([next(), next()]);
        f.blocked = RunList.from(blocked);
        st.setFile(f, null);
      } else if (tag === A.SNAP_VM) {
        const vm: CVm = { id: next(), slots: new BlockList(), byGfn: new BlockList(), sptes: new IntMap(), ctx: 0 };
        const n = next();
        i = st.applySlots(vm, s, i, n, null);
        const m = next();
        for (let k = 0; k < m; k++) st.addSpte(vm, { vm: vm.id, gfn: next(), pfn: next(), rights: next() }, t);
        i += 4; // counters: no check reads them
        vm.ctx = next();
        st.vms.set(vm.id, vm);
      } else if (tag === A.SNAP_MAP) {
        st.setMap({ id: next(), hva: next(), npages: next(), inode: next(), pgoff: next(), rights: next(), file: next(), cow: next() });
      } else if (tag === A.SNAP_ATTR) {
        const id = next();
        const runs: Run[] = [];
        for (let k = next(); k > 0; k--) runs.push([next(), next()]);
        st.attrs.set(id, RunList.from(runs));
      } else if (tag === A.SNAP_DETACHED) {
        st.detachedGmem = next();
        st.detachedAnon = next();
      } else if (tag === A.SNAP_END) {
        st.gmemPages = next();
        st.anonPages = next();
        st.doubled = t.doubled;
        // Emptied here, not at the next build's start: the scratch keeps no SPTE of this state alive.
        t.sptes.clear();
        t.pfns.clear();
        st.hva.endBulk();
        return st;
      } else {
        throw new Error(`snapshot: unexpected tag ${tag} at word ${i - 1}`);
      }
    }
  }

  /** Pages found doubled while building from a snapshot. */
  doubled: CPage[] = [];
  /** What the last apply() touched (one object, cleared per call: a check runs after every op). */
  private touchedRecord: Touched | null = null;
  /** Pages whose pfn another page held when added, judged at the end of apply() (kept for reuse). */
  private readonly clashes: CPage[] = [];

  // ---- change streams ----

  /**
   * Applies a change stream, in one pass. A range record's old contents that
   * it no longer holds go, what changed is updated in place, what is new comes;
   * an entry equal to what is kept is left alone (and not reported touched).
   * A pfn found held by another page is judged only once the whole stream is
   * applied: one freed and reused within the stream is not held twice.
   */
  apply(s: Float64Array): Touched {
    // Made at the first apply: a state built for one comparison at the end of a run never needs one.
    const t = (this.touchedRecord ??= touchedNothing());
    // clear() gives a collection a new table even when it is empty: most ops touch only SPTEs and pfns.
    if (t.sptes.size) t.sptes.clear();
    if (t.pfns.size) t.pfns.clear();
    if (t.converted.length) t.converted = [];
    if (t.files.size) t.files.clear();
    if (t.inodes.size) t.inodes.clear();
    if (t.maps.size) t.maps.clear();
    if (t.wholeVms.size) t.wholeVms.clear();
    if (t.slotBindings.length) t.slotBindings = [];
    if (t.ranges.length) t.ranges.length = 0;
    if (t.unblocked.length) t.unblocked.length = 0;
    if (t.hvaRanges.length) t.hvaRanges.length = 0;
    // Setting an array's length is a runtime call in V8: only when there is something to drop.
    if (t.doubled.length) t.doubled.length = 0;
    const clashes = this.clashes;
    if (clashes.length) clashes.length = 0;
    let i = 0;
    for (;;) {
      const tag = s[i];
      if (tag === A.CHG_SPTES) {
        const id = s[i + 1];
        const vm = this.vms.get(id) ?? this.newVm(id);
        i = this.applyRecord(vm, vm.sptes, s, i, 3, t, this.spteNow, this.dropSpte);
      } else if (tag === A.CHG_PAGES) {
        const id = s[i + 1];
        const inode = this.inodes.get(id);
        if (!inode) throw new Error(`change stream: pages of inode ${id}, which the stream never made`);
        i = this.applyRecord(inode, inode.pages, s, i, 5, t, this.pageNow, this.dropPage);
      } else if (tag === A.CHG_INODE) {
        const id = s[i + 1];
        const inode = this.inodes.get(id);
        if (!inode) this.inodes.set(id, { id, npages: s[i + 2], kind: s[i + 3], gmemFlags: s[i + 4], pages: new IntMap() });
        else inode.npages = s[i + 2]; // a memfd's size changes (INODE_RESIZE)
        const n = s[i + 5];
        i += 6;
        // All its PRIVATE runs (an inode made, or resized; a conversion sends the runs around it, CHG_ATTRS).
        const runs: Run[] = [];
        for (let k = 0; k < n; k++, i += 2) runs.push([s[i], s[i + 1]]);
        noteConverted(id, this.attrs.get(id)?.toArray() ?? [], runs, t);
        if (runs.length) this.attrs.set(id, RunList.from(runs));
        else this.attrs.delete(id);
        t.inodes.add(id);
      } else if (tag === A.CHG_BLOCKED) {
        i = this.applyBlocked(s, i, t);
      } else if (tag === A.CHG_ATTRS) {
        i = this.applyAttrs(s, i, t);
      } else if (tag === A.CHG_SLOT) {
        i = this.applySlot(s, i, t);
      } else if (tag === A.CHG_BINDING) {
        this.binding(s[i + 1], s[i + 2], s[i + 3], s[i + 4]);
        i += 5;
      } else if (tag === A.CHG_FILE) {
        const f: CFile = { id: s[i + 1], inode: s[i + 2], vm: s[i + 3], rights: s[i + 4], bindings: new BlockList(), blocked: new RunList() };
        const n = s[i + 5];
        i += 6;
        for (let k = 0; k < n; k++, i += 3) f.bindings.push({ pgoff: s[i], npages: s[i + 1], slot: s[i + 2] });
        const blocked: Run[] = [];
        const b = s[i++];
        for (let k = 0; k < b; k++, i += 2) blocked.push([s[i], s[i + 1]]);
        f.blocked = RunList.from(blocked);
        this.setFile(f, t);
        t.files.add(f.id);
      } else if (tag === A.CHG_VM) {
        const id = s[i + 1];
        const vm = this.vms.get(id) ?? this.newVm(id);
        const n = s[i + 2];
        i += 3;
        i = this.applySlots(vm, s, i, n, t);
        const ctx = s[i++];
        if (ctx !== vm.ctx) t.wholeVms.add(id);
        vm.ctx = ctx;
      } else if (tag === A.CHG_MAP) {
        const m: SnapMap = { id: s[i + 1], hva: s[i + 2], npages: s[i + 3], inode: s[i + 4], pgoff: s[i + 5], rights: s[i + 6], file: s[i + 7], cow: s[i + 8] };
        this.setMap(m);
        t.maps.set(m.id, m);
        i += 9;
      } else if (tag === A.CHG_GONE) {
        this.gone(s[i + 1], s[i + 2], t);
        i += 3;
      } else if (tag === A.CHG_END) {
        this.gmemPages = s[i + 1];
        this.anonPages = s[i + 2];
        this.detachedGmem = s[i + 5] ?? 0;
        this.detachedAnon = s[i + 6] ?? 0;
        break;
      } else {
        throw new Error(`change stream: unexpected tag ${tag} at word ${i}`);
      }
    }
    for (const p of clashes) {
      const other = this.byPfn.get(p.pfn);
      if (other === p) continue;
      // Still held by another live page: a pfn in two pages. Otherwise that page went later in the stream.
      if (other && this.inodes.get(other.inode)?.pages.get(other.pgoff) === other) t.doubled.push(p);
      else this.byPfn.set(p.pfn, p);
    }
    return t;
  }

  /** Whether a change stream changes nothing here: only its closing record, with the counts as kept. */
  unchangedBy(s: Float64Array): boolean {
    return s[0] === A.CHG_END && s[1] === this.gmemPages && s[2] === this.anonPages && (s[5] ?? 0) === this.detachedGmem && (s[6] ?? 0) === this.detachedAnon;
  }

  /**
   * A CHG_PAGES or CHG_SPTES record at s[i] over `map` (the inode's pages, the VM's SPTEs), `width` words an entry
   * with its key first: each entry it lists is taken by `now` with what the map held at its key, and what [start,
   * end) held and the record no longer lists goes by `drop`. Returns the index after the record.
   */
  private applyRecord<O, V>(owner: O, map: IntMap<V>, s: Float64Array, i: number, width: number, t: Touched, now: (this: CoreState, owner: O, old: V | undefined, s: Float64Array, w: number, t: Touched) => void, drop: (this: CoreState, owner: O, x: V, t: Touched) => void): number {
    const start = s[i + 2];
    const end = s[i + 3];
    const at = i + 5;
    const stop = at + s[i + 4] * width;
    if (end - start <= map.size) {
      // A range smaller than the map (most records: a few pages): walked beside the record's entries (ascending, as
      // the change log lists them), one lookup a key.
      let w = at;
      for (let k = start; k < end; k++) {
        const x = map.get(k);
        if (w < stop && s[w] === k) {
          now.call(this, owner, x, s, w, t);
          w += width;
        } else if (x !== undefined) drop.call(this, owner, x, t);
      }
      // (An entry listed outside the range: none from the change log, still taken as listed.)
      for (; w < stop; w += width) now.call(this, owner, map.get(s[w]), s, w, t);
    } else {
      // Else the map is walked (its iteration skips what is deleted on the way and goes on: no copy of its keys).
      map.forEach((x, k) => {
        if (k >= start && k < end && !listed(s, at, (stop - at) / width, width, k)) drop.call(this, owner, x, t);
      });
      for (let w = at; w < stop; w += width) now.call(this, owner, map.get(s[w]), s, w, t);
    }
    return stop;
  }

  /** The page a CHG_PAGES record lists at word w, where the inode held `old`. */
  private pageNow(inode: CInode, old: CPage | undefined, s: Float64Array, w: number, t: Touched): void {
    const pgoff = s[w];
    const pfn = s[w + 1];
    const flags = s[w + 3];
    const ctx = s[w + 4];
    if (old && old.pfn === pfn && old.flags === flags && old.ctx === ctx) return;
    if (old) this.dropPage(inode, old, t);
    this.addPage(inode, { inode: inode.id, pgoff, pfn, flags, ctx }, t, this.clashes);
  }

  /** The SPTE a CHG_SPTES record lists at word w, where the VM held `old`. */
  private spteNow(vm: CVm, old: CSpte | undefined, s: Float64Array, w: number, t: Touched): void {
    const gfn = s[w];
    const pfn = s[w + 1];
    const rights = s[w + 2];
    if (old && old.pfn === pfn && old.rights === rights) return;
    if (old) this.dropSpte(vm, old);
    this.addSpte(vm, { vm: vm.id, gfn, pfn, rights }, t);
  }

  private newVm(id: number): CVm {
    const vm: CVm = { id, slots: new BlockList(), byGfn: new BlockList(), sptes: new IntMap(), ctx: id + 1 };
    this.vms.set(id, vm);
    return vm;
  }

  private gone(kind: number, id: number, t: Touched): void {
    if (kind === A.CHG_INODE) {
      const inode = this.inodes.get(id);
      if (inode) for (const p of [...inode.pages.values()]) this.dropPage(inode, p, t);
      this.inodes.delete(id);
      this.attrs.delete(id);
      t.inodes.add(id);
    } else if (kind === A.CHG_FILE) {
      const f = this.files.get(id);
      if (f) {
        this.fileRanges(f, undefined, t);
        this.unlistFile(f);
      }
      this.files.delete(id);
      t.files.add(id);
    } else if (kind === A.CHG_VM) {
      const vm = this.vms.get(id);
      if (vm) {
        for (const e of [...vm.sptes.values()]) this.dropSpte(vm, e);
        for (const sl of vm.slots) this.hva.removeSlot(sl);
      }
      this.vms.delete(id);
    } else if (kind === A.CHG_MAP) {
      const m = this.maps.get(id);
      if (m) {
        t.maps.set(id, m);
        if (m.cow >= 0) this.copiesOf.delete(m.cow);
        this.hva.removeMap(m);
      }
      this.maps.delete(id);
    }
  }
}

/** Is key (a pgoff or gfn) among the n entries of `words` words from `at` of a stream, ascending by their first word? */
export function listed(s: Float64Array, at: number, n: number, words: number, key: number): boolean {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = s[at + mid * words];
    if (k === key) return true;
    if (k < key) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/** The pages of inode `id` whose attribute differs between runs `before` and `now`, noted in t.converted. */
function noteConverted(id: number, before: Runs, now: Runs, t: Touched): void {
  if (sameRanges(before, now)) return;
  const d = coverageDiff(before, now);
  for (const [lo, hi] of d.gained) t.converted.push(id, lo, hi);
  for (const [lo, hi] of d.lost) t.converted.push(id, lo, hi);
}

/** A CHG_ATTRS or CHG_BLOCKED record at s[i]: its object, range and the runs it lists; `next`, the index after it. */
function readAround(s: Float64Array, i: number): { id: number; start: number; end: number; now: Array<[number, number]>; next: number } {
  const n = s[i + 4];
  const now: Array<[number, number]> = [];
  for (let k = 0, at = i + 5; k < n; k++, at += 2) now.push([s[at], s[at + 1]]);
  return { id: s[i + 1], start: s[i + 2], end: s[i + 3], now, next: i + 5 + 2 * n };
}

function sameRanges(a: ReadonlyArray<readonly [number, number]>, b: ReadonlyArray<readonly [number, number]>): boolean {
  return a.length === b.length && a.every(([x, y], k) => x === b[k][0] && y === b[k][1]);
}

type Runs = ReadonlyArray<readonly [number, number]>;

/** What a change of a list of ranges did to the pages it covers: [start, end) runs, ascending, none touching the next. */
export interface CoverageDiff {
  /** Covered now (by b) and not before (by a). */
  gained: Array<[number, number]>;
  /** Covered before and not now. */
  lost: Array<[number, number]>;
}

/**
 * The pages one list of runs (ascending and merged, as the core lists blocked windows: core-abi.ts) covers and
 * another does not, both ways: a window blocked next to another makes the two one run, and only the new pages are
 * gained. The two lists' edges are walked in order, where the number of a list's edges passed says whether a page
 * is in one of its runs (odd: inside).
 */
export function coverageDiff(a: Runs, b: Runs): CoverageDiff {
  const d: CoverageDiff = { gained: [], lost: [] };
  const edge = (r: Runs, k: number) => (k < r.length * 2 ? r[k >> 1][k & 1] : Infinity);
  let i = 0;
  let j = 0;
  for (let at = Math.min(edge(a, 0), edge(b, 0)); at !== Infinity; ) {
    while (edge(a, i) === at) i++;
    while (edge(b, j) === at) j++;
    const next = Math.min(edge(a, i), edge(b, j));
    const inA = (i & 1) === 1;
    const inB = (j & 1) === 1;
    if (next !== Infinity && inA !== inB) {
      const out = inB ? d.gained : d.lost;
      const last = out[out.length - 1];
      if (last && last[1] === at) last[1] = next;
      else out.push([at, next]);
    }
    at = next;
  }
  return d;
}

/** Memslot `slot` from its six words at s[at] (base_gfn, npages, flags, file, pgoff, uaddr_page: core-abi.ts CHG_VM, CHG_SLOT). */
function slotAt(slot: number, s: Float64Array, at: number): SnapSlot {
  return { slot, base: s[at], npages: s[at + 1], flags: s[at + 2], file: s[at + 3], pgoff: s[at + 4], uaddr: s[at + 5] };
}

/** Whether memslot o is what its six words at s[at] say. */
function sameSlot(o: SnapSlot, s: Float64Array, at: number): boolean {
  return o.base === s[at] && o.npages === s[at + 1] && o.flags === s[at + 2] && o.file === s[at + 3] && o.pgoff === s[at + 4] && o.uaddr === s[at + 5];
}

const slotId = (sl: SnapSlot) => sl.slot;
/** The keys of a VM's memslots by gfn and of a file's bindings (invariants.ts searches them too). */
export const slotBase = (sl: SnapSlot) => sl.base;
export const bindingPgoff = (b: CBinding) => b.pgoff;
const byBinding = (a: CBinding, b: CBinding) => a.pgoff - b.pgoff || a.slot - b.slot;

/**
 * Pairs the records of two lists ascending by `order` (a record in one list with no equal in the other is paired
 * with undefined), calling visit(before, after) for each pair, in one walk of both.
 */
function diffLists<T>(a: readonly T[], b: readonly T[], order: (a: T, b: T) => number, visit: (a: T | undefined, b: T | undefined) => void): void {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const c = i === a.length ? 1 : j === b.length ? -1 : order(a[i], b[j]);
    if (c === 0) visit(a[i++], b[j++]);
    else if (c < 0) visit(a[i++], undefined);
    else visit(undefined, b[j++]);
  }
}

/** Adds id to the set of `key` in an index of ids. */
function list(index: Map<number, Set<number>>, key: number, id: number): void {
  let ids = index.get(key);
  if (!ids) index.set(key, (ids = new Set()));
  ids.add(id);
}

/** Takes id out of the set of `key` (the set goes with its last id). */
function unlist(index: Map<number, Set<number>>, key: number, id: number): void {
  const ids = index.get(key);
  ids?.delete(id);
  if (ids && ids.size === 0) index.delete(key);
}
