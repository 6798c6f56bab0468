/**
 * Engine invariants of profile next (SPEC-next.md §4), beside the base ones:
 * with in-place conversion, privateness belongs to the gmem inode, so every
 * SPTE must agree with the attribute of the page it maps: one installed by a
 * private access maps a PRIVATE page, any other a shared one. (A conversion
 * zaps its range in every file of the inode, so no SPTE outlives one.) Checked
 * over the whole state in full checks, and after each op for the SPTEs it
 * touched and those through an inode whose runs it changed, from the runs the
 * snapshot and the change stream carry. Frames detached from their file while
 * pinned are accounted by invariant 3 (checkTotals).
 */
import * as A from "../abi/core-abi.js";
import type { CoreState, CSpte, CVm } from "./state.js";
import { violation, type Violation } from "./violation.js";
import { slotOf } from "./invariants.js";

/** Invariant 1, extended, for one SPTE: its privateness equals the inode attribute of the page it maps through a gmem binding. */
export function checkSpteInPlace(st: CoreState, vm: CVm, e: CSpte, out: Violation[], slot = slotOf(vm, e.gfn)): void {
  if (!slot || slot.file < 0) return;
  const file = st.files.get(slot.file);
  if (!file) return;
  const pgoff = slot.pgoff + (e.gfn - slot.base);
  const priv = st.attrs.get(file.inode)?.has(pgoff) ?? false;
  const sptePriv = (e.rights & A.SPTE_PRIVATE) !== 0;
  if (priv !== sptePriv)
    out.push(violation("1 no stale mapping", `@vm:${vm.id} gfn 0x${e.gfn.toString(16)} is mapped ${sptePriv ? "private" : "shared"}, but @inode:${file.inode} page ${pgoff} is ${priv ? "PRIVATE" : "shared"} (in-place conversion)`));
}

/** The same over every SPTE. */
export function checkInPlace(st: CoreState, out: Violation[]): void {
  for (const vm of st.vms.values()) for (const e of vm.sptes.values()) checkSpteInPlace(st, vm, e, out);
}
