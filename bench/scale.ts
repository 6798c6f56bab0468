/**
 * gmemsim bench --scale: grows one simulated host step by step, through the
 * engine's `Core` interface (raw commands, no TypeScript kernel layer), to show
 * that time and memory grow linearly with populated pages and that a sparse
 * 1 TiB file costs nothing for its size.
 *
 * The host: VMs (1,024 in the full run), each with its own 1 TiB gmem inode and
 * file, bound in 1, 2 or 4 memslots (by VM id) that cover the file exactly, at
 * gfn = pgoff. Each step adds the same number of VMs and of populated pages
 * (10 million in all): pages are populated in runs of 64 at scattered offsets
 * all over the 1 TiB, by fallocate (ALLOCATE) then a guest write to every page
 * (GUEST_ACCESS), so a populated page is present in the page cache, has a frame
 * and is mapped by an SPTE: the costly case.
 *
 * Recorded per step: VMs, memslots, populated pages, wall time of the step, the
 * engine's linear memory, process RSS, and bytes per populated page (engine
 * memory, and RSS growth since before the host was built, i.e. everything).
 * Then three punches of a whole 1 TiB file are timed: empty, with 1,000
 * scattered pages, and one of the host's VMs' files.
 *
 * The issue's target: 1,024 VMs, 10 million populated pages, under 1.5 GiB of
 * resident memory, at most 32 bytes per populated page.
 */
import { writeFileSync } from "node:fs";
import * as A from "../src/abi/core-abi.js";
import { EngineCore } from "../src/core/engine.js";
import { die, parse } from "../src/cli/args.js";
import { benchContext } from "./micro.js";

const TIB_PAGES = 2 ** 28;
const RUN = 64;
const GMEM_SLOT = A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY;
const MMAP_SHARED = 3;
const MiB = 2 ** 20;

export interface ScaleStep {
  step: number;
  vms: number;
  memslots: number;
  populated_pages: number;
  step_ms: number;
  engine_bytes: number;
  rss_bytes: number;
  engine_bytes_per_page: number;
  total_bytes_per_page: number;
}

export interface PunchTiming {
  what: string;
  pages_freed: number;
  us: number;
}

