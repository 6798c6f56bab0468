/**
 * Checking a run as it goes. A Checker keeps a copy of the core state (state.ts)
 * current from the core's change stream and reads the kernel layer's history
 * as it grows (history.ts); after each op, step() checks only what the op
 * changed: the SPTEs it installed or that map a page it changed, the objects it
 * made, changed or removed, the facts it recorded. full() checks everything,
 * from a fresh full snapshot and the whole history, and first compares that
 * snapshot with the copy kept from the change stream, so that the incremental
 * check is itself checked (at the end of a run, and in tests).
 *
 * Violations carry ids (violation.ts); whoever reports them names the objects.
 */
import * as A from "../abi/core-abi.js";
import type { Core } from "../core/core.js";
import type { HostEvent } from "../kvm/host.js";
import type { Policy } from "../policy/types.js";
import { CoreState, Ids, type CPage, type CSpte, type CVm, type Touched } from "./state.js";
import { History, type HistoryNews } from "./history.js";
import { checkBindings, checkBindingsAt, checkDoubled, checkInodeLife, checkSpteReach, checkTotals, slotOf } from "./invariants.js";
import { checkDonorReach, checkSpteSecurity } from "./security.js";
import { checkInPlace, checkSpteInPlace } from "./inplace.js";
import { readSnapshot } from "./snapshot.js";
import { diffKept } from "./kept.js";
import { checkPolicyProperties } from "./properties.js";
import { render, violation, type Namer, type Violation } from "./violation.js";

/** What a check reads: the core (through snapshots and change streams), the recorded history, the policy's own properties. */
export interface CheckSource {
  readonly core: Core;
  readonly events: readonly HostEvent[];
  readonly policy: Pick<Policy, "name" | "properties">;
  /** The kernel profile: with in-place conversion, full checks add SPEC-next §4's invariant (inplace.ts). */
  readonly profile?: { readonly inPlace: boolean };
}

export interface CheckReport {
  /** Engine invariants broken: bugs in gmemsim. */
  invariants: Violation[];
  /** Security properties broken: flaws in the policy. */
  security: Violation[];
}

/** The answer of a check that found nothing (shared: its readers only look). */
const CLEAN: CheckReport = Object.freeze({ invariants: Object.freeze([]) as unknown as Violation[], security: Object.freeze([]) as unknown as Violation[] });

export class Checker {
  private state: CoreState;
  private history = new History();
  private first = true;
  private readonly hasProperties: boolean;
  /** A step's violations as found (emptied when it reports them). */
  private readonly inv: Violation[] = [];
  private readonly sec: Violation[] = [];

  /**
   * `emptyCore`: the caller knows the core holds nothing (reset, and no command pushed since), so the kept state
   * starts empty without a snapshot (fuzzing makes a checker per trace on cores reset for it).
   */
  constructor(
    private readonly src: CheckSource,
    emptyCore = false,
  ) {
    this.hasProperties = Object.keys(src.policy.properties ?? {}).length > 0;
    src.core.trackChanges(true);
    this.state = emptyCore ? new CoreState() : CoreState.fromSnapshot(src.core.snapshot());
    // A checker made on an empty host (nothing made, nothing recorded) has nothing to check beyond what the first
    // op changes; on anything else the first step checks everything that was there before it.
    const st = this.state;
    this.first = st.inodes.size + st.files.size + st.vms.size + st.maps.size > 0 || src.events.length > 0;
  }

  /** Stop the core's change log (a checker is done with). */
  close(): void {
    this.src.core.trackChanges(false);
  }

