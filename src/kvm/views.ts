/** Read-only plain-data views of kernel objects, the only thing policies see: the kernel layer's adapter to its policy. */
import { SystemGmem, type GmemFile, type Vm } from "./objects.js";
import { permList } from "./perm.js";
import type { FileView, SystemFileView, VmView } from "../policy/types.js";

/** Call after changing a file's permissions, window, donations or migration state. */
export function invalidateView(f: GmemFile | SystemGmem): void {
  f.view = null;
}

/** The file's view, made once and kept on the file until it changes (policies are asked on hot paths). */
export function fileView(f: GmemFile | SystemGmem): FileView {
  return (f.view ??= makeFileView(f));
}

function makeFileView(f: GmemFile | SystemGmem): FileView {
  return Object.freeze({
    id: f.id,
    vm: f instanceof SystemGmem ? -1 : f.vm.id,
    inode: f.inode.id,
    perm: Object.freeze(permList(f.perm)),
    owner: f.owner,
    origin: f.origin,
    parent: f.parent ? f.parent.id : null,
    migrating: f.migrating,
    window: Object.freeze([f.window[0], f.window[1]] as const),
    donated: Object.freeze(f.donated.map(([s, e]) => Object.freeze([s, e] as const))),
  });
}

export function vmView(v: Vm): VmView {
  return Object.freeze({ id: v.id, type: v.type, ctx: v.ctx, contextMovedAway: v.contextMovedAway });
}

/** A system-design fd, with the VMs bound to it (made per request: binding is not a hot path). */
export function systemFileView(s: SystemGmem): SystemFileView {
  return Object.freeze({
    id: s.id,
    inode: s.inode.id,
    flags: s.inode.flags,
    bound: Object.freeze([...s.views].map(([vm, f]) => Object.freeze({ vm: vm.id, perm: Object.freeze(permList(f.perm)) }))),
    unbound: Object.freeze([...s.unbound].map((vm) => vm.id)),
  });
}