/** The memslots of VM v: 1, 2 or 4, covering its 1 TiB file at gfn = pgoff. */
function slotsOf(v: number): number {
  return 1 << (v % 3);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function createVm(core: EngineCore, v: number): number {
  core.push(A.OP_VM_CREATE, v);
  core.push(A.OP_INODE_CREATE, v, TIB_PAGES, A.INODE_GMEM, MMAP_SHARED);
  core.push(A.OP_FILE_CREATE, v, v, v, A.RIGHTS_ALL);
  const n = slotsOf(v);
  const per = TIB_PAGES / n;
  for (let s = 0; s < n; s++) core.push(A.OP_SLOT_CREATE, v, s, s * per, per, v, s * per, GMEM_SLOT);
  return n;
}

/** Run r of a VM starts at a scattered, run-aligned pgoff (distinct for r < 2^22: 40,503 is odd). */
function runStart(r: number): number {
  return ((r * 40_503) % (TIB_PAGES / RUN)) * RUN;
}

/** Populates `pages` more pages of VM v (a multiple of RUN), from its run cursor on. */
function populate(core: EngineCore, v: number, firstRun: number, runs: number, map: boolean): void {
  for (let r = firstRun; r < firstRun + runs; r++) {
    const start = runStart(r);
    core.push(A.OP_ALLOCATE, v, start, start + RUN);
    if (map) for (let g = start; g < start + RUN; g++) core.push(A.OP_GUEST_ACCESS, v, g, A.ACCESS_WRITE, 0, g & 0xff, 0);
  }
}

function timePunch(core: EngineCore, inode: number): { us: number; freed: number } {
  core.flush();
  const t0 = process.hrtime.bigint();
  core.push(A.OP_PUNCH, inode, 0, TIB_PAGES);
  core.flush();
  const us = Number(process.hrtime.bigint() - t0) / 1e3;
  return { us, freed: core.results[1] };
}

export interface ScaleResult {
  steps: ScaleStep[];
  punches: PunchTiming[];
  target: { vms: number; pages: number };
  /** Whether every populated page was also written by the guest (SPTE installed), or only allocated. */
  mapped: boolean;
}

/** Grows the host; returns the per-step figures and the punch timings. */
export function growHost(vmsTarget: number, pagesTarget: number, nsteps: number, map = true): ScaleResult {
  const rss0 = process.memoryUsage().rss;
  const core = new EngineCore();
  const runsTarget = Math.round(pagesTarget / RUN);
  const cursor: number[] = [];
  let vms = 0, memslots = 0, runsDone = 0;
  const steps: ScaleStep[] = [];
  for (let s = 1; s <= nsteps; s++) {
    const t0 = process.hrtime.bigint();
    const vmsTo = Math.round((vmsTarget * s) / nsteps);
    for (; vms < vmsTo; vms++) {
      memslots += createVm(core, vms);
      cursor.push(0);
    }
    // This step's runs, spread round-robin over every VM alive so far.
    const runsTo = Math.round((runsTarget * s) / nsteps);
    const runs = runsTo - runsDone;
    for (let k = 0; k < vms; k++) {
      const share = Math.floor(runs / vms) + (k < runs % vms ? 1 : 0);
      populate(core, k, cursor[k], share, map);
      cursor[k] += share;
    }
    runsDone = runsTo;
    core.flush();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    // Check the host holds what was asked (outside the timing).
    core.push(A.OP_STATS_HOST);
    core.flush();
    const pages = runsDone * RUN;
    if (core.results[1] !== pages) throw new Error(`bench --scale: the engine holds ${core.results[1]} gmem pages, expected ${pages}`);
    const rss = process.memoryUsage().rss;
    const engine = core.memoryBytes();
    steps.push({ step: s, vms, memslots, populated_pages: pages, step_ms: ms, engine_bytes: engine, rss_bytes: rss, engine_bytes_per_page: engine / pages, total_bytes_per_page: (rss - rss0) / pages });
  }

  const punches: PunchTiming[] = [];
  // An empty 1 TiB file bound in 4 memslots: the cost must not depend on the size.
  // The first free id with 4 memslots (ids are never reused).
  let emptyId = vms;
  while (slotsOf(emptyId) !== 4) emptyId++;
  createVm(core, emptyId);
  core.flush();
  const us: number[] = [];
  for (let k = 0; k < 101; k++) us.push(timePunch(core, emptyId).us);
  punches.push({ what: `empty 1 TiB file, ${slotsOf(emptyId)} memslot(s) (median of 101)`, pages_freed: 0, us: median(us) });
  // A sparse 1 TiB file with 1,000 scattered pages, each mapped by an SPTE (the bench/workloads.ts story).
  const sparse = emptyId + 1;
  const sus: number[] = [];
  let sparseFreed = 0;
  for (let k = 0; k < 5; k++) {
    const id = sparse + k;
    createVm(core, id);
    for (let p = 0; p < 1000; p++) {
      const g = (p * 268_435 + 17) % TIB_PAGES;
      core.push(A.OP_ALLOCATE, id, g, g + 1);
      core.push(A.OP_GUEST_ACCESS, id, g, A.ACCESS_READ, 0, 0, 0);
    }
    const t = timePunch(core, id);
    sus.push(t.us);
    sparseFreed = t.freed;
  }
  punches.push({ what: "sparse 1 TiB file, 1,000 scattered mapped pages (median of 5)", pages_freed: sparseFreed, us: median(sus) });
  // One of the host's VMs, with its share of the populated pages.
  if (vms > 0) {
    const t = timePunch(core, 0);
    punches.push({ what: `host VM 0's 1 TiB file, ${slotsOf(0)} memslot(s), ${map ? "all its pages mapped" : "its pages allocated, none mapped"}`, pages_freed: t.freed, us: t.us });
  }
  return { steps, punches, target: { vms: vmsTarget, pages: pagesTarget }, mapped: map };
}

// ---------------------------------------------------------------- SVG

function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = 0; t <= max + step * 1e-9; t += step) ticks.push(t);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