  /**
   * After an op: checks what changed since the last step (everything, the first time). `lastWasClean`: the
   * caller stops at the first violation, so the last check found none; then an op whose change stream holds
   * nothing but the closing counts, unchanged, and that recorded no fact, gets that answer again without the
   * check (every input of the check is as the last one left it).
   */
  step(lastWasClean = false): CheckReport {
    if (this.first) return this.full();
    const st = this.state;
    const changes = this.src.core.changes();
    if (lastWasClean && this.history.readAll(this.src.events) && st.unchangedBy(changes)) return CLEAN;
    // Into the checker's own lists, copied out only when something broke: most steps find nothing.
    const inv = this.inv;
    const sec = this.sec;
    // (Left over only by a step that threw: a policy's property.)
    if (inv.length) inv.length = 0;
    if (sec.length) sec.length = 0;
    const t = st.apply(changes);
    const news = this.history.read(this.src.events, sec);
    const sptes = this.affected(t, news);
    const inPlace = this.src.profile?.inPlace === true;
    for (const e of sptes) {
      const vm = st.vms.get(e.vm);
      if (!vm || vm.sptes.get(e.gfn) !== e) continue;
      // Its memslot, found once for the three.
      const slot = slotOf(vm, e.gfn);
      checkSpteReach(st, vm, e, inv, slot);
      checkSpteSecurity(st, this.history, vm, e, sec, slot);
      if (inPlace) checkSpteInPlace(st, vm, e, inv, slot);
    }
    // In-place conversion: the pages whose attribute changed are checked through every binding of their inode (a
    // conversion zaps through all of them).
    if (inPlace && t.converted.length) for (const e of this.throughInodes(t.converted)) if (!sptes.has(e)) checkSpteInPlace(st, st.vms.get(e.vm)!, e, inv);
    // A file whose record came is checked whole (its record listed every binding); a changed memslot's binding
    // where it lies, with its neighbours.
    for (const id of t.files.list) {
      const f = st.files.get(id);
      if (f) checkBindings(st, f, inv);
    }
    for (let k = 0; k < t.slotBindings.length; k += 2) {
      const f = t.files.has(t.slotBindings[k]) ? undefined : st.files.get(t.slotBindings[k]);
      if (f) checkBindingsAt(st, f, t.slotBindings[k + 1], inv);
    }
    checkTotals(st, inv);
    checkDoubled(st, t.doubled, inv);
    for (const id of t.inodes.list) checkInodeLife(id, st.inodes.get(id), this.history.openInodes.has(id), inv);
    for (const id of news.inodes) if (!t.inodes.has(id)) checkInodeLife(id, st.inodes.get(id), this.history.openInodes.has(id), inv);
    for (const d of news.donations) checkDonorReach(st, d, sec);
    // An earlier donation is looked at again where its donor file stopped blocking pgoffs (state.ts notes them).
    const u = t.unblocked;
    for (let k = 0; k < u.length; k += 3)
      for (const d of this.history.donationsOf.over(u[k], u[k + 1], u[k + 2])) if (!news.donations.includes(d)) checkDonorReach(st, d, sec);
    this.properties(sec);
    if (!inv.length && !sec.length) return CLEAN;
    const report = { invariants: inv.slice(), security: sec.slice() };
    inv.length = 0;
    sec.length = 0;
    return report;
  }

  /** The SPTEs an op may have affected: changed ones, those on a changed page, and all of a changed VM's, file's VM's, map's range's, new donor's, new source's, and those through the bindings a gmem_unbind gave up. */
  private affected(t: Touched, news: HistoryNews): Set<CSpte> {
    const st = this.state;
    // Most ops change nothing beyond their own SPTEs and pages.
    if (!t.pfns.size && !t.ranges.length && !t.wholeVms.size && !t.files.size && !t.maps.size && !t.hvaRanges.length && news.donations.length === 0 && news.moves.length === 0 && news.gaveUp.length === 0) return t.sptes;
    // Into the touched set itself (the state's, cleared at its next apply): no new set per op.
    const out = t.sptes;
    // (No `?? []` fallbacks: most pfns have no mapper, and each would be an array to iterate.)
    const wholeVm = (id: number) => {
      const vm = st.vms.get(id);
      if (vm) for (const e of vm.sptes.values()) out.add(e);
    };
    for (const pfn of t.pfns) st.addMappersTo(pfn, out);
    // A VM's memslots or a file that changed: the SPTEs of the memslots they concern (state.ts notes them).
    for (const id of t.wholeVms.list) wholeVm(id);
    const r = t.ranges;
    for (let k = 0; k < r.length; k += 3) {
      const vm = st.vms.get(r[k]);
      if (vm) spteRange(vm, r[k + 1], r[k + 2], out);
    }
    // A map made or gone, or one through a file whose blocked ranges may have grown, changes what the shared path
    // reaches: every SPTE through a memslot over the map's range, in any VM.
    const mapRange = (m: { hva: number; npages: number }) => {
      st.hva.slotsOver(m.hva, m.hva + m.npages, (id, sl) => {
        const vm = st.vms.get(id);
        const lo = Math.max(m.hva, sl.uaddr);
        const hi = Math.min(m.hva + m.npages, sl.uaddr + sl.npages);
        if (vm && lo < hi) spteRange(vm, sl.base + (lo - sl.uaddr), sl.base + (hi - sl.uaddr), out);
      });
    };
    for (const id of t.files.list) for (const m of st.hva.mapsOfFile(id)) mapRange(m);
    for (const m of t.maps.values()) mapRange(m);
    const hr = t.hvaRanges;
    for (let k = 0; k < hr.length; k += 2) mapRange({ hva: hr[k], npages: hr[k + 1] });
    // A private map's new copy (core-abi.ts HOSTMAP_COW) changes what the shared path reaches at its hva page: an
    // SPTE left on the file's page there would be stale, and it maps no page that changed.
    if (st.copiesOf.size) {
      for (const pfn of t.pfns) {
        const p = st.byPfn.get(pfn);
        const m = p && st.copiesOf.get(p.inode);
        if (m) mapRange({ hva: m.hva + p.pgoff, npages: 1 });
      }
    }
    // A donation: the donor's SPTEs over the window, through the donor file's memslots (property 3 looks there);
    // the file's own change, when the core made it, reaches the same gfns (state.ts).
    const gfns = into(st, out);
    for (const d of news.donations) {
      const f = st.files.get(d.donor);
      if (f) for (const b of f.bindings) st.bindingGfns(f, b, d.window[0], d.window[1], gfns);
    }
    for (const m of news.moves) wholeVm(m.src);
    // A VM that gave an inode up: the gfns its files of the inode still bind (none once the release ran; those the
    // state still holds when it did not). An SPTE of the inode elsewhere in the VM was stale before the op.
    for (const g of news.gaveUp) for (const f of st.filesOfVm(g.vm)) if (f.inode === g.inode) for (const b of f.bindings) st.bindingGfns(f, b, 0, Infinity, gfns);
    return out;
  }

