/**
 * The engine invariants of SPEC §4, one function per item so that a check can
 * look at just what an op changed (checker.ts) or at everything. They read the
 * checkers' copy of the core state (state.ts) and the kernel layer's recorded
 * facts (history.ts), never live objects. A failure here is a bug in gmemsim,
 * never in a policy.
 */
import * as A from "../abi/core-abi.js";
import { bindingPgoff, slotBase, type CoreState, type CSpte, type CVm, type CFile, type CInode } from "./state.js";
import { violation, type Violation } from "./violation.js";

const STALE = "1 no stale mapping";
const BINDINGS = "2 bindings";
const ACCOUNTING = "3 accounting";

export const hex = (gfn: number) => `0x${gfn.toString(16)}`;

/** The memslot of vm holding gfn. */
export function slotOf(vm: CVm, gfn: number) {
  // Memslots of a VM never overlap: the one that starts last at or before gfn is the only one that may hold it.
  const g = vm.byGfn;
  const sl = g.at(g.lowerBound(gfn + 1, slotBase) - 1);
  return sl !== undefined && gfn < sl.base + sl.npages ? sl : undefined;
}

/** Invariant 1 for one SPTE: it reaches a present, unpoisoned page through a live path of its VM, with no more rights than the file's. */
export function checkSpteReach(st: CoreState, vm: CVm, e: CSpte, out: Violation[], slot = slotOf(vm, e.gfn)): void {
  // The sentence is built only for a violation: this runs for every SPTE an op touches.
  const where = () => `@vm:${vm.id} gfn ${hex(e.gfn)} -> pfn ${e.pfn}`;
  if (!slot) {
    out.push(violation(STALE, `SPTE ${where()} lies in no memslot`));
    return;
  }
  const page = st.byPfn.get(e.pfn);
  let rights = -1;
  if (page) {
    const file = slot.file >= 0 ? st.files.get(slot.file) : undefined;
    const pgoff = slot.pgoff + (e.gfn - slot.base);
    if (file && file.inode === page.inode && pgoff === page.pgoff && !file.blocked.has(pgoff)) rights = file.rights;
    if (rights < 0 && !(slot.flags & A.SLOT_GMEM_ONLY)) {
      const hva = slot.uaddr + (e.gfn - slot.base);
      const m = st.hva.mapAt(hva);
      if (m) {
        // A private map (HOSTMAP_COW) shows its copy where it has one, and the file's page, never writable, where not.
        const idx = hva - m.hva;
        if (m.cow >= 0 && st.inodes.get(m.cow)?.pages.has(idx)) {
          if (page.inode === m.cow && page.pgoff === idx) rights = A.RIGHTS_ALL;
        } else if (m.inode === page.inode) {
          const mp = m.pgoff + idx;
          const through = m.file >= 0 ? st.files.get(m.file) : undefined;
          if (mp === page.pgoff && !(through && through.blocked.has(mp))) rights = m.cow >= 0 ? A.RIGHTS_ALL & ~A.RIGHT_W : A.RIGHTS_ALL;
        }
      }
    }
  }
  if (rights < 0) {
    out.push(violation(STALE, `SPTE ${where()} (slot ${slot.slot}) points at no page reachable through its slot`));
    return;
  }
  if (page!.flags & A.PG_HWPOISON) out.push(violation(STALE, `SPTE ${where()} maps a poisoned page`));
  if (e.rights & A.RIGHTS_ALL & ~rights) out.push(violation(STALE, `SPTE ${where()} has rights ${e.rights} beyond the file's ${rights}`));
}

/** Invariant 2 for one file: its bindings never overlap, and bind a slot of the file's own VM that names the file. */
export function checkBindings(st: CoreState, f: CFile, out: Violation[]): void {
  checkBindingRun(st, f, 0, f.bindings.length, out);
}

/**
 * checkBindings() where a changed memslot's binding lies (at pgoff, as it was or as it is): the bindings that
 * start there and their neighbours on each side, the only ones such a change can make overlap or leave stale.
 */
export function checkBindingsAt(st: CoreState, f: CFile, pgoff: number, out: Violation[]): void {
  const bs = f.bindings;
  const from = bs.lowerBound(pgoff, bindingPgoff);
  let to = from;
  while (to < bs.length && bs.at(to)!.pgoff === pgoff) to++;
  checkBindingRun(st, f, Math.max(0, from - 1), Math.min(bs.length, to + 1), out);
}

/** Bindings [from, to) of f (ascending pgoff, as the core lists them: core-abi.ts SNAP_FILE, CHG_FILE): no two overlap, each names a memslot bound to f. */
function checkBindingRun(st: CoreState, f: CFile, from: number, to: number, out: Violation[]): void {
  const bs = f.bindings;
  for (let k = from + 1; k < to; k++) {
    const a = bs.at(k - 1)!;
    const b = bs.at(k)!;
    if (b.pgoff < a.pgoff + a.npages) out.push(violation(BINDINGS, `@file:${f.id} (@vm:${f.vm}) binds pages ${b.pgoff} twice (slots ${a.slot}, ${b.slot})`));
  }
  for (let k = from; k < to; k++) {
    const b = bs.at(k)!;
    const slot = st.slotOfVm(f.vm, b.slot);
    if (!slot || slot.file !== f.id) out.push(violation(BINDINGS, `@file:${f.id} binding at pgoff ${b.pgoff} names slot ${b.slot}, which is not bound to it in @vm:${f.vm}`));
  }
}

/** Invariant 3, the totals: the host's page counts equal the pages live inodes hold. */
export function checkTotals(st: CoreState, out: Violation[]): void {
  // Profile next: frames truncated while pinned stay allocated outside any inode until unpinned (SPEC-next §4).
  if (st.heldGmem + st.detachedGmem !== st.gmemPages) out.push(violation(ACCOUNTING, `host counts ${st.gmemPages} gmem pages, live inodes hold ${st.heldGmem} and pins ${st.detachedGmem} detached`));
  if (st.heldAnon + st.detachedAnon !== st.anonPages) out.push(violation(ACCOUNTING, `host counts ${st.anonPages} anon pages, live inodes hold ${st.heldAnon} and pins ${st.detachedAnon} detached`));
}

/** Invariant 3, one pfn held by two pages. */
export function checkDoubled(st: CoreState, doubled: Iterable<{ pfn: number }>, out: Violation[]): void {
  for (const p of doubled) out.push(violation(ACCOUNTING, `pfn ${p.pfn} is in two pages`));
}

/** Invariant 3, one inode: a gmem inode lives in the core exactly while the kernel layer has it open. */
export function checkInodeLife(id: number, inode: CInode | undefined, open: boolean, out: Violation[]): void {
  if (inode && inode.kind === A.INODE_GMEM && !open) out.push(violation(ACCOUNTING, `gmem @inode:${id} outlived its last file (leak)`));
  if (!inode && open) out.push(violation(ACCOUNTING, `gmem @inode:${id} is open but the core freed it`));
}
