// A deliberately flawed policy: the default policy, except that a donor is kept
// from punching its donated window but may still allocate in it. Donation is
// meant to be final (the donor touches nothing of the window again): the
// "donation is final" security property catches the allocation.

const deny = (reason) => ({ allow: false, reason });
const overlaps = (ranges, s, e) => ranges.some(([a, b]) => s < b && a < e);

export default {
  name: "flawed-donor-allocates",
  link({ source, mode, perm, window }) {
    if (!source.owner) return deny("only the owner links");
    if (source.migrating) return deny("a migrating file is gated until the move");
    if (overlaps(source.donated, window[0], window[1])) return deny("that window was donated away");
    if (mode === "migrate") return { allow: true };
    if (perm.includes("alloc") || perm.includes("punch")) return deny("only the owner allocates or punches");
    return { allow: true, perm };
  },
  fallocate({ file, op, range }) {
    if (file.migrating) return deny("a migrating file is gated until the move");
    // The flaw: only punching is checked against the donated windows.
    if (op === "punch" && overlaps(file.donated, range[0], range[1])) return deny("that window was donated away");
    return file.perm.includes(op) ? { allow: true } : deny(`the file lacks ${op}`);
  },
  bind({ file, pgoff, npages }) {
    return overlaps(file.donated, pgoff, pgoff + npages) ? deny("that window was donated away") : { allow: true };
  },
};
