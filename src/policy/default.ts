/**
 * The default policy, as the 2023 discussion sketches it: the owner (the file
 * create_guest_memfd made) has every right and alone may link; a linked file
 * gets exactly what was asked, which may not include alloc or punch (only the
 * owner allocates or punches); a donated window leaves the donor; a migrating
 * file is gated until the move.
 */
import type { Decision, Policy } from "./types.js";
import { overlapsRanges } from "../ranges.js";

const allow: Decision = { allow: true };
const deny = (reason: string): Decision => ({ allow: false, reason });

export const defaultPolicy: Policy = {
  name: "default",
  link({ source, mode, perm, window }) {
    if (!source.owner) return deny("only the owner of the memory may link it to another VM");
    if (source.migrating) return deny("a migrating file is gated until move_enc_context_from");
    if (overlapsRanges(source.donated, window[0], window[1])) return deny("the window was donated away: the donor no longer holds it");
    if (mode === "migrate") return allow;
    if (perm.includes("alloc") || perm.includes("punch")) return deny("only the owner allocates or punches: a linked file may not be granted alloc or punch");
    return { allow: true, perm };
  },
  fallocate({ file, op, range }) {
    if (file.migrating) return deny("a migrating file is gated until move_enc_context_from");
    if (overlapsRanges(file.donated, range[0], range[1])) return deny("the range lies in a window this file donated away");
    if (!file.perm.includes(op)) return deny(`the file lacks the ${op} permission`);
    return allow;
  },
  bind(req) {
    if (req.kind !== "memslot") return deny("the inode/file design has no system-scoped gmem to bind");
    if (overlapsRanges(req.file.donated, req.pgoff, req.pgoff + req.npages)) return deny("the range lies in a window this file donated away");
    return allow;
  },
  migrate() {
    return allow;
  },
  // Conversion changes what every view sees, as a punch does: only the owner converts.
  convert({ file, range }) {
    if (file.migrating) return deny("a migrating file is gated until move_enc_context_from");
    if (overlapsRanges(file.donated, range[0], range[1])) return deny("the range lies in a window this file donated away");
    if (!file.perm.includes("punch")) return deny("only the owner converts: the file lacks the punch permission");
    return allow;
  },
  // A page prepared under another VM's key is never mapped: the thread's reason why rebinding is unsafe.
  foreign() {
    return "refuse";
  },
};
