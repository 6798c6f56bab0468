// A sound policy, stricter than the default: sharing is read-only (r, x: never
// w), donation and migration only to a VM of the same type, and a policy
// property of its own: no linked file ever holds w.

const deny = (reason) => ({ allow: false, reason });
const overlaps = (ranges, s, e) => ranges.some(([a, b]) => s < b && a < e);

export default {
  name: "sound-readonly-sharing",
  link({ source, vm, mode, perm, window }) {
    if (!source.owner) return deny("only the owner links");
    if (source.migrating) return deny("a migrating file is gated until the move");
    if (overlaps(source.donated, window[0], window[1])) return deny("that window was donated away");
    if (mode === "migrate") return { allow: true };
    if (perm.some((p) => p === "alloc" || p === "punch")) return deny("only the owner allocates or punches");
    if (mode === "share" && perm.includes("w")) return deny("shares are read-only");
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
  migrate() {
    return { allow: true };
  },
  properties: {
    "shares are read-only"({ events }) {
      const bad = events.find((e) => e.kind === "link" && e.mode === "share" && e.perm.includes("w"));
      return bad ? `file ${bad.file} was shared with w` : null;
    },
  },
};
