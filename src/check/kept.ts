/**
 * The state kept from the change stream against a full snapshot, in one walk
 * of the snapshot's words: every record the snapshot holds must be in the kept
 * state with the same fields, the kept state must hold nothing more, and the
 * kept state's own indexes (pages by pfn, the SPTEs mapping each pfn, the
 * pages held per kind) must be those a state built from the snapshot would
 * have. So the kept state, once it agrees, is what a full check reads: no
 * second copy of the state is built at the end of every fuzzed trace.
 *
 * What no check reads is skipped, as CoreState.fromSnapshot skips it: page
 * contents, a VM's counters, the pfn allocator's words.
 */
import * as A from "../abi/core-abi.js";
import { readSnapshot, type SnapSlot } from "./snapshot.js";
import { listed, type CoreState, type CPage, type CSpte } from "./state.js";

const pageWords = (p: CPage | undefined) => (p ? `pfn ${p.pfn} flags ${p.flags} ctx ${p.ctx}` : "absent");
const spteWords = (e: CSpte | undefined) => (e ? `pfn ${e.pfn} rights ${e.rights}` : "absent");
const only = (what: string, id: number, inKept: boolean) => `${what}:${id} is ${inKept ? "in the kept state only" : "in the snapshot only"}`;

/**
 * The first difference between the kept state and snapshot `s`, in words, or
 * null when they agree. On agreement the pages the snapshot holds twice (one
 * pfn in two pages) are in `doubled`: each but the one the kept index names,
 * as many as a state built from the snapshot would list.
 */
