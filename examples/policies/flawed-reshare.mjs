// A deliberately flawed policy: the default policy, except that a file that was
// shared may share onward, and the new file gets whatever rights were asked for,
// not at most the rights of the file it was linked from. A VM lent memory
// read-only can then re-share it to another VM (or itself) with write access:
// the "no escalation" security property catches it.

const deny = (reason) => ({ allow: false, reason });
const overlaps = (ranges, s, e) => ranges.some(([a, b]) => s < b && a < e);

export default {
  name: "flawed-reshare-escalates",
  link({ source, mode, perm, window }) {
    // The flaw, part 1: a shared file may link too (re-sharing), not only the owner.
    if (!source.owner && source.origin !== "share") return deny("only the owner or a sharer links");
    if (source.migrating) return deny("a migrating file is gated until the move");
    if (overlaps(source.donated, window[0], window[1])) return deny("that window was donated away");
    if (mode === "migrate") return source.owner ? { allow: true } : deny("only the owner migrates");
    if (perm.includes("alloc") || perm.includes("punch")) return deny("only the owner allocates or punches");
    // The flaw, part 2: the grant is what was asked, not capped by source.perm.
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
