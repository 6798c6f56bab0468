// A deliberately flawed policy: the default policy, except that any file may
// punch holes, granted or not. A VM that was only lent memory read-only can
// then destroy the owner's contents: the "owner control" security property
// catches it (see test/policy/flawed-punch.jsonl).

const deny = (reason) => ({ allow: false, reason });
const overlaps = (ranges, s, e) => ranges.some(([a, b]) => s < b && a < e);

export default {
  name: "flawed-punch-anywhere",
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
    // The flaw: punching is allowed without the punch right.
    if (op === "punch") return { allow: true };
    return file.perm.includes(op) ? { allow: true } : deny(`the file lacks ${op}`);
  },
  bind({ file, pgoff, npages }) {
    return overlaps(file.donated, pgoff, pgoff + npages) ? deny("that window was donated away") : { allow: true };
  },
};