export function diffKept(st: CoreState, s: Float64Array, doubled: CPage[]): string | null {
  // Records counted per kind (a snapshot lists each id once): a kept object the snapshot lacks shows as a count
  // that differs, and only then are the snapshot's ids gathered to name it.
  let inodes = 0;
  let files = 0;
  let vms = 0;
  let maps = 0;
  let attrs = 0;
  let heldGmem = 0;
  let heldAnon = 0;
  let sptes = 0;
  // Pages the kept index of pages by pfn names for their pfn: one per pfn held.
  let holders = 0;
  let pfnWrong: string | null = null;
  let mapperWrong: string | null = null;
  let detachedGmem = 0;
  let detachedAnon = 0;
  let i = 0;
  for (;;) {
    const tag = s[i];
    if (tag === A.SNAP_INODE) {
      const id = s[i + 1];
      const inode = st.inodes.get(id);
      if (!inode) return only("@inode", id, false);
      if (inode.npages !== s[i + 2] || inode.kind !== s[i + 3] || inode.gmemFlags !== s[i + 4]) return `@inode:${id} differs`;
      inodes++;
      const n = s[i + 5];
      i += 6;
      for (let k = 0; k < n; k++, i += 5) {
        const pgoff = s[i];
        const pfn = s[i + 1];
        const p = inode.pages.get(pgoff);
        if (!p || p.pfn !== pfn || p.flags !== s[i + 3] || p.ctx !== s[i + 4]) return `@inode:${id} pgoff ${pgoff}: kept ${pageWords(p)}, snapshot pfn ${pfn} flags ${s[i + 3]} ctx ${s[i + 4]}`;
        // The index names this page for its pfn, or another live page with the same pfn (a pfn in two pages,
        // a violation of its own: the page goes to `doubled`), or something else (the index is wrong).
        const holder = st.byPfn.get(pfn);
        if (holder === p) holders++;
        else if (holder && holder.pfn === pfn && st.inodes.get(holder.inode)?.pages.get(holder.pgoff) === holder) doubled.push(p);
        else pfnWrong ??= `the kept index of pages by pfn misses pfn ${pfn} (@inode:${id} pgoff ${pgoff})`;
      }
      if (inode.pages.size !== n) {
        for (const [pgoff, p] of inode.pages) if (!listed(s, i - n * 5, n, 5, pgoff)) return `@inode:${id} pgoff ${pgoff}: kept ${pageWords(p)}, snapshot absent`;
      }
      if (inode.kind === A.INODE_GMEM) heldGmem += n;
      else heldAnon += n;
    } else if (tag === A.SNAP_FILE) {
      const id = s[i + 1];
      const f = st.files.get(id);
      if (!f) return `@file:${id} differs`;
      files++;
      const n = s[i + 5];
      let same = f.inode === s[i + 2] && f.vm === s[i + 3] && f.rights === s[i + 4] && f.bindings.length === n;
      i += 6;
      for (let k = 0; k < n; k++, i += 3) {
        const b = f.bindings.at(k)!;
        if (same && (b.pgoff !== s[i] || b.npages !== s[i + 1] || b.slot !== s[i + 2])) same = false;
      }
      const nb = s[i++];
      const blocked = f.blocked.toArray();
      if (blocked.length !== nb) same = false;
      for (let k = 0; k < nb; k++, i += 2) {
        const r = blocked[k];
        if (same && (r[0] !== s[i] || r[1] !== s[i + 1])) same = false;
      }
      if (!same) return `@file:${id} differs`;
    } else if (tag === A.SNAP_VM) {
      const id = s[i + 1];
      const vm = st.vms.get(id);
      if (!vm) return only("@vm", id, false);
      vms++;
      const n = s[i + 2];
      let same = vm.slots.length === n;
      i += 3;
      for (let k = 0; k < n; k++, i += 7) {
        const sl = vm.slots.at(k)!;
        if (same && (sl.slot !== s[i] || sl.base !== s[i + 1] || sl.npages !== s[i + 2] || sl.flags !== s[i + 3] || sl.file !== s[i + 4] || sl.pgoff !== s[i + 5] || sl.uaddr !== s[i + 6])) same = false;
      }
      const m = s[i++];
      const at = i;
      for (let k = 0; k < m; k++, i += 3) {
        const gfn = s[i];
        const e = vm.sptes.get(gfn);
        if (!e || e.pfn !== s[i + 1] || e.rights !== s[i + 2]) return `@vm:${id} gfn ${gfn}: kept ${spteWords(e)}, snapshot pfn ${s[i + 1]} rights ${s[i + 2]}`;
        if (!st.indexesSpte(e)) mapperWrong ??= `the kept index of SPTEs by pfn misses @vm:${id} gfn ${gfn}`;
      }
      if (vm.sptes.size !== m) {
        for (const [gfn, e] of vm.sptes) if (!listed(s, at, m, 3, gfn)) return `@vm:${id} gfn ${gfn}: kept ${spteWords(e)}, snapshot absent`;
      }
      sptes += m;
      i += 4; // counters: no check reads them
      if (!same || vm.ctx !== s[i]) return `@vm:${id}'s memslots or context differ`;
      // Its memslots by gfn (slotOf() searches them) must be the same memslots, in base order.
      const byId = new Set(vm.slots);
      let prev = -Infinity;
      const outOfPlace = (sl: SnapSlot) => {
        const before = prev;
        prev = sl.base;
        return !byId.has(sl) || before > sl.base;
      };
      if (vm.byGfn.length !== vm.slots.length || vm.byGfn.some(outOfPlace))
        return `the kept index of @vm:${id}'s memslots by gfn differs from its memslots`;
      i++;
    } else if (tag === A.SNAP_MAP) {
      const id = s[i + 1];
      const m = st.maps.get(id);
      if (!m || m.hva !== s[i + 2] || m.npages !== s[i + 3] || m.inode !== s[i + 4] || m.pgoff !== s[i + 5] || m.rights !== s[i + 6] || m.file !== s[i + 7] || m.cow !== s[i + 8]) return `@map:${id} differs`;
      maps++;
      i += 9;
    } else if (tag === A.SNAP_ATTR) {
      const id = s[i + 1];
      const n = s[i + 2];
      const runs = st.attrs.get(id)?.toArray();
      i += 3;
      let same = runs !== undefined && runs.length === n;
      for (let k = 0; k < n; k++, i += 2) if (same && (runs![k][0] !== s[i] || runs![k][1] !== s[i + 1])) same = false;
      if (!same) return `@inode:${id}'s private runs differ`;
      attrs++;
    } else if (tag === A.SNAP_DETACHED) {
      detachedGmem = s[i + 1];
      detachedAnon = s[i + 2];
      i += 3;
    } else if (tag === A.SNAP_END) {
      if (st.inodes.size !== inodes || st.files.size !== files || st.maps.size !== maps || st.vms.size !== vms || st.attrs.size !== attrs) return keptOnly(st, s);
      if (st.gmemPages !== s[i + 1] || st.anonPages !== s[i + 2]) return "the host's page counts differ";
      if (st.detachedGmem !== detachedGmem || st.detachedAnon !== detachedAnon) return "the detached frame counts differ";
      // The indexes: as a state built from the snapshot would have them.
      if (st.heldGmem !== heldGmem || st.heldAnon !== heldAnon) return `the kept counts of held pages (gmem ${st.heldGmem}, anon ${st.heldAnon}) differ from the snapshot's (${heldGmem}, ${heldAnon})`;
      if (pfnWrong) return pfnWrong;
      if (st.byPfn.size !== holders) return `the kept index of pages by pfn holds ${st.byPfn.size} pfns, the snapshot ${holders}`;
      if (mapperWrong) return mapperWrong;
      const mapped = st.indexedSptes();
      if (mapped !== sptes) return `the kept index of SPTEs by pfn holds ${mapped} SPTEs, the snapshot ${sptes}`;
      return null;
    } else {
      throw new Error(`snapshot: unexpected tag ${tag} at word ${i}`);
    }
  }
}

/** The first object the kept state holds and snapshot `s` does not (read whole, only when the counts differ). */
function keptOnly(st: CoreState, s: Float64Array): string {
  const snap = readSnapshot(s);
  for (const id of st.inodes.keys()) if (!snap.inodes.has(id)) return only("@inode", id, true);
  for (const id of st.files.keys()) if (!snap.files.has(id)) return `@file:${id} differs`;
  for (const id of st.maps.keys()) if (!snap.maps.has(id)) return `@map:${id} differs`;
  for (const id of st.vms.keys()) if (!snap.vms.has(id)) return only("@vm", id, true);
  for (const id of st.attrs.keys()) if (!snap.attrs.has(id)) return `@inode:${id}'s private runs differ`;
  return "the kept state holds objects the snapshot does not";
}

