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
 * The scale target: 1,024 VMs, 10 million populated pages, under 1.5 GiB of
 * resident memory, at most 32 bytes per populated page.
 */
import { writeFileSync } from "node:fs";
import type { TopLevelSpec } from "vega-lite";
import { renderPlot } from "./plot.js";
import { renderTable } from "../src/cli/table.js";
import * as A from "../src/abi/core-abi.js";
import { EngineCore } from "../src/core/engine.js";
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

// ---------------------------------------------------------------- plot

/**
 * The two-panel figure, as a Vega-Lite spec: on the left, the time each step
 * took per page it populated (ns per new page, which stays flat if the cost is
 * linear whatever the step's size, and shows machine noise as noise rather than
 * as a slope); on the right, memory against populated pages, with the budget
 * of 32 bytes per page.
 */
export function scaleSpec(r: ScaleResult, subtitle: string): TopLevelSpec {
  const steps = r.steps;
  const baseline = steps.length ? steps[0].rss_bytes - steps[0].total_bytes_per_page * steps[0].populated_pages : 0;
  let prev = 0;
  const time = steps.map((s) => {
    const added = s.populated_pages - prev;
    prev = s.populated_pages;
    return { pages: s.populated_pages, ns_per_page: added ? (s.step_ms * 1e6) / added : 0 };
  });
  const last = steps[steps.length - 1];
  const memory = [
    { pages: 0, MiB: 0, series: "process RSS growth (since before the host)" },
    { pages: 0, MiB: 0, series: "engine linear memory" },
    ...steps.flatMap((s) => [
      { pages: s.populated_pages, MiB: (s.rss_bytes - baseline) / MiB, series: "process RSS growth (since before the host)" },
      { pages: s.populated_pages, MiB: s.engine_bytes / MiB, series: "engine linear memory" },
    ]),
    { pages: 0, MiB: 0, series: "budget: 32 bytes per page" },
    { pages: last?.populated_pages ?? 1, MiB: ((last?.populated_pages ?? 1) * 32) / MiB, series: "budget: 32 bytes per page" },
  ];
  const x = { field: "pages", type: "quantitative", title: "populated pages (all VMs)", axis: { labelExpr: "datum.value === 0 ? '0' : format(datum.value, '~s')" } } as const;
  const series = ["process RSS growth (since before the host)", "engine linear memory", "budget: 32 bytes per page"];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "One host grown step by step", subtitle, subtitleFontSize: 11 },
    background: "white",
    config: { font: "DejaVu Sans", view: { stroke: null } },
    hconcat: [
      {
        name: "time",
        title: "Time per populated page, per step",
        width: 380,
        height: 260,
        data: { values: time },
        mark: { type: "line", point: true },
        encoding: { x, y: { field: "ns_per_page", type: "quantitative", title: "ns per new page", scale: { zero: true } } },
      },
      {
        name: "memory",
        title: "Memory",
        width: 380,
        height: 260,
        data: { values: memory },
        mark: { type: "line", point: true },
        encoding: {
          x,
          y: { field: "MiB", type: "quantitative", title: "MiB" },
          color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom", direction: "vertical", labelLimit: 400 }, scale: { domain: series, range: ["#d62728", "#2ca02c", "#777777"] } },
          strokeDash: { condition: { test: "datum.series === 'budget: 32 bytes per page'", value: [6, 4] }, value: [1, 0] },
        },
      },
    ],
  } as TopLevelSpec;
}

// ---------------------------------------------------------------- command

/** The flags of gmemsim bench --scale (declared in src/cli/commands.ts). */
export interface ScaleOptions {
  json?: boolean;
  quick?: boolean;
  /** The SVG's file (default scale.svg); the PNG goes beside it. */
  out?: string;
  vms?: number;
  pages?: number;
  steps?: number;
  allocOnly?: boolean;
}

