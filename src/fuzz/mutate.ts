/**
 * Mutations of corpus traces, for coverage-guided fuzzing (./guided.ts). Each
 * takes a trace that reached something new and changes it a little, so that
 * what it set up (VMs, files, links, donations) is kept and reused:
 * - aim at a window edge: an op whose page range starts or ends at the first or
 *   last page of a window some gmem_link of the trace made (or one page past
 *   it), through the source file or the linked one: fallocate (allocate or
 *   punch), a memslot binding, or a link of part of the window;
 * - re-link: a gmem_link from a file the trace linked earlier (re-sharing);
 * - change one field of an op to the same field of a fresh op of its kind;
 * - insert a fresh op, delete an op, duplicate an op, or splice a fresh tail.
 * Randomness comes from a seeded generator, so a run stays reproducible.
 */
import { FD_NAMES, VM_NAMES } from "./arbitraries.js";

export type Op = Record<string, unknown>;
export type Trace = Op[];

/** A small seeded generator (mulberry32): floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const PAGE = 4096;

interface Window {
  at: number;
  fd: unknown;
  as: unknown;
  vm: unknown;
  start: number;
  end: number;
  mode: unknown;
}

/**
 * The windows the trace's gmem_link ops name (pages), with the source and new
 * file names: those that succeeded when the trace last ran, if any did.
 */
function windows(trace: Trace, ok: WeakSet<object>): Window[] {
  const out: Window[] = [];
  for (let k = 0; k < trace.length; k++) {
    const o = trace[k];
    if (o.op !== "gmem_link") continue;
    const off = typeof o.offset === "number" ? o.offset / PAGE : 0;
    // A link without offset and len takes the whole file: its edges are 0 and the 1 MiB file's end.
    const len = typeof o.len === "number" ? o.len / PAGE : typeof o.offset === "number" ? 0 : 256;
    if (Number.isInteger(off) && Number.isInteger(len) && len > 0) out.push({ at: k, fd: o.fd, as: o.as, vm: o.vm, start: off, end: off + len, mode: o.mode });
  }
  const live = out.filter((w) => ok.has(trace[w.at]));
  return live.length ? live : out;
}

/** A window, donations three times as often: a donor's edges are where isolation is finest. */
function pickWindow(r: Rand, ws: Window[]): Window {
  // As a pick from the list with each donation three times over, without making that list.
  const weight = (w: Window) => (w.mode === "donate" ? 3 : 1);
  let total = 0;
  for (const w of ws) total += weight(w);
  let at = Math.floor(r() * total);
  for (const w of ws) {
    at -= weight(w);
    if (at < 0) return w;
  }
  return ws[ws.length - 1];
}

/** t with op inserted before index at (a copy). */
function insertAt(t: Trace, at: number, op: Op): Trace {
  const out = t.slice();
  out.splice(at, 0, op);
  return out;
}

/** A file name no op of the trace binds: binding a live name again is a trace error, not a link. */
function freshFdName(t: Trace): string {
  const used = new Set<unknown>();
  for (const o of t) if (o.as !== undefined) used.add(o.as);
  let n = FD_NAMES.length;
  while (used.has(`g${n}`)) n++;
  return `g${n}`;
}

/** A page at or next to an edge of [start, end). */
function edgePage(r: Rand, w: { start: number; end: number }): number {
  return Math.max(0, pick(r, [w.start - 1, w.start, w.start, w.end - 1, w.end - 1, w.end - 1, w.end]));
}

/** An op aimed at an edge of one of the trace's link windows, inserted after that link. */
function aimAtEdge(t: Trace, r: Rand, ok: WeakSet<object>): Trace | null {
  const ws = windows(t, ok);
  if (!ws.length) return null;
  const w = pickWindow(r, ws);
  const fd = r() < 0.6 ? w.fd : w.as;
  const page = edgePage(r, w);
  const npages = pick(r, [1, 1, 1, 2]);
  // From the page backwards half the time, so that a range can end exactly at an edge.
  const start = r() < 0.5 ? page : Math.max(0, page + 1 - npages);
  const kind = r();
  let op: Op;
  if (kind < 0.5) op = { op: "fallocate", fd, mode: r() < 0.6 ? "KEEP_SIZE" : ["KEEP_SIZE", "PUNCH_HOLE"], offset: start * PAGE, len: npages * PAGE };
  else if (kind < 0.8) {
    // A memslot of a few pages whose guest_memfd range meets the edge.
    const slotPages = pick(r, [4, 16]);
    const pg = Math.max(0, r() < 0.5 ? page : page + 1 - slotPages);
    op = { op: "set_user_memory_region2", vm: r() < 0.5 ? w.vm : pick(r, VM_NAMES), slot: Math.floor(r() * 4), flags: "GUEST_MEMFD", guest_phys_addr: Math.floor(r() * 7) * 65536, memory_size: slotPages * PAGE, userspace_addr: 0, guest_memfd: fd, guest_memfd_offset: pg * PAGE };
  } else op = { op: "gmem_link", fd: w.fd, vm: pick(r, VM_NAMES), as: freshFdName(t), perm: ["r"], offset: start * PAGE, len: npages * PAGE, mode: pick(r, ["share", "donate", "migrate"]) };
  return insertAt(t, w.at + 1 + Math.floor(r() * (t.length - w.at)), op);
}

