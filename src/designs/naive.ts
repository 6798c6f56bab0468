/**
 * The naive "bind anywhere" policy of the designs comparison, for either
 * design: every bind, link, fallocate and migration allowed with what was
 * asked, and a fault on a page prepared under another key mapped as it is.
 * examples/policies/naive-bind.mjs is the same policy as a loadable module.
 */
import type { Policy } from "../policy/types.js";

export const naivePolicy: Policy = {
  name: "naive-bind-anywhere",
  link: ({ perm }) => ({ allow: true, perm }),
  fallocate: () => ({ allow: true }),
  bind: (req) => (req.kind === "vm" ? { allow: true, perm: req.perm } : { allow: true }),
  migrate: () => ({ allow: true }),
  foreign: () => "map",
};