function fmt(x: number): string {
  if (x === 0) return "0";
  if (Math.abs(x) >= 1e6) return `${+(x / 1e6).toFixed(2)}M`;
  if (Math.abs(x) >= 1e3) return `${+(x / 1e3).toFixed(1)}k`;
  return `${+x.toFixed(2)}`;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

interface Series {
  label: string;
  color: string;
  dash?: string;
  points: Array<[number, number]>;
  markers?: boolean;
}

/** One panel: axes with ticks and labels, the series as polylines, a legend. */
function panel(id: string, x0: number, y0: number, w: number, h: number, title: string, xlabel: string, ylabel: string, series: Series[]): string {
  // The legend sits between the title and the plot area, so it never hides a point.
  const m = { l: 64, r: 16, t: 40 + 16 * series.length, b: 48 };
  const pw = w - m.l - m.r, ph = h - m.t - m.b;
  const xmax = Math.max(...series.flatMap((s) => s.points.map((p) => p[0])));
  const ymax = Math.max(...series.flatMap((s) => s.points.map((p) => p[1])));
  const xt = niceTicks(xmax), yt = niceTicks(ymax);
  const X = (x: number) => m.l + (x / xt[xt.length - 1]) * pw;
  const Y = (y: number) => m.t + ph - (y / yt[yt.length - 1]) * ph;
  const out: string[] = [];
  out.push(`<g id="${id}" class="panel" transform="translate(${x0},${y0})">`);
  out.push(`<text x="${m.l + pw / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (const t of yt) {
    out.push(`<line x1="${m.l}" y1="${Y(t).toFixed(1)}" x2="${m.l + pw}" y2="${Y(t).toFixed(1)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${m.l - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of xt) {
    out.push(`<line x1="${X(t).toFixed(1)}" y1="${m.t + ph}" x2="${X(t).toFixed(1)}" y2="${m.t + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${X(t).toFixed(1)}" y="${m.t + ph + 18}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${h - 8}" text-anchor="middle" font-size="12">${esc(xlabel)}</text>`);
  out.push(`<text transform="translate(16,${m.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(ylabel)}</text>`);
  for (const s of series) {
    const pts = s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""} points="${pts}"/>`);
    if (s.markers) for (const [x, y] of s.points) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  series.forEach((s, k) => {
    const ly = 36 + k * 16;
    out.push(`<line x1="${m.l + 10}" y1="${ly}" x2="${m.l + 34}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`);
    out.push(`<text x="${m.l + 40}" y="${ly + 4}" font-size="11">${esc(s.label)}</text>`);
  });
  out.push(`</g>`);
  return out.join("\n");
}

