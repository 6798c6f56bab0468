/**
 * The security properties of SPEC §4, over a core snapshot and the kernel
 * layer's history of links, moves and fallocates. A failure here is a flaw in
 * the policy under test (the engine did what the policy allowed), reported with
 * the property, the objects and, by the caller, the op.
 */
import * as A from "../abi/core-abi.js";
import type { Host, HostEvent } from "../kvm/host.js";
import type { GmemFile, Vm } from "../kvm/objects.js";
import { ALL_PERMS, type Perm } from "../kvm/perm.js";
import { readSnapshot, type Snapshot, type SnapInode, type SnapPage } from "./snapshot.js";

export interface SecurityState {
  readonly snapshot: Snapshot;
  readonly events: readonly HostEvent[];
}

const fmt = (p: Iterable<Perm>) => `[${[...p].join(",")}]`;
const overlaps = (a: readonly [number, number], s: number, e: number) => s < a[1] && a[0] < e;

function pagesByPfn(s: Snapshot): Map<number, { inode: SnapInode; page: SnapPage }> {
  const m = new Map<number, { inode: SnapInode; page: SnapPage }>();
  for (const inode of s.inodes.values()) for (const page of inode.pages) m.set(page.pfn, { inode, page });
  return m;
}

export function checkSecurity(host: Host, snap?: Snapshot): string[] {
  const snapshot = snap ?? readSnapshot(host.core.snapshot());
  const events = host.events;
  const out: string[] = [];
  const byPfn = pagesByPfn(snapshot);

  // One pass over the history: the rights each file holds by grants that trace
  // back to an owner, and the donations and moves made so far, as of each event.
  const grants = new Map<GmemFile, Set<Perm>>();
  const held = (f: GmemFile) => grants.get(f) ?? new Set<Perm>(f.linked ? [] : ALL_PERMS);
  const donations: Array<{ donor: GmemFile; window: [number, number] }> = [];
  const moves: Array<{ src: Vm; moved: Set<number> }> = [];
  const vmDonations: Array<{ donor: Vm; inode: number; file: number }> = [];
  for (const e of events) {
    if (e.kind === "link") {
      // 1. No escalation.
      const extra = e.perm.filter((p) => !e.parentPerm.includes(p));
      if (extra.length) out.push(`1 no escalation: file ${e.file.id} (vm ${e.file.vm.id}) was linked from file ${e.parent.id} with ${fmt(e.perm)}, but file ${e.parent.id} held only ${fmt(e.parentPerm)}`);
      const parent = held(e.parent);
      grants.set(e.file, new Set(e.mode === "migrate" ? [] : e.perm.filter((p) => parent.has(p))));
      if (e.mode === "donate") donations.push({ donor: e.parent, window: e.window });
    } else if (e.kind === "move") {
      for (const inode of e.inodes) {
        for (const f of inode.files) {
          if (f.vm === e.target && f.origin === "migrate") grants.set(f, new Set(ALL_PERMS));
          if (f.vm === e.src) grants.set(f, new Set());
        }
      }
      moves.push({ src: e.src, moved: new Set(e.inodes.map((i) => i.id)) });
    } else if (e.kind === "unbind") {
      // The system design: an unbind that leaves others bound gives the memory to them, for good.
      if (e.others.length) vmDonations.push({ donor: e.file.vm, inode: e.file.inode.id, file: e.system.id });
    } else if (e.kind === "fallocate") {
      // 2. Owner control: contents destroyed only through rights granted by the owner.
      if (e.op === "punch" && !held(e.file).has("punch"))
        out.push(`2 owner control: file ${e.file.id} (vm ${e.file.vm.id}) punched pages [${e.range[0]}, ${e.range[1]}) without a punch right granted by the owner`);
      // 3. Donation is final: no fallocate by the donor in the window, ever again.
      for (const d of donations) {
        if (e.file === d.donor && overlaps(d.window, e.range[0], e.range[1]))
          out.push(`3 donation is final: file ${d.donor.id} (vm ${d.donor.vm.id}) fallocated pages [${e.range[0]}, ${e.range[1]}) of the window [${d.window[0]}, ${d.window[1]}) it donated`);
      }
      // 4. Migration is exclusive: the source touches nothing of the moved inodes.
      for (const m of moves) {
        if (e.file.vm === m.src && m.moved.has(e.file.inode.id))
          out.push(`4 migration is exclusive: source vm ${m.src.id} fallocated moved inode ${e.file.inode.id} through file ${e.file.id}`);
      }
    }
  }

  // 3 and 4 in the state: what the donors and sources can still reach now.
  for (const { donor, window } of donations) {
    const f = snapshot.files.get(donor.id);
    if (f && !f.blocked.some(([s, t]) => s <= window[0] && t >= window[1]))
      out.push(`3 donation is final: file ${donor.id} can still reach the window [${window[0]}, ${window[1]}) it donated`);
    const vm = snapshot.vms.get(donor.vm.id);
    for (const sp of vm?.sptes ?? []) {
      const slot = vm!.slots.find((sl) => sp.gfn >= sl.base && sp.gfn < sl.base + sl.npages);
      const pgoff = slot ? slot.pgoff + sp.gfn - slot.base : -1;
      if (slot && slot.file === donor.id && overlaps(window, pgoff, pgoff + 1))
        out.push(`3 donation is final: vm ${donor.vm.id} maps gfn 0x${sp.gfn.toString(16)} in the window it donated`);
    }
  }
  for (const { donor, inode, file } of vmDonations) {
    for (const sp of snapshot.vms.get(donor.id)?.sptes ?? []) {
      if (byPfn.get(sp.pfn)?.inode.id === inode)
        out.push(`3 donation is final: vm ${donor.id} maps gfn 0x${sp.gfn.toString(16)} of inode ${inode}, which it gave up by gmem_unbind of file ${file}`);
    }
  }
  for (const { src, moved } of moves) {
    for (const sp of snapshot.vms.get(src.id)?.sptes ?? []) {
      const hit = byPfn.get(sp.pfn);
      if (hit && moved.has(hit.inode.id)) out.push(`4 migration is exclusive: source vm ${src.id} still maps gfn 0x${sp.gfn.toString(16)} of moved inode ${hit.inode.id}`);
    }
  }

  for (const vm of snapshot.vms.values()) {
    for (const sp of vm.sptes) {
      const hit = byPfn.get(sp.pfn);
      // 5. No use after free.
      if (!hit) {
        out.push(`5 no use after free: vm ${vm.id} maps gfn 0x${sp.gfn.toString(16)} to pfn ${sp.pfn}, which no live inode holds`);
        continue;
      }
      // 6. Right key.
      if (hit.page.flags & A.PG_PRIVATE && hit.page.ctx !== vm.ctx)
        out.push(`6 right key: vm ${vm.id} (context ${vm.ctx}) maps gfn 0x${sp.gfn.toString(16)}${sp.rights & A.SPTE_PRIVATE ? " private" : ""}, a page of inode ${hit.inode.id} prepared private under context ${hit.page.ctx}`);
    }
  }

  const props = host.policy.properties ?? {};
  for (const [name, fn] of Object.entries(props)) {
    const bad = fn({ snapshot, events });
    if (bad) out.push(`policy property ${name}: ${bad}`);
  }
  return out;
}
