/**
 * The engine invariants of SPEC §4, checked over a core snapshot and the kernel
 * layer's objects. Each failure is a sentence naming the invariant and the
 * objects involved. A failure here is a bug in gmemsim, never in a policy.
 */
import * as A from "../abi/core-abi.js";
import type { Host } from "../kvm/host.js";
import { readSnapshot, type Snapshot, type SnapInode, type SnapPage } from "./snapshot.js";
import { inPlaceInvariants } from "./inplace.js";

function blocked(ranges: Array<[number, number]>, pgoff: number): boolean {
  return ranges.some(([b, e]) => pgoff >= b && pgoff < e);
}

/** Pages by pgoff, indexed on first use for the inodes an SPTE leads to (a check may look up many pages of one inode). */
const indexes = new WeakMap<SnapInode, Map<number, SnapPage>>();

function pageAt(inode: SnapInode | undefined, pgoff: number): SnapPage | undefined {
  if (!inode) return undefined;
  let index = indexes.get(inode);
  if (!index) indexes.set(inode, (index = new Map(inode.pages.map((p) => [p.pgoff, p]))));
  return index.get(pgoff);
}

/** Invariant 1, no stale mapping: every SPTE reaches a present, unpoisoned page through a live path of its VM. */
function noStaleMapping(s: Snapshot, out: string[]): void {
  for (const vm of s.vms.values()) {
    for (const e of vm.sptes) {
      const slot = vm.slots.find((sl) => e.gfn >= sl.base && e.gfn < sl.base + sl.npages);
      const where = `vm ${vm.id} gfn 0x${e.gfn.toString(16)} -> pfn ${e.pfn}`;
      if (!slot) {
        out.push(`1 no stale mapping: SPTE ${where} lies in no memslot`);
        continue;
      }
      const candidates: Array<{ inode: SnapInode | undefined; pgoff: number; rights: number }> = [];
      const file = slot.file >= 0 ? s.files.get(slot.file) : undefined;
      const pgoff = slot.pgoff + (e.gfn - slot.base);
      if (file && !blocked(file.blocked, pgoff)) candidates.push({ inode: s.inodes.get(file.inode), pgoff, rights: file.rights });
      if (!(slot.flags & A.SLOT_GMEM_ONLY)) {
        const hva = slot.uaddr + (e.gfn - slot.base);
        for (const m of s.maps.values()) {
          const mp = m.pgoff + (hva - m.hva);
          const through = m.file >= 0 ? s.files.get(m.file) : undefined;
          if (hva >= m.hva && hva < m.hva + m.npages && !(through && blocked(through.blocked, mp))) candidates.push({ inode: s.inodes.get(m.inode), pgoff: mp, rights: A.RIGHTS_ALL });
        }
      }
      const hit = candidates.find((c) => pageAt(c.inode, c.pgoff)?.pfn === e.pfn);
      if (!hit) {
        out.push(`1 no stale mapping: SPTE ${where} (slot ${slot.slot}) points at no page reachable through its slot`);
        continue;
      }
      if (pageAt(hit.inode, hit.pgoff)!.flags & A.PG_HWPOISON) out.push(`1 no stale mapping: SPTE ${where} maps a poisoned page`);
      if (e.rights & A.RIGHTS_ALL & ~hit.rights) out.push(`1 no stale mapping: SPTE ${where} has rights ${e.rights} beyond the file's ${hit.rights}`);
    }
  }
}

/** Invariant 2, bindings: a file's bindings never overlap, and bind a slot of the file's own VM that names the file. */
function bindings(s: Snapshot, out: string[]): void {
  for (const f of s.files.values()) {
    const bs = [...f.bindings].sort((a, b) => a.pgoff - b.pgoff);
    for (let k = 1; k < bs.length; k++) {
      if (bs[k].pgoff < bs[k - 1].pgoff + bs[k - 1].npages) out.push(`2 bindings: file ${f.id} binds pages ${bs[k].pgoff} twice (slots ${bs[k - 1].slot}, ${bs[k].slot})`);
    }
    const vm = s.vms.get(f.vm);
    for (const b of bs) {
      const slot = vm?.slots.find((sl) => sl.slot === b.slot);
      if (!slot || slot.file !== f.id) out.push(`2 bindings: file ${f.id} binding at pgoff ${b.pgoff} names slot ${b.slot}, which is not bound to it in vm ${f.vm}`);
    }
  }
}

/** Invariant 3, accounting: host pages equal the present pages of live inodes; the kernel layer's live inodes are exactly the core's. */
function accounting(host: Host, s: Snapshot, out: string[]): void {
  let gmem = 0;
  let anon = 0;
  const pfns = new Set<number>();
  for (const inode of s.inodes.values()) {
    if (inode.kind === A.INODE_GMEM) gmem += inode.pages.length;
    else anon += inode.pages.length;
    for (const p of inode.pages) {
      if (pfns.has(p.pfn)) out.push(`3 accounting: pfn ${p.pfn} is in two pages`);
      pfns.add(p.pfn);
    }
  }
  // Profile next: frames truncated while pinned stay allocated outside any inode until unpinned (SPEC-next §4).
  if (gmem + s.detachedGmem !== s.gmemPages) out.push(`3 accounting: host counts ${s.gmemPages} gmem pages, live inodes hold ${gmem} and pins ${s.detachedGmem} detached`);
  if (anon + s.detachedAnon !== s.anonPages) out.push(`3 accounting: host counts ${s.anonPages} anon pages, live inodes hold ${anon} and pins ${s.detachedAnon} detached`);
  const live = new Set([...host.inodes].map((i) => i.id));
  for (const inode of s.inodes.values()) {
    if (inode.kind === A.INODE_GMEM && !live.has(inode.id)) out.push(`3 accounting: gmem inode ${inode.id} outlived its last file (leak)`);
  }
  for (const id of live) if (!s.inodes.has(id)) out.push(`3 accounting: gmem inode ${id} is open but the core freed it`);
}

/** Every engine invariant, over the host's current state (or a snapshot of it already read); [] when all hold. */
export function checkInvariants(host: Host, snap?: Snapshot): string[] {
  const s = snap ?? readSnapshot(host.core.snapshot());
  const out: string[] = [];
  noStaleMapping(s, out);
  bindings(s, out);
  accounting(host, s, out);
  inPlaceInvariants(host.profile, s, out);
  return out;
}
