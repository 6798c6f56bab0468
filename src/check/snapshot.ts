/**
 * Reads a core snapshot stream (core-abi.ts, "Snapshot") into plain objects, so
 * that checkers look at state the same way whichever core produced it.
 */
import * as A from "../abi/core-abi.js";
import type { SnapPage, SnapInode, SnapFile, SnapSlot, SnapSpte, SnapVm, SnapMap, Snapshot } from "../policy/facts.js";

// The types are the policy API's (src/policy/facts.ts: what a policy's properties read); this module reads them.
export type { SnapPage, SnapInode, SnapFile, SnapSlot, SnapSpte, SnapVm, SnapMap, Snapshot };

export function readSnapshot(s: Float64Array): Snapshot {
  let i = 0;
  const next = () => s[i++];
  const snap: Snapshot = { inodes: new Map(), files: new Map(), vms: new Map(), maps: new Map(), gmemPages: 0, anonPages: 0, nextPfn: 0, freeDepth: 0, attrs: new Map(), detachedGmem: 0, detachedAnon: 0 };
  for (;;) {
    const tag = next();
    if (tag === A.SNAP_INODE) {
      const inode: SnapInode = { id: next(), npages: next(), kind: next(), gmemFlags: next(), pages: [] };
      const n = next();
      for (let k = 0; k < n; k++) inode.pages.push({ pgoff: next(), pfn: next(), byte: next(), flags: next(), ctx: next() });
      snap.inodes.set(inode.id, inode);
    } else if (tag === A.SNAP_FILE) {
      const f: SnapFile = { id: next(), inode: next(), vm: next(), rights: next(), bindings: [], blocked: [] };
      const n = next();
      for (let k = 0; k < n; k++) f.bindings.push({ pgoff: next(), npages: next(), slot: next() });
      const b = next();
      for (let k = 0; k < b; k++) f.blocked.push([next(), next()]);
      snap.files.set(f.id, f);
    } else if (tag === A.SNAP_VM) {
      const vm: SnapVm = { id: next(), slots: [], sptes: [], counters: { sptes: 0, faults: 0, zaps: 0, exits: 0 }, ctx: 0 };
      const n = next();
      for (let k = 0; k < n; k++) vm.slots.push({ slot: next(), base: next(), npages: next(), flags: next(), file: next(), pgoff: next(), uaddr: next() });
      const m = next();
      for (let k = 0; k < m; k++) vm.sptes.push({ gfn: next(), pfn: next(), rights: next() });
      vm.counters = { sptes: next(), faults: next(), zaps: next(), exits: next() };
      vm.ctx = next();
      snap.vms.set(vm.id, vm);
    } else if (tag === A.SNAP_MAP) {
      const m: SnapMap = { id: next(), hva: next(), npages: next(), inode: next(), pgoff: next(), rights: next(), file: next(), cow: next() };
      snap.maps.set(m.id, m);
    } else if (tag === A.SNAP_ATTR) {
      const id = next();
      const n = next();
      const runs: Array<[number, number]> = [];
      for (let k = 0; k < n; k++) runs.push([next(), next()]);
      snap.attrs.set(id, runs);
    } else if (tag === A.SNAP_DETACHED) {
      snap.detachedGmem = next();
      snap.detachedAnon = next();
    } else if (tag === A.SNAP_END) {
      snap.gmemPages = next();
      snap.anonPages = next();
      snap.nextPfn = next();
      snap.freeDepth = next();
      return snap;
    } else {
      throw new Error(`snapshot: unexpected tag ${tag} at word ${i - 1}`);
    }
  }
}
