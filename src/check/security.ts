/**
 * The security properties of SPEC §4 that the state can break, one function
 * per item (an SPTE, a donation, a move) so that a check can look at just
 * what an op changed (checker.ts) or at everything; the history's own
 * judgements are in history.ts. A failure here is a flaw in the policy under
 * test (the engine did what the policy allowed).
 */
import * as A from "../abi/core-abi.js";
import type { CoreState, CSpte, CVm } from "./state.js";
import type { Donation, History } from "./history.js";
import { hex, slotOf } from "./invariants.js";
import { violation, type Violation } from "./violation.js";


/** 3, 4, 5 and 6 for one SPTE (in memslot `slot`, if the caller has found it). */
export function checkSpteSecurity(st: CoreState, h: History, vm: CVm, sp: CSpte, out: Violation[], slot = slotOf(vm, sp.gfn)): void {
  const page = st.byPfn.get(sp.pfn);
  // 5. No use after free.
  if (!page) {
    out.push(violation("5 no use after free", `@vm:${vm.id} maps gfn ${hex(sp.gfn)} to pfn ${sp.pfn}, which no live inode holds`));
    return;
  }
  // 6. Right key.
  if (page.flags & A.PG_PRIVATE && page.ctx !== vm.ctx)
    out.push(violation("6 right key", `@vm:${vm.id} (context ${vm.ctx}) maps gfn ${hex(sp.gfn)}${sp.rights & A.SPTE_PRIVATE ? " private" : ""}, a page of @inode:${page.inode} prepared private under context ${page.ctx}`));
  // 3. The donor maps nothing in a window it donated: no page of the window through the donor file's memslots.
  // The page mapped decides, not the memslot's pgoff: a shared gfn of a memslot that is not gmem-only maps its
  // userspace_addr's page, not the gmem file's (SPEC §2, vcpu_access).
  if (h.donationsOf.donors && slot && slot.file >= 0) {
    for (const d of h.donationsOf.over(slot.file, page.pgoff, page.pgoff + 1)) {
      if (d.vm === vm.id && page.inode === d.inode)
        out.push(violation("3 donation is final", `@vm:${vm.id} maps gfn ${hex(sp.gfn)} in the window [${d.window[0]}, ${d.window[1]}) @file:${d.donor} donated`));
    }
  }
  // 3. The system design: a VM that gave an inode up by gmem_unbind maps none of it.
  if (h.gaveUp.get(vm.id)?.has(page.inode)) out.push(violation("3 donation is final", `@vm:${vm.id} maps gfn ${hex(sp.gfn)} of @inode:${page.inode}, which it gave up by gmem_unbind`));
  // 4. The source of a move maps nothing of the moved inodes.
  if (h.moved.get(vm.id)?.has(page.inode)) out.push(violation("4 migration is exclusive", `source @vm:${vm.id} still maps gfn ${hex(sp.gfn)} of moved @inode:${page.inode}`));
}

/** 3 for one donation: the donor file can no longer reach the window. */
export function checkDonorReach(st: CoreState, d: Donation, out: Violation[]): void {
  const f = st.files.get(d.donor);
  // The one blocked range that may hold the window is the one holding its first page.
  const held = f?.blocked.runAt(d.window[0]);
  if (f && !(held && held[1] >= d.window[1]))
    out.push(violation("3 donation is final", `@file:${d.donor} (@vm:${d.vm}) can still reach the window [${d.window[0]}, ${d.window[1]}) it donated`));
}

// What a policy's own properties see is the policy API's (src/policy/facts.ts).
export type { SecurityState } from "../policy/facts.js";
