// A deliberately flawed policy: the default policy, except that the test for
// "does this range meet a donated window" is off by one at the window's end, so
// the donor may still allocate, punch and bind the last page of a window it
// donated. The "donation is final" security property catches it, but only a
// trace that aims exactly at that page shows it.

const deny = (reason) => ({ allow: false, reason });
// The flaw: `s < b - 1` where `s < b` is meant; [s, e) meets [a, b) when s < b && a < e.
const overlaps = (ranges, s, e) => ranges.some(([a, b]) => s < b - 1 && a < e);

export default {
  name: "flawed-window-end",
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
    if (overlaps(file.donated, range[0], range[1])) return deny("that window was donated away");
    return file.perm.includes(op) ? { allow: true } : deny(`the file lacks ${op}`);
  },
  bind({ file, pgoff, npages }) {
    return overlaps(file.donated, pgoff, pgoff + npages) ? deny("that window was donated away") : { allow: true };
  },
};