/** A gmem_link from a file that was itself linked: re-sharing, with any rights asked. */
function relink(t: Trace, r: Rand, ok: WeakSet<object>): Trace | null {
  const ws = windows(t, ok);
  if (!ws.length) return null;
  const w = pick(r, ws);
  // Mostly the rights a share may carry, so that the request is about them, not about alloc or punch.
  const perm = ["r", "w", "x"].filter(() => r() < 0.6);
  if (r() < 0.1) perm.push(pick(r, ["alloc", "punch"]));
  const len = Math.max(1, Math.min(w.end - w.start, 1 + Math.floor(r() * 4)));
  const op: Op = { op: "gmem_link", fd: w.as, vm: pick(r, VM_NAMES), as: freshFdName(t), perm, offset: w.start * PAGE, len: len * PAGE, mode: pick(r, ["share", "share", "donate", "migrate"]) };
  return insertAt(t, w.at + 1 + Math.floor(r() * (t.length - w.at)), op);
}

/** The fresh ops by kind, in their order (built once per list of fresh ops, not per mutation). */
const freshByKind = new WeakMap<readonly Op[], Map<unknown, Op[]>>();

function ofKind(fresh: readonly Op[], kind: unknown): readonly Op[] {
  let byKind = freshByKind.get(fresh);
  if (!byKind) {
    byKind = new Map();
    for (const o of fresh) {
      const list = byKind.get(o.op);
      if (list) list.push(o);
      else byKind.set(o.op, [o]);
    }
    freshByKind.set(fresh, byKind);
  }
  return byKind.get(kind) ?? [];
}

/** One field of one op set to the same field of a fresh op of that kind, if the fresh ops have one. */
function changeField(t: Trace, r: Rand, fresh: readonly Op[]): Trace | null {
  if (!t.length) return null;
  const k = Math.floor(r() * t.length);
  const same = ofKind(fresh, t[k].op);
  if (!same.length) return null;
  const donor = pick(r, same);
  const fields = Object.keys(donor).filter((f) => f !== "op");
  if (!fields.length) return null;
  const f = pick(r, fields);
  const out = [...t];
  out[k] = { ...t[k], [f]: donor[f] };
  return out;
}

/**
 * A mutant of `trace`: one to three of the mutations above. `ok` holds the ops
 * that returned 0 when their trace ran (mutations aim at links that worked).
 */
export function mutate(trace: Trace, r: Rand, fresh: readonly Op[], ok: WeakSet<object> = new WeakSet()): Trace {
  let t = trace;
  const rounds = 1 + Math.floor(r() * 3);
  for (let n = 0; n < rounds; n++) {
    const m = r();
    let next: Trace | null;
    if (m < 0.3) next = aimAtEdge(t, r, ok);
    else if (m < 0.42) next = relink(t, r, ok);
    else if (m < 0.62) next = changeField(t, r, fresh);
    else if (m < 0.77) {
      const at = Math.floor(r() * (t.length + 1));
      next = insertAt(t, at, pick(r, fresh));
    } else if (m < 0.85) {
      const at = Math.floor(r() * t.length);
      if (t.length > 1) {
        next = t.slice();
        next.splice(at, 1);
      } else next = null;
    } else if (m < 0.92) {
      const at = Math.floor(r() * t.length);
      next = t.length ? insertAt(t, at + 1, t[at]) : null;
    } else {
      const at = Math.floor(r() * (t.length + 1));
      const start = Math.floor(r() * fresh.length);
      next = t.slice(0, at);
      for (let i = start, end = Math.min(fresh.length, start + 1 + Math.floor(r() * 10)); i < end; i++) next.push(fresh[i]);
    }
    if (next) t = next;
  }
  // Keep traces as short as the generator's, so that a mutant costs no more than a fresh trace.
  return t.length > 80 ? t.slice(0, 80) : t;
}