/**
 * gmemsim bench --scale: grows the host, prints a table (or JSON), and plots
 * it to FILE.svg and FILE.png. Returns the exit code.
 */
export async function runScale(values: ScaleOptions): Promise<number> {
  const quick = !!values.quick;
  const vmsTarget = values.vms ?? (quick ? 64 : 1024);
  const pagesTarget = values.pages ?? (quick ? 200_000 : 10_000_000);
  const nsteps = values.steps ?? (quick ? 4 : 16);
  const out = values.out ?? "scale.svg";
  const png = out.replace(/\.svg$/i, "") + ".png";
  const ctx = benchContext();
  const r = growHost(vmsTarget, pagesTarget, nsteps, !values.allocOnly);
  const last = r.steps[r.steps.length - 1];
  const subtitle = `gmemsim bench --scale: ${last.vms.toLocaleString("en-US")} VMs x 1 TiB gmem, ${last.populated_pages.toLocaleString("en-US")} pages populated${r.mapped ? " and mapped" : " (allocated only)"} (node ${ctx.node}, ${ctx.cpu}, commit ${ctx.commit})`;
  const plot = await renderPlot(scaleSpec(r, subtitle));
  writeFileSync(out, plot.svg);
  writeFileSync(png, plot.png);
  if (values.json) {
    console.log(JSON.stringify({ context: ctx, quick, svg: out, png, ...r }));
    return 0;
  }
  console.log(`gmemsim bench --scale  (node ${ctx.node}, ${ctx.cpu} x${ctx.cores}, commit ${ctx.commit}${ctx.dirty ? "+dirty" : ""}${quick ? ", quick" : ""})`);
  console.log(`each VM: a 1 TiB gmem file in 1, 2 or 4 memslots; pages populated in runs of ${RUN} at scattered offsets, ${r.mapped ? "each allocated, then written by the guest (page + frame + SPTE)" : "allocated only (page + frame, no SPTE)"}`);
  let prev = 0;
  const rows = r.steps.map((s) => {
    const added = s.populated_pages - prev;
    prev = s.populated_pages;
    return [s.step, s.vms, s.memslots, s.populated_pages.toLocaleString("en-US"), s.step_ms.toFixed(1), (added ? (s.step_ms * 1e6) / added : 0).toFixed(1), (s.engine_bytes / MiB).toFixed(1), (s.rss_bytes / MiB).toFixed(1), s.engine_bytes_per_page.toFixed(1), s.total_bytes_per_page.toFixed(1)];
  });
  const titles = ["step", "VMs", "slots", "populated", "step ms", "ns/new page", "engine MiB", "RSS MiB", "engine B/page", "total B/page"];
  console.log(renderTable(titles.map((title) => ({ title, align: "right" as const })), rows));
  console.log(`\npunching a whole 1 TiB file (one PUNCH command, timed alone):`);
  for (const p of r.punches) console.log(`  ${p.what}: ${p.us.toFixed(1)} µs, ${p.pages_freed.toLocaleString("en-US")} pages freed`);
  const rssOk = last.rss_bytes < 1.5 * 2 ** 30;
  const bppOk = last.total_bytes_per_page <= 32;
  const full = last.vms >= 1024 && last.populated_pages >= 10_000_000;
  console.log(`\nthe scale target (1,024 VMs, 10,000,000 pages: RSS under 1,536 MiB, at most 32 bytes per populated page in all)${full ? "" : ": applies to the full run; figures of this run"}:`);
  console.log(`  RSS ${(last.rss_bytes / MiB).toFixed(0)} MiB${full ? (rssOk ? ": met" : ": NOT met") : ""}; ${last.total_bytes_per_page.toFixed(1)} bytes per populated page (engine ${last.engine_bytes_per_page.toFixed(1)})${full ? (bppOk ? ": met" : ": NOT met") : ""}`);
  console.log(`plot: ${out}, ${png}`);
  return 0;
}
