/**
 * The playground's picture of the state: the core's snapshot (pages, files,
 * bindings, SPTEs, host maps) labelled with the trace's names and the kernel
 * layer's recorded facts (how each file was linked, which contexts moved), and
 * the difference two consecutive snapshots make (what an op did).
 */
import * as A from "../abi/core-abi.js";
import type { HostEvent } from "../kvm/host.js";
import type { Snapshot } from "../check/snapshot.js";
import type { Effect, Scene, SceneFile, SceneSlot, SceneVm } from "./protocol.js";

const PERMS = ["r", "w", "x", "alloc", "punch"];

/** Trace names of objects, keyed "vm:ID", "file:ID", "map:ID", "inode:ID". */
export type NameBook = Map<string, string>;

const hex = (n: number) => "0x" + n.toString(16);

export function sceneOf(snap: Snapshot, events: readonly HostEvent[], names: NameBook): Scene {
  const linkOf = new Map<number, Extract<HostEvent, { kind: "link" }>>();
  const movedTargets = new Set<number>();
  for (const e of events) {
    if (e.kind === "link") linkOf.set(e.file, e);
    else if (e.kind === "move") for (const f of e.promoted) movedTargets.add(f);
  }
  // A file of no live VM (a system-scoped gmem fd, where the simulator has that design) says so.
  const vmName = (id: number) => names.get(`vm:${id}`) ?? (snap.vms.has(id) ? `vm#${id}` : "(none)");
  const fileName = (id: number) => names.get(`file:${id}`) ?? `file#${id}`;

  const inodes = [...snap.inodes.values()].map((i) => ({
    id: i.id,
    name: names.get(`inode:${i.id}`) ?? `inode ${i.id}`,
    npages: i.npages,
    anon: i.kind === A.INODE_ANON,
    gmemFlags: i.gmemFlags,
    pages: i.pages.map((p) => ({ pgoff: p.pgoff, flags: p.flags, ctx: p.ctx, byte: p.byte })),
  }));
  const files: SceneFile[] = [...snap.files.values()].map((f) => {
    const link = linkOf.get(f.id);
    const npages = snap.inodes.get(f.inode)?.npages ?? 0;
    const rightsPerm = [f.rights & A.RIGHT_R ? "r" : "", f.rights & A.RIGHT_W ? "w" : "", f.rights & A.RIGHT_X ? "x" : ""].filter(Boolean);
    const migrating = link?.mode === "migrate" && !movedTargets.has(f.id);
    return {
      id: f.id,
      name: fileName(f.id),
      inode: f.inode,
      vm: f.vm,
      vmName: vmName(f.vm),
      rights: f.rights,
      origin: movedTargets.has(f.id) ? "migrated" : link ? link.mode : "owner",
      window: link ? [link.window[0], link.window[1]] : [0, npages],
      blocked: f.blocked.map(([a, b]) => [a, b] as [number, number]),
      migrating,
      perm: (!link || movedTargets.has(f.id)) && f.rights === (A.RIGHT_R | A.RIGHT_W | A.RIGHT_X) ? PERMS : link && !movedTargets.has(f.id) ? PERMS.filter((p) => link.perm.includes(p as never) && (p.length > 1 || rightsPerm.includes(p))) : rightsPerm,
    };
  });
  const vms: SceneVm[] = [...snap.vms.values()].map((v) => {
    const slots: SceneSlot[] = v.slots.map((s) => {
      // A gmem slot leads to its file's inode; a plain one to the host map at its userspace_addr.
      const f = snap.files.get(s.file);
      const m = f ? undefined : [...snap.maps.values()].find((x) => x.hva <= s.uaddr && s.uaddr < x.hva + x.npages);
      return {
        slot: s.slot,
        baseGfn: s.base,
        npages: s.npages,
        flags: s.flags,
        file: f ? s.file : -1,
        pgoff: f ? s.pgoff : m ? m.pgoff + (s.uaddr - m.hva) : 0,
        inode: f ? f.inode : m ? m.inode : -1,
        sptes: [],
      };
    });
    let loose = 0;
    for (const sp of v.sptes) {
      const s = slots.find((x) => sp.gfn >= x.baseGfn && sp.gfn < x.baseGfn + x.npages);
      if (s) s.sptes.push({ gfn: sp.gfn, rights: sp.rights });
      else loose++;
    }
    return { id: v.id, name: vmName(v.id), ctx: v.ctx, movedAway: v.ctx === 0, counters: { ...v.counters }, slots, sptes: v.sptes.length, loose };
  });
  const maps = [...snap.maps.values()].map((m) => ({ id: m.id, name: names.get(`map:${m.id}`) ?? `map#${m.id}`, hva: m.hva, npages: m.npages, inode: m.inode, pgoff: m.pgoff, rights: m.rights, file: m.file }));
  return { inodes, files, vms, maps, gmemPages: snap.gmemPages, anonPages: snap.anonPages };
}

