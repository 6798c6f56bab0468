/**
 * Names for the objects a checker's violation mentions by id (src/check/violation.ts):
 * the names the trace bound, so that a report reads "file g2 (vm b)" rather
 * than "file 3 (vm 1)". Built on first use: only failing runs need it.
 */
import { GmemFile, HostMap, SystemGmem, Vm } from "../kvm/objects.js";
import type { Namer, ObjectKind } from "../check/violation.js";
import type { Names } from "./names.js";

export function traceNamer(names: Names): Namer {
  let table: Map<string, string> | null = null;
  const build = () => {
    const t = new Map<string, string>();
    for (const [name, o] of names.entries()) {
      if (o instanceof Vm) t.set(`vm:${o.id}`, `vm ${name}`);
      else if (o instanceof GmemFile) {
        t.set(`file:${o.id}`, `file ${name}`);
        // An inode is named after the first file the trace names on it.
        if (!t.has(`inode:${o.inode.id}`)) t.set(`inode:${o.inode.id}`, `inode ${o.inode.id} (of ${name})`);
      } else if (o instanceof SystemGmem) {
        // The system design: the fd names its inode; the VMs' views of it are no fds, so they keep their ids.
        if (!t.has(`inode:${o.inode.id}`)) t.set(`inode:${o.inode.id}`, `inode ${o.inode.id} (of ${name})`);
      } else if (o instanceof HostMap) t.set(`map:${o.id}`, `map ${name}`);
    }
    return t;
  };
  return (kind: ObjectKind, id: number) => (table ??= build()).get(`${kind}:${id}`);
}