  /** The SPTEs through which the files of an inode show these pgoffs (flat [inode, start, end] triples). */
  private throughInodes(ranges: readonly number[]): Set<CSpte> {
    const st = this.state;
    const out = new Set<CSpte>();
    const gfns = into(st, out);
    for (let k = 0; k < ranges.length; k += 3)
      for (const f of st.filesOf(ranges[k])) for (const b of f.bindings) st.bindingGfns(f, b, ranges[k + 1], ranges[k + 2], gfns);
    return out;
  }

  private properties(sec: Violation[]): void {
    const props = this.src.policy.properties;
    if (!props || !this.hasProperties) return;
    // A policy's own properties may read anything: they get the whole state, at the cost of a full snapshot.
    checkPolicyProperties(props, { snapshot: readSnapshot(this.src.core.snapshot()), events: this.src.events }, sec);
  }

  /**
   * Everything, from a fresh full snapshot (or `snapshot`, one the caller just took) and the whole history; the
   * state kept so far must equal the snapshot (kept.ts), and is then what the checks read (the snapshot's state
   * when it differs).
   */
  full(snapshot?: Float64Array): CheckReport {
    const inv: Violation[] = [];
    const sec: Violation[] = [];
    this.state.apply(this.src.core.changes());
    const s = snapshot ?? this.src.core.snapshot();
    const doubled: CPage[] = [];
    const diff = diffKept(this.state, s, doubled);
    if (diff) {
      inv.push(violation("0 change log", `the state kept from the core's change stream differs from its snapshot: ${diff}`));
      this.state = CoreState.fromSnapshot(s);
    } else this.state.doubled = doubled;
    this.history = new History();
    this.first = false;
    checkEverything(this.state, this.history, this.src.events, inv, sec);
    if (this.src.profile?.inPlace) checkInPlace(this.state, inv);
    this.properties(sec);
    return { invariants: inv, security: sec };
  }
}

/** A receiver of gfn ranges (CoreState.bindingGfns()) that adds the SPTEs there to `out`. */
function into(st: CoreState, out: Set<CSpte>): (vm: number, start: number, end: number) => void {
  return (vm, start, end) => {
    const v = st.vms.get(vm);
    if (v) spteRange(v, start, end, out);
  };
}

function spteRange(vm: CVm, start: number, end: number, out: Set<CSpte>): void {
  if (end - start <= vm.sptes.size) {
    for (let g = start; g < end; g++) {
      const e = vm.sptes.get(g);
      if (e) out.add(e);
    }
  } else {
    for (const e of vm.sptes.values()) if (e.gfn >= start && e.gfn < end) out.add(e);
  }
}

function checkEverything(st: CoreState, h: History, events: readonly HostEvent[], inv: Violation[], sec: Violation[]): void {
  h.read(events, sec);
  for (const vm of st.vms.values()) {
    for (const e of vm.sptes.values()) {
      const slot = slotOf(vm, e.gfn);
      checkSpteReach(st, vm, e, inv, slot);
      checkSpteSecurity(st, h, vm, e, sec, slot);
    }
  }
  for (const f of st.files.values()) checkBindings(st, f, inv);
  checkTotals(st, inv);
  checkDoubled(st, st.doubled, inv);
  const ids = new Set<number>(h.openInodes);
  for (const inode of st.inodes.values()) if (inode.kind === A.INODE_GMEM) ids.add(inode.id);
  for (const id of ids) checkInodeLife(id, st.inodes.get(id), h.openInodes.has(id), inv);
  for (const d of h.donations) checkDonorReach(st, d, sec);
}

/** One full check of a source, without keeping a Checker: every invariant and property, rendered. */
function fullReport(src: CheckSource): CheckReport {
  const inv: Violation[] = [];
  const sec: Violation[] = [];
  const st = CoreState.fromSnapshot(src.core.snapshot());
  checkEverything(st, new History(), src.events, inv, sec);
  if (src.profile?.inPlace) checkInPlace(st, inv);
  const props = src.policy.properties ?? {};
  if (Object.keys(props).length) checkPolicyProperties(props, { snapshot: readSnapshot(src.core.snapshot()), events: src.events }, sec);
  return { invariants: inv, security: sec };
}

/** Every engine invariant over the source's current state; [] when all hold. */
export function checkInvariants(src: CheckSource, namer?: Namer): string[] {
  return fullReport(src).invariants.map((v) => render(v, namer));
}

/** Every security property (and the policy's own) over the state and the whole history; [] when all hold. */
export function checkSecurity(src: CheckSource, namer?: Namer): string[] {
  return fullReport(src).security.map((v) => render(v, namer));
}
