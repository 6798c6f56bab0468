// A TypeScript policy (gmemsim compiles it on the fly with esbuild):
//   gmemsim fuzz --policy examples/policies/no-sharing.ts --ops 20000
// The strictest host: guest memory is never shared, donated or migrated, and
// a file allocates or punches only with the right to. Its own property says
// no linked file ever exists.
import type { Decision, Policy } from "gmemsim/policy";

const deny = (reason: string): Decision => ({ allow: false, reason });

const policy: Policy = {
  name: "no-sharing",
  link: ({ mode }) => deny(`this host makes no ${mode} links`),
  fallocate: ({ file, op }) => (file.perm.includes(op) ? { allow: true } : deny(`the file lacks ${op}`)),
  migrate: () => deny("this host migrates nothing"),
  properties: {
    "no linked file"({ events }) {
      const link = events.find((e) => e.kind === "link");
      return link ? "a file was linked although every link is denied" : null;
    },
  },
};

export default policy;
