// A deliberately naive policy for either design: "bind anywhere". Any VM may be
// bound to any system gmem file (again, after an unbind too), any file may be
// linked on with whatever was asked, and a fault on a page prepared under
// another VM's key maps it as it is. It is the hazard the 2023 discussion
// named: private data reaching another VM, under the wrong key. The "right
// key" property catches it (gmemsim fuzz --design system --policy
// examples/policies/naive-bind.mjs).

export default {
  name: "naive-bind-anywhere",
  link({ perm }) {
    return { allow: true, perm };
  },
  fallocate() {
    return { allow: true };
  },
  bind(req) {
    return req.kind === "vm" ? { allow: true, perm: req.perm } : { allow: true };
  },
  migrate() {
    return { allow: true };
  },
  foreign() {
    return "map";
  },
};