/** The two-panel plot: time per step, and memory, against populated pages. */
export function scaleSvg(r: ScaleResult, subtitle: string): string {
  const W = 1000, H = 440;
  const steps = r.steps;
  const baseline = steps.length ? steps[0].rss_bytes - steps[0].total_bytes_per_page * steps[0].populated_pages : 0;
  const first = steps[0];
  const per = first ? `each step adds ${first.vms.toLocaleString("en-US")} VMs and ~${first.populated_pages.toLocaleString("en-US")} pages` : "";
  const left = panel("time", 0, 30, W / 2, H - 30, "Wall time of each step", "populated pages (all VMs)", "ms per step", [
    { label: `step time (${per})`, color: "#1f77b4", points: steps.map((s) => [s.populated_pages, s.step_ms]), markers: true },
  ]);
  const last = steps[steps.length - 1];
  const right = panel("memory", W / 2, 30, W / 2, H - 30, "Memory", "populated pages (all VMs)", "MiB", [
    { label: "process RSS growth (since before the host)", color: "#d62728", points: [[0, 0], ...steps.map((s): [number, number] => [s.populated_pages, (s.rss_bytes - baseline) / MiB])], markers: true },
    { label: "engine linear memory", color: "#2ca02c", points: [[0, 0], ...steps.map((s): [number, number] => [s.populated_pages, s.engine_bytes / MiB])], markers: true },
    { label: "budget: 32 bytes per page", color: "#777", dash: "6 4", points: [[0, 0], [last?.populated_pages ?? 1, ((last?.populated_pages ?? 1) * 32) / MiB]] },
  ]);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="13" fill="#444">${esc(subtitle)}</text>`,
    left,
    right,
    `</svg>`,
    "",
  ].join("\n");
}

// ---------------------------------------------------------------- command

/**
 * gmemsim bench --scale [--quick] [--json] [--out FILE] [--vms N] [--pages N] [--steps N]:
 * grows the host, prints a table (or JSON), writes the SVG plot to FILE
 * (default scale.svg). Returns the exit code.
 */
export async function runScale(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { json: { type: "boolean" }, quick: { type: "boolean" }, out: { type: "string" }, scale: { type: "boolean" }, vms: { type: "string" }, pages: { type: "string" }, steps: { type: "string" }, "alloc-only": { type: "boolean" } },
    "gmemsim bench --scale [--quick] [--json] [--out FILE] [--vms N] [--pages N] [--steps N] [--alloc-only]",
  );
  const quick = !!values.quick;
  const num = (v: unknown, d: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0) die(`bench --scale: ${String(v)} is not a positive integer`);
    return n;
  };
  const vmsTarget = num(values.vms, quick ? 64 : 1024);
  const pagesTarget = num(values.pages, quick ? 200_000 : 10_000_000);
  const nsteps = num(values.steps, quick ? 4 : 16);
  const out = (values.out as string | undefined) ?? "scale.svg";
  const ctx = benchContext();
  const r = growHost(vmsTarget, pagesTarget, nsteps, !values["alloc-only"]);
  const last = r.steps[r.steps.length - 1];
  const subtitle = `gmemsim bench --scale: ${last.vms.toLocaleString("en-US")} VMs x 1 TiB gmem, ${last.populated_pages.toLocaleString("en-US")} pages populated${r.mapped ? " and mapped" : " (allocated only)"} (node ${ctx.node}, ${ctx.cpu}, commit ${ctx.commit})`;
  writeFileSync(out, scaleSvg(r, subtitle));
  if (values.json) {
    console.log(JSON.stringify({ context: ctx, quick, svg: out, ...r }));
    return 0;
  }
  console.log(`gmemsim bench --scale  (node ${ctx.node}, ${ctx.cpu} x${ctx.cores}, commit ${ctx.commit}${ctx.dirty ? "+dirty" : ""}${quick ? ", quick" : ""})`);
  console.log(`each VM: a 1 TiB gmem file in 1, 2 or 4 memslots; pages populated in runs of ${RUN} at scattered offsets, ${r.mapped ? "each allocated, then written by the guest (page + frame + SPTE)" : "allocated only (page + frame, no SPTE)"}`);
  const head = `${"step".padStart(4)} ${"VMs".padStart(6)} ${"slots".padStart(6)} ${"populated".padStart(11)} ${"step ms".padStart(9)} ${"ns/new page".padStart(11)} ${"engine MiB".padStart(11)} ${"RSS MiB".padStart(9)} ${"engine B/page".padStart(13)} ${"total B/page".padStart(12)}`;
  console.log(head);
  console.log("-".repeat(head.length));
  let prev = 0;
  for (const s of r.steps) {
    const added = s.populated_pages - prev;
    prev = s.populated_pages;
    console.log(`${String(s.step).padStart(4)} ${String(s.vms).padStart(6)} ${String(s.memslots).padStart(6)} ${s.populated_pages.toLocaleString("en-US").padStart(11)} ${s.step_ms.toFixed(1).padStart(9)} ${(added ? (s.step_ms * 1e6) / added : 0).toFixed(1).padStart(11)} ${(s.engine_bytes / MiB).toFixed(1).padStart(11)} ${(s.rss_bytes / MiB).toFixed(1).padStart(9)} ${s.engine_bytes_per_page.toFixed(1).padStart(13)} ${s.total_bytes_per_page.toFixed(1).padStart(12)}`);
  }
  console.log(`\npunching a whole 1 TiB file (one PUNCH command, timed alone):`);
  for (const p of r.punches) console.log(`  ${p.what}: ${p.us.toFixed(1)} µs, ${p.pages_freed.toLocaleString("en-US")} pages freed`);
  const rssOk = last.rss_bytes < 1.5 * 2 ** 30;
  const bppOk = last.total_bytes_per_page <= 32;
  const full = last.vms >= 1024 && last.populated_pages >= 10_000_000;
  console.log(`\nthe issue's target (1,024 VMs, 10,000,000 pages: RSS under 1,536 MiB, at most 32 bytes per populated page in all)${full ? "" : ": applies to the full run; figures of this run"}:`);
  console.log(`  RSS ${(last.rss_bytes / MiB).toFixed(0)} MiB${full ? (rssOk ? ": met" : ": NOT met") : ""}; ${last.total_bytes_per_page.toFixed(1)} bytes per populated page (engine ${last.engine_bytes_per_page.toFixed(1)})${full ? (bppOk ? ": met" : ": NOT met") : ""}`);
  console.log(`plot: ${out}`);
  return 0;
}
