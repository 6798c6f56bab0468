// A deliberately flawed policy: like the default, except that any file may
// punch holes, granted or not. A VM that was only lent memory read-only can
// then destroy the owner's contents: the "owner control" security property
// catches it (see test/scenarios/policy-flawed-punch.jsonl).

const deny = (reason) => ({ allow: false, reason });

export default {
  name: "flawed-punch-anywhere",
  link({ source, mode, perm }) {
    if (!source.owner) return deny("only the owner links");
    if (mode !== "migrate" && (perm.includes("alloc") || perm.includes("punch"))) return deny("only the owner allocates or punches");
    return { allow: true, perm };
  },
  fallocate({ file, op }) {
    // The flaw: punching is allowed without the punch right.
    if (op === "punch") return { allow: true };
    return file.perm.includes(op) ? { allow: true } : deny(`the file lacks ${op}`);
  },
};