/** Where a gfn of a VM leads: its memslot, and through the slot's file the inode page. */
function gfnHome(snap: Snapshot, vmId: number, gfn: number): { slot?: number; inode?: number; pgoff?: number; file?: number } {
  const vm = snap.vms.get(vmId);
  const s = vm?.slots.find((x) => gfn >= x.base && gfn < x.base + x.npages);
  if (!s) return {};
  const f = snap.files.get(s.file);
  const inode = f ? f.inode : [...snap.maps.values()].find((m) => m.hva <= s.uaddr && s.uaddr < m.hva + m.npages)?.inode;
  const pgoff = f ? s.pgoff + (gfn - s.base) : [...snap.maps.values()].filter((m) => m.hva <= s.uaddr && s.uaddr < m.hva + m.npages).map((m) => m.pgoff + (s.uaddr - m.hva) + (gfn - s.base))[0];
  return { slot: s.slot, inode, pgoff, file: f?.id };
}

/**
 * What op `op` did: the difference between the snapshots before and after it,
 * named. `result` is its result line; `named` the objects its fields name.
 */
export function effectOf(before: Snapshot, after: Snapshot, op: Record<string, unknown> | null, result: Record<string, unknown>, named: string[], names: NameBook): Effect {
  const pages = (s: Snapshot) => {
    const m = new Map<string, number>();
    for (const i of s.inodes.values()) for (const p of i.pages) m.set(`${i.id}:${p.pgoff}`, p.pfn);
    return m;
  };
  const pb = pages(before);
  const pa = pages(after);
  const split = (k: string) => {
    const [inode, pgoff] = k.split(":").map(Number);
    return { inode, pgoff };
  };
  const freed = [...pb].filter(([k, pfn]) => pa.get(k) !== pfn).map(([k]) => split(k));
  const added = [...pa].filter(([k, pfn]) => pb.get(k) !== pfn).map(([k]) => split(k));

  const pfnHome = new Map<number, { inode: number; pgoff: number }>();
  for (const i of before.inodes.values()) for (const p of i.pages) pfnHome.set(p.pfn, { inode: i.id, pgoff: p.pgoff });
  const zapped: Effect["zapped"] = [];
  const installed: Effect["installed"] = [];
  for (const vb of before.vms.values()) {
    const va = after.vms.get(vb.id);
    const now = new Map((va?.sptes ?? []).map((s) => [s.gfn, s.pfn]));
    for (const s of vb.sptes) if (now.get(s.gfn) !== s.pfn) zapped.push({ vm: vb.id, gfn: s.gfn, ...(pfnHome.get(s.pfn) ?? { inode: -1, pgoff: -1 }) });
  }
  for (const va of after.vms.values()) {
    const was = new Map((before.vms.get(va.id)?.sptes ?? []).map((s) => [s.gfn, s.pfn]));
    for (const s of va.sptes) if (was.get(s.gfn) !== s.pfn) installed.push({ vm: va.id, gfn: s.gfn });
  }
  const donated: Effect["donated"] = [];
  for (const fa of after.files.values()) {
    const fb = before.files.get(fa.id);
    for (const r of fa.blocked) if (!fb?.blocked.some(([a, b]) => a <= r[0] && r[1] <= b)) donated.push({ file: fa.id, range: [r[0], r[1]] });
  }
  const moved: Effect["moved"] = [];
  for (const va of after.vms.values()) {
    const vb = before.vms.get(va.id);
    // The context it took: the one a source VM gave up in the same op (its ctx drops to 0).
    const src = [...before.vms.values()].find((x) => x.ctx === va.ctx && x.id !== va.id && after.vms.get(x.id)?.ctx === 0);
    if (vb && vb.ctx !== va.ctx && va.ctx !== 0) moved.push({ vm: va.id, from: src ? src.id : -1, ctx: va.ctx });
  }
  const handedOver: Effect["handedOver"] = [];
  if (op?.op === "move_enc_context_from" && !("errno" in result) && !("error" in result)) {
    for (const fa of after.files.values()) {
      const fb = before.files.get(fa.id);
      if (fb && fa.rights !== fb.rights && fa.rights !== 0) handedOver.push({ file: fa.id });
    }
  }
  const newObjects = [
    ...[...after.vms.keys()].filter((id) => !before.vms.has(id)).map((id) => `vm:${id}`),
    ...[...after.files.keys()].filter((id) => !before.files.has(id)).map((id) => `file:${id}`),
    ...[...after.maps.keys()].filter((id) => !before.maps.has(id)).map((id) => `map:${id}`),
    ...[...after.inodes.keys()].filter((id) => !before.inodes.has(id)).map((id) => `inode:${id}`),
  ];

  const nm = (key: string) => names.get(key) ?? key.replace(":", "#");
  let access: Effect["access"];
  if (op && (op.op === "vcpu_access" || op.op === "load" || op.op === "store") && !("error" in result)) {
    const outcome = "error" in result ? "" : result.exit ? `exit ${result.exit}${result.errno ? ` (${result.errno})` : ""}` : result.signal ? String(result.signal) : result.errno ? String(result.errno) : "value" in result ? `ok, value ${result.value}` : "ok";
    if (op.op === "vcpu_access") {
      const vmKey = named.find((k) => k.startsWith("vm:"));
      const vmId = vmKey ? Number(vmKey.slice(3)) : -1;
      const gpaRaw = op.gpa;
      const gfn = typeof gpaRaw === "number" ? Math.floor(gpaRaw / 4096) : typeof gpaRaw === "string" ? Number(BigInt(gpaRaw) >> 12n) : -1;
      const home = gfnHome(after, vmId, gfn);
      const where = home.slot === undefined ? "no memslot there" : home.inode === undefined ? `memslot ${home.slot}` : `memslot ${home.slot} -> ${nm(`inode:${home.inode}`)} pgoff ${home.pgoff}`;
      access = { vm: vmId, gfn, ...home, what: `VM ${nm(`vm:${vmId}`)} ${op.access} at gfn ${hex(gfn)} (${where}): ${outcome}` };
    } else {
      const mapKey = named.find((k) => k.startsWith("map:"));
      const m = mapKey ? (after.maps.get(Number(mapKey.slice(4))) ?? before.maps.get(Number(mapKey.slice(4)))) : undefined;
      const off = typeof op.offset === "number" ? Math.floor(op.offset / 4096) : typeof op.offset === "string" ? Number(BigInt(op.offset) >> 12n) : 0;
      access = m ? { map: m.id, inode: m.inode, pgoff: m.pgoff + off, what: `host ${op.op} through ${nm(`map:${m.id}`)} at ${nm(`inode:${m.inode}`)} pgoff ${m.pgoff + off}: ${outcome}` } : { what: `host ${op.op}: ${outcome}` };
    }
  }

  // The pages the op aimed at (fallocate's range, gmem_link's window), on the inode of the file it names.
  let range: Effect["range"];
  const fileKey = named.find((k) => k.startsWith("file:"));
  const file = fileKey ? (before.files.get(Number(fileKey.slice(5))) ?? after.files.get(Number(fileKey.slice(5)))) : undefined;
  const bytes = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(BigInt(v)) : NaN);
  if (op && file && (op.op === "fallocate" || op.op === "gmem_link")) {
    const npages = (before.inodes.get(file.inode) ?? after.inodes.get(file.inode))?.npages ?? 0;
    const off = op.offset === undefined ? 0 : bytes(op.offset);
    const len = op.len === undefined ? npages * 4096 - off : bytes(op.len);
    const modes = ([] as unknown[]).concat(op.mode);
    const what = op.op === "gmem_link" ? `${op.mode} window` : modes.includes("PUNCH_HOLE") ? "punch" : "allocate";
    if (Number.isFinite(off) && Number.isFinite(len) && len > 0) range = { inode: file.inode, start: Math.floor(off / 4096), end: Math.min(npages, Math.ceil((off + len) / 4096)), what };
  }

  const parts: string[] = [];
  if (range && file) {
    const f = file;
    parts.push(`${range.what} [${range.start}, ${range.end}) of ${nm(`inode:${f.inode}`)} through file ${nm(`file:${f.id}`)} of VM ${nm(`vm:${f.vm}`)}`);
  }
  // gfns in hex (as addresses are written), pgoffs in decimal (as page ranges are).
  const runs = (xs: number[], fmt: (n: number) => string = hex) => {
    const s = [...new Set(xs)].sort((a, b) => a - b);
    const out: string[] = [];
    for (let k = 0; k < s.length; ) {
      let j = k;
      while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
      out.push(j === k ? fmt(s[k]) : `${fmt(s[k])}-${fmt(s[j])}`);
      k = j + 1;
    }
    return out.length > 4 ? `${out.slice(0, 4).join(", ")}, ... (${s.length})` : out.join(", ");
  };
  if (freed.length) {
    const byInode = new Map<number, number[]>();
    for (const p of freed) byInode.set(p.inode, [...(byInode.get(p.inode) ?? []), p.pgoff]);
    parts.push(`freed ${[...byInode].map(([i, ps]) => `${ps.length} page${ps.length === 1 ? "" : "s"} of ${nm(`inode:${i}`)} (pgoff ${runs(ps, String)})`).join(", ")}`);
  }
  if (zapped.length) {
    const byVm = new Map<number, number[]>();
    for (const z of zapped) byVm.set(z.vm, [...(byVm.get(z.vm) ?? []), z.gfn]);
    parts.push(`zapped ${[...byVm].map(([v, gs]) => `VM ${nm(`vm:${v}`)} gfn ${runs(gs)}`).join("; ")}`);
  }
  if (donated.length) parts.push(donated.map((d) => `file ${nm(`file:${d.file}`)} gave away pages [${d.range[0]}, ${d.range[1]})`).join("; "));
  if (moved.length) parts.push(moved.map((m) => `VM ${nm(`vm:${m.vm}`)} took encryption context ${m.ctx}${m.from >= 0 ? ` from VM ${nm(`vm:${m.from}`)}` : ""}`).join("; "));
  if (handedOver.length) parts.push(`the inode passes to ${handedOver.map((h) => nm(`file:${h.file}`)).join(", ")}`);
  if (added.length && !access) parts.push(`allocated ${added.length} page${added.length === 1 ? "" : "s"}`);
  if (access) parts.push(access.what);
  if (newObjects.length && !access) parts.push(`new: ${newObjects.map(nm).join(", ")}`);
  if (installed.length && !access) parts.push(`${installed.length} SPTE${installed.length === 1 ? "" : "s"} installed`);
  return { freed, added, zapped, installed, donated, moved, handedOver, newObjects, access, range, named, caption: parts.join("; ") };
}
