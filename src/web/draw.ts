/**
 * Draws a Scene as SVG. Everything that views an inode is drawn in that inode's
 * pgoff columns: its page cache as a strip, each gmem file over its window,
 * each memslot over the file range it binds (labelled with its own gfns), each
 * host map over what it maps. So the same page sits in one column whatever gfn
 * each VM has it at, and a punch lights up that column in every VM.
 * Large states are summarised: pages in buckets (density), rows past a limit
 * counted in one summary row. Every drawn object carries data attributes with
 * what it stands for (the browser test counts them against the snapshot).
 */
import type { Effect, Scene, SceneFile, SceneInode, SceneMap, SceneSlot, SceneVm } from "./protocol.js";

const PG_HWPOISON = 2;
const PG_PRIVATE = 4;
const RIGHT_W = 2;
/** Rows drawn one by one per inode (files, slots, maps each); the rest are summarised. */
const MAX_ROWS = 10;
const MAX_VMS = 16;

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const hex = (n: number) => "0x" + n.toString(16);
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
const size = (pages: number) => {
  const b = pages * 4096;
  return b >= 1 << 30 && b % (1 << 30) === 0 ? `${b / (1 << 30)} GiB` : b >= 1 << 20 && b % (1 << 20) === 0 ? `${b / (1 << 20)} MiB` : `${b / 1024} KiB`;
};
const rightsText = (r: number) => (r & 1 ? "r" : "-") + (r & 2 ? "w" : "-") + (r & 4 ? "x" : "-");

export interface DrawOptions {
  width: number;
  /** The scene key (e.g. "vm:1") of the object the user selected. */
  selected?: string | null;
  /** The op's outcome, shown on the objects it names when refused. */
  refusal?: { errno: string; why: string } | null;
  /** Objects a check failure after this op names (scene keys). */
  violated?: Set<string>;
}

/** Columns of one inode's strip: pages grouped into buckets when there are more than fit. */
class Columns {
  readonly bucket: number;
  readonly cells: number;
  constructor(
    readonly npages: number,
    readonly x0: number,
    readonly w: number,
  ) {
    const max = Math.max(8, Math.min(256, Math.floor(w / 5)));
    this.bucket = Math.max(1, Math.ceil(npages / max));
    this.cells = Math.max(1, Math.ceil(npages / this.bucket));
  }
  cw(): number {
    return this.w / this.cells;
  }
  /** x of a page offset (left edge of its cell's share). */
  x(pgoff: number): number {
    return this.x0 + (Math.max(0, Math.min(this.npages, pgoff)) / Math.max(1, this.npages)) * this.w;
  }
  cell(pgoff: number): number {
    return Math.floor(pgoff / this.bucket);
  }
  cellX(c: number): number {
    return this.x0 + c * this.cw();
  }
}

interface Ctx {
  out: string[];
  y: number;
  W: number;
  labelW: number;
  stacked: boolean;
  effect: Effect | null;
  opts: DrawOptions;
  named: Set<string>;
  vms: Map<number, SceneVm>;
}

function cls(key: string, c: Ctx, base: string): string {
  const parts = [base];
  if (c.named.has(key)) parts.push("named");
  if (c.opts.refusal && c.named.has(key)) parts.push("refused");
  if (c.opts.selected === key) parts.push("selected");
  if (c.opts.violated?.has(key)) parts.push("violated");
  if (c.effect?.newObjects.includes(key)) parts.push("fx-new");
  return parts.join(" ");
}

/** A row's label: left of the bar, or above it on a narrow page. Returns the bar's y. */
function label(c: Ctx, text: string, sub: string, key: string, own = true): number {
  // A memslot row shows its VM's refusal (the op named the VM), but a check failure only on the VM itself.
  const tag = (c.opts.refusal && c.named.has(key) ? ` <tspan class="errno">${esc(c.opts.refusal.errno)}</tspan>` : "") + (own && c.opts.violated?.has(key) ? ` <tspan class="errno">⚠ check failed</tspan>` : "");
  if (c.stacked) {
    c.out.push(`<text class="label" x="8" y="${c.y + 11}">${esc(text)}${tag} <tspan class="sub">${esc(sub)}</tspan></text>`);
    c.y += 14;
  } else {
    c.out.push(`<text class="label" x="8" y="${c.y + 11}">${esc(text)}${tag}</text>`);
    if (sub) c.out.push(`<text class="sub" x="8" y="${c.y + 23}">${esc(sub)}</text>`);
  }
  return c.y;
}

function drawStrip(c: Ctx, inode: SceneInode, cols: Columns, pageCtxColor: (ctx: number) => string): void {
  const present = new Uint32Array(cols.cells);
  const poisoned = new Uint32Array(cols.cells);
  const priv = new Uint32Array(cols.cells);
  const ctxOf: number[] = new Array(cols.cells).fill(0);
  for (const p of inode.pages) {
    const k = cols.cell(p.pgoff);
    present[k]++;
    if (p.flags & PG_HWPOISON) poisoned[k]++;
    if (p.flags & PG_PRIVATE) {
      priv[k]++;
      ctxOf[k] = p.ctx;
    }
  }
  const freed = new Uint32Array(cols.cells);
  const added = new Uint32Array(cols.cells);
  for (const f of c.effect?.freed ?? []) if (f.inode === inode.id) freed[cols.cell(f.pgoff)]++;
  for (const f of c.effect?.added ?? []) if (f.inode === inode.id) added[cols.cell(f.pgoff)]++;
  const key = `inode:${inode.id}`;
  const y = c.y;
  const h = 22;
  const cw = cols.cw();
  c.out.push(`<g class="${cls(key, c, "strip")}" data-obj="inode" data-key="${key}" data-id="${inode.id}" data-npages="${inode.npages}" data-pages="${inode.pages.length}" data-bucket="${cols.bucket}" tabindex="0" role="button" aria-label="${esc(inode.name)}: page cache">`);
  c.out.push(`<rect class="strip-bg" x="${cols.x0}" y="${y}" width="${cols.w}" height="${h}"/>`);
  for (let k = 0; k < cols.cells; k++) {
    const first = k * cols.bucket;
    const n = Math.min(cols.bucket, cols.npages - first);
    if (!present[k] && !freed[k]) continue;
    const x = cols.cellX(k);
    const title = `${first >= inode.npages ? "past EOF: " : ""}pgoff ${first}${n > 1 ? `-${first + n - 1}` : ""}: ${present[k]} present${poisoned[k] ? `, ${poisoned[k]} poisoned` : ""}${priv[k] ? `, ${priv[k]} private (context ${ctxOf[k]})` : ""}${freed[k] ? `, ${freed[k]} freed by this op` : ""}`;
    if (present[k]) {
      const fill = poisoned[k] ? "var(--poison)" : priv[k] ? pageCtxColor(ctxOf[k]) : "var(--page)";
      const op = n > 1 ? Math.max(0.3, present[k] / n) : 1;
      const fx = added[k] ? " fx-added" : freed[k] ? " fx-freed" : "";
      c.out.push(`<rect class="page${fx}" data-pgoff="${first}" data-n="${n}" data-present="${present[k]}" data-poisoned="${poisoned[k]}" data-private="${priv[k]}" x="${x + 0.5}" y="${y + 1}" width="${Math.max(1, cw - 1)}" height="${h - 2}" fill="${fill}" fill-opacity="${op}"><title>${esc(title)}</title></rect>`);
      if (poisoned[k] && cw >= 6) c.out.push(`<text class="poison-mark" x="${x + cw / 2}" y="${y + 15}" text-anchor="middle">☠</text>`);
    } else {
      c.out.push(`<rect class="page ghost fx-freed" data-pgoff="${first}" data-n="${n}" data-present="0" data-freed="${freed[k]}" x="${x + 0.5}" y="${y + 1}" width="${Math.max(1, cw - 1)}" height="${h - 2}"><title>${esc(title)}</title></rect>`);
    }
  }
  c.out.push(`</g>`);
  // pgoff scale under the strip
  c.out.push(`<text class="axis" x="${cols.x0}" y="${y + h + 11}">pgoff 0</text><text class="axis" x="${cols.x0 + cols.w}" y="${y + h + 11}" text-anchor="end">${cols.npages}</text>`);
  if (cols.npages > inode.npages) {
    const ex = cols.x(inode.npages);
    c.out.push(`<line class="eof" x1="${ex}" x2="${ex}" y1="${y - 3}" y2="${y + h + 3}"/><text class="axis" x="${ex + 3}" y="${y + h + 11}">EOF ${inode.npages}</text>`);
  }
  if (cols.bucket > 1) c.out.push(`<text class="axis" x="${cols.x0 + cols.w / 2}" y="${y + h + 11}" text-anchor="middle">one cell = ${cols.bucket} pages</text>`);
  c.y += h + 16;
}

function bar(c: Ctx, cols: Columns, start: number, n: number, y: number, h: number, klass: string, attrs: string, inner = ""): void {
  const x = cols.x(start);
  const w = Math.max(2, cols.x(start + n) - x);
  c.out.push(`<g class="${klass}" ${attrs} tabindex="0" role="button"><rect class="bar" x="${x}" y="${y}" width="${w}" height="${h}" rx="3"/>${inner}</g>`);
}

function drawFile(c: Ctx, f: SceneFile, cols: Columns): void {
  const key = `file:${f.id}`;
  const moved = c.effect?.handedOver.some((h) => h.file === f.id);
  const vm = c.vms.get(f.vm);
  const what = f.migrating
    ? "migrating: bound but gated until the move"
    : f.origin === "migrated"
      ? "owner by migration"
      : vm?.movedAway && !f.perm.length
        ? "its VM's context moved away"
        : f.origin;
  const perm = f.perm.length ? f.perm.join(" ") : "no rights";
  const y = label(c, `file ${f.name} · VM ${f.vmName}`, `${what} · ${perm}`, key);
  const h = 14;
  const by = c.stacked ? y : y + 4;
  const inner: string[] = [];
  for (const [a, b] of f.blocked) {
    const fx = c.effect?.donated.some((d) => d.file === f.id && d.range[0] === a) ? " fx-donated" : "";
    const x = cols.x(a);
    inner.push(`<rect class="blocked${fx}" data-blocked="${a},${b}" x="${x}" y="${by}" width="${Math.max(2, cols.x(b) - x)}" height="${h}"><title>pages [${a}, ${b}) donated away: unreachable through this file</title></rect>`);
    if (cols.x(b) - x > 60) inner.push(`<text class="bar-text" x="${x + 4}" y="${by + 11}">donated [${a}, ${b})</text>`);
  }
  const klass = cls(key, c, `file origin-${f.origin}${f.migrating ? " migrating" : ""}${moved ? " fx-handover" : ""}`);
  bar(c, cols, f.window[0], f.window[1] - f.window[0], by, h, klass, `data-obj="file" data-key="${key}" data-id="${f.id}" data-vm="${f.vm}" data-name="${esc(f.name)}"`, inner.join(""));
  c.y = by + h + (c.stacked ? 6 : 14);
}

function drawSlot(c: Ctx, vm: SceneVm, s: SceneSlot, files: Map<number, SceneFile>, cols: Columns): void {
  const key = `slot:${vm.id}:${s.slot}`;
  const f = files.get(s.file);
  const via = f ? `file ${f.name} pgoff [${s.pgoff}, ${s.pgoff + s.npages})` : `host memory at pgoff ${s.pgoff}`;
  const y = label(c, `VM ${vm.name} · slot ${s.slot}`, `gfn ${hex(s.baseGfn)}-${hex(s.baseGfn + s.npages - 1)} → ${via}`, `vm:${vm.id}`, false);
  const h = 16;
  const by = c.stacked ? y : y + 3;
  const inner: string[] = [];
  // SPTEs, in the columns of the pages they map (the slot's gfn g sits at pgoff s.pgoff + g - base).
  const per = new Map<number, { n: number; w: number }>();
  for (const sp of s.sptes) {
    const k = cols.cell(s.pgoff + sp.gfn - s.baseGfn);
    const e = per.get(k) ?? { n: 0, w: 0 };
    e.n++;
    if (sp.rights & RIGHT_W) e.w++;
    per.set(k, e);
  }
  const cw = cols.cw();
  for (const [k, e] of per) {
    const x = cols.cellX(k);
    inner.push(`<rect class="spte${e.w ? "" : " ro"}" data-n="${e.n}" x="${x + 1}" y="${by + 3}" width="${Math.max(1, cw - 2)}" height="${h - 6}"><title>${plural(e.n, "SPTE")} (${e.w ? "writable" : "read-only"})</title></rect>`);
  }
  // Donated windows of the slot's file: greyed in the donor's slot.
  for (const [a, b] of f?.blocked ?? []) {
    const lo = Math.max(a, s.pgoff);
    const hi = Math.min(b, s.pgoff + s.npages);
    if (lo >= hi) continue;
    const fx = c.effect?.donated.some((d) => d.file === f!.id) ? " fx-donated" : "";
    inner.push(`<rect class="blocked${fx}" x="${cols.x(lo)}" y="${by}" width="${Math.max(2, cols.x(hi) - cols.x(lo))}" height="${h}"><title>gfn ${hex(s.baseGfn + lo - s.pgoff)}-${hex(s.baseGfn + hi - s.pgoff - 1)}: donated away, unreachable for VM ${vm.name}</title></rect>`);
  }
  // What this op zapped here: a red cross at each lost gfn.
  const zapped = (c.effect?.zapped ?? []).filter((z) => z.vm === vm.id && z.gfn >= s.baseGfn && z.gfn < s.baseGfn + s.npages);
  const zcells = new Map<number, number[]>();
  for (const z of zapped) {
    const k = cols.cell(s.pgoff + z.gfn - s.baseGfn);
    zcells.set(k, [...(zcells.get(k) ?? []), z.gfn]);
  }
  for (const [k, gfns] of zcells) {
    const x = cols.cellX(k) + cw / 2;
    inner.push(`<g class="zap fx-zap" data-zapped="${gfns.length}"><title>zapped: gfn ${gfns.map(hex).join(", ")}</title><line x1="${x - 5}" y1="${by + 2}" x2="${x + 5}" y2="${by + h - 2}"/><line x1="${x + 5}" y1="${by + 2}" x2="${x - 5}" y2="${by + h - 2}"/></g>`);
  }
  if (zapped.length) {
    const first = Math.min(...zapped.map((z) => z.gfn));
    const lastGfn = Math.max(...zapped.map((z) => z.gfn));
    const xs = cols.cellX(cols.cell(s.pgoff + lastGfn - s.baseGfn)) + cw / 2 + 8;
    const pg = (g: number) => s.pgoff + g - s.baseGfn;
    // A contiguous run reads as a range; scattered gfns as the first and how many more.
    const what =
      zapped.length === 1 ? `gfn ${hex(first)} (pgoff ${pg(first)})`
      : lastGfn - first + 1 === zapped.length ? `gfn ${hex(first)}-${hex(lastGfn)} (pgoff ${pg(first)}-${pg(lastGfn)})`
      : `gfn ${hex(first)} +${zapped.length - 1} more (pgoff ${pg(first)}, ...)`;
    inner.push(`<text class="zap-text" x="${Math.min(xs + 6, c.W - 230)}" y="${by + 12}">lost ${what}</text>`);
  }
  const moved = vm.movedAway ? " moved-away" : "";
  bar(c, cols, s.pgoff, s.npages, by, h, cls(key, c, `slot${moved}`), `data-obj="slot" data-key="vm:${vm.id}" data-vm="${vm.id}" data-slot="${s.slot}" data-sptes="${s.sptes.length}"`, inner.join(""));
  c.y = by + h + (c.stacked ? 6 : 14);
}

function drawMap(c: Ctx, m: SceneMap, cols: Columns): void {
  const key = `map:${m.id}`;
  const y = label(c, `host map ${m.name}`, `${rightsText(m.rights)} · hva ${hex(m.hva * 4096)}`, key);
  const by = c.stacked ? y : y + 4;
  bar(c, cols, m.pgoff, m.npages, by, 10, cls(key, c, "map"), `data-obj="map" data-key="${key}" data-id="${m.id}"`);
  c.y = by + 10 + (c.stacked ? 6 : 16);
}

function summaryRow(c: Ctx, text: string, attrs: string): void {
  c.out.push(`<text class="summary" x="${c.stacked ? 8 : c.labelW + 10}" y="${c.y + 11}" ${attrs}>${esc(text)}</text>`);
  c.y += 18;
}

/** The op's target range, as a band down the inode's section, drawn under everything else. */
function drawRange(c: Ctx, cols: Columns, top: number, at: number, inode: SceneInode): void {
  const r = c.effect?.range;
  if (!r || r.inode !== inode.id) return;
  const x = cols.x(r.start);
  const w = Math.max(3, cols.x(r.end) - x);
  const bad = c.opts.refusal ? " refused-range" : "";
  c.out.splice(at, 0, `<g class="range fx-range${bad}" data-obj="range"><rect x="${x}" y="${top - 14}" width="${w}" height="${c.y - top + 14}"/><text x="${x + 3}" y="${top - 4}">${esc(r.what)} [${r.start}, ${r.end})${c.opts.refusal ? ` refused: ${esc(c.opts.refusal.errno)}` : ""}</text></g>`);
}

function drawAccess(c: Ctx, cols: Columns, top: number, inode: SceneInode): void {
  const a = c.effect?.access;
  if (!a || a.inode !== inode.id || a.pgoff === undefined) return;
  const x = cols.cellX(cols.cell(a.pgoff)) + cols.cw() / 2;
  const bad = /exit|SIG|E[A-Z]+/.test(a.what.split(": ").at(-1) ?? "");
  c.out.push(`<g class="access fx-access${bad ? " bad" : ""}" data-obj="access"><line x1="${x}" y1="${top}" x2="${x}" y2="${c.y - 4}"/><circle cx="${x}" cy="${top + 2}" r="4"/></g>`);
}

function drawVms(c: Ctx, scene: Scene, ctxColor: (n: number) => string): void {
  const vms = scene.vms;
  c.out.push(`<text class="section" x="8" y="${c.y + 13}">${plural(vms.length, "VM")} · host: ${plural(scene.gmemPages, "gmem page")}${scene.anonPages ? `, ${plural(scene.anonPages, "anonymous page")}` : ""}</text>`);
  c.y += 20;
  let x = 8;
  const shown = vms.slice(0, MAX_VMS);
  for (const vm of shown) {
    const key = `vm:${vm.id}`;
    const lost = c.effect?.zapped.filter((z) => z.vm === vm.id).length ?? 0;
    const text = `VM ${vm.name} · ${plural(vm.sptes, "SPTE")}${lost ? ` (lost ${lost})` : ""} · ${plural(vm.counters.faults, "fault")}, ${plural(vm.counters.zaps, "zap")}, ${plural(vm.counters.exits, "exit")}${vm.movedAway ? " · context moved away" : ""}`;
    const w = Math.min(c.W - 16, 22 + text.length * 6.4);
    if (x + w > c.W - 8) {
      x = 8;
      c.y += 26;
    }
    const zapped = c.effect?.zapped.some((z) => z.vm === vm.id) ? " fx-zapchip" : "";
    const fresh = c.effect?.moved.some((m) => m.vm === vm.id) ? " fx-handover" : "";
    c.out.push(`<g class="${cls(key, c, `vm${vm.movedAway ? " moved-away" : ""}${zapped}${fresh}`)}" data-obj="vm" data-key="${key}" data-id="${vm.id}" data-sptes="${vm.sptes}" data-slots="${vm.slots.length}" tabindex="0" role="button" aria-label="${esc(text)}"><rect x="${x}" y="${c.y}" width="${w}" height="20" rx="10"/><circle cx="${x + 10}" cy="${c.y + 10}" r="4" fill="${ctxColor(vm.ctx)}"/><text x="${x + 18}" y="${c.y + 14}">${esc(text)}</text></g>`);
    x += w + 8;
  }
  c.y += 26;
  if (vms.length > shown.length) {
    const rest = vms.slice(MAX_VMS);
    summaryRow(c, `+ ${plural(rest.length, "more VM")}: ${plural(rest.reduce((n, v) => n + v.sptes, 0), "SPTE")}`, `data-obj="vm-summary" data-vms="${rest.length}" data-sptes="${rest.reduce((n, v) => n + v.sptes, 0)}"`);
  }
}

/** The whole picture, as an SVG string, and its height. */
export function drawScene(scene: Scene, effect: Effect | null, opts: DrawOptions): { svg: string; height: number } {
  const W = Math.max(360, Math.round(opts.width));
  const stacked = W < 640;
  const labelW = stacked ? 0 : Math.min(300, Math.round(W * 0.34));
  const c: Ctx = { out: [], y: 6, W, labelW, stacked, effect, opts, named: new Set(effect?.named ?? []), vms: new Map(scene.vms.map((v) => [v.id, v])) };
  const palette = ["#0b7a75", "#8a3ffc", "#d12771", "#b28600", "#0072c3", "#198038"];
  const ctxColor = (n: number) => (n === 0 ? "var(--muted)" : palette[(n - 1) % palette.length]);

  drawVms(c, scene, ctxColor);
  const files = new Map(scene.files.map((f) => [f.id, f]));
  const x0 = stacked ? 8 : labelW + 10;
  const stripW = W - x0 - 10;
  const used = scene.inodes.filter((i) => !i.anon || i.pages.length || scene.vms.some((v) => v.slots.some((s) => s.inode === i.id)) || scene.maps.some((m) => m.inode === i.id));
  for (const inode of used) {
    // A shmem inode may hold pages past its size (fallocate with KEEP_SIZE): the strip runs on to them.
    const span = inode.pages.reduce((n, p) => Math.max(n, p.pgoff + 1), inode.npages);
    const cols = new Columns(span, x0, stripW);
    const poisoned = inode.pages.filter((p) => p.flags & PG_HWPOISON).length;
    const priv = inode.pages.filter((p) => p.flags & PG_PRIVATE).length;
    c.out.push(`<line class="sep" x1="0" x2="${W}" y1="${c.y}" y2="${c.y}"/>`);
    c.y += 6;
    c.out.push(`<text class="section" x="8" y="${c.y + 13}">${esc(inode.anon ? `anonymous memory ${inode.id}` : inode.name)} · ${size(inode.npages)} · ${plural(inode.pages.length, "page")} present${poisoned ? ` · ${poisoned} poisoned` : ""}${priv ? ` · ${priv} private` : ""}</text>`);
    c.y += 20;
    if (effect?.range?.inode === inode.id) c.y += 12;
    const top = c.y;
    const at = c.out.length;
    if (!stacked) c.out.push(`<text class="label" x="8" y="${c.y + 15}">page cache</text>`);
    drawStrip(c, inode, cols, ctxColor);
    const ifiles = scene.files.filter((f) => f.inode === inode.id);
    ifiles.slice(0, MAX_ROWS).forEach((f) => drawFile(c, f, cols));
    if (ifiles.length > MAX_ROWS) summaryRow(c, `+ ${plural(ifiles.length - MAX_ROWS, "more file")}`, `data-obj="file-summary" data-files="${ifiles.length - MAX_ROWS}"`);
    const slots = scene.vms.flatMap((vm) => vm.slots.filter((s) => s.inode === inode.id).map((s) => ({ vm, s })));
    slots.slice(0, MAX_ROWS).forEach(({ vm, s }) => drawSlot(c, vm, s, files, cols));
    if (slots.length > MAX_ROWS) {
      const rest = slots.slice(MAX_ROWS);
      const n = rest.reduce((a, { s }) => a + s.sptes.length, 0);
      summaryRow(c, `+ ${plural(rest.length, "more memslot")}: ${plural(n, "SPTE")}`, `data-obj="slot-summary" data-slots="${rest.length}" data-sptes="${n}"`);
    }
    const maps = scene.maps.filter((m) => m.inode === inode.id);
    maps.slice(0, MAX_ROWS).forEach((m) => drawMap(c, m, cols));
    if (maps.length > MAX_ROWS) summaryRow(c, `+ ${plural(maps.length - MAX_ROWS, "more host map")}`, `data-obj="map-summary" data-maps="${maps.length - MAX_ROWS}"`);
    drawAccess(c, cols, top, inode);
    drawRange(c, cols, top, at, inode);
    c.y += 4;
  }
  const loose = scene.vms.flatMap((vm) => vm.slots.filter((s) => s.inode === -1).map((s) => ({ vm, s })));
  if (loose.length) {
    c.out.push(`<line class="sep" x1="0" x2="${W}" y1="${c.y}" y2="${c.y}"/>`);
    c.y += 6;
    c.out.push(`<text class="section" x="8" y="${c.y + 13}">memslots with no memory behind them</text>`);
    c.y += 20;
    for (const { vm, s } of loose.slice(0, MAX_ROWS)) {
      c.out.push(`<g class="slot" data-obj="slot" data-key="vm:${vm.id}" data-vm="${vm.id}" data-slot="${s.slot}" data-sptes="${s.sptes.length}"><text class="label" x="8" y="${c.y + 11}">VM ${esc(vm.name)} · slot ${s.slot} · gfn ${hex(s.baseGfn)}-${hex(s.baseGfn + s.npages - 1)} · ${plural(s.sptes.length, "SPTE")}</text></g>`);
      c.y += 18;
    }
    if (loose.length > MAX_ROWS) {
      const rest = loose.slice(MAX_ROWS);
      summaryRow(c, `+ ${plural(rest.length, "more memslot")}`, `data-obj="slot-summary" data-slots="${rest.length}" data-sptes="${rest.reduce((a, { s }) => a + s.sptes.length, 0)}"`);
    }
  }
  if (!scene.vms.length && !used.length) {
    c.out.push(`<text class="summary" x="8" y="${c.y + 14}">Nothing yet: no VM, no gmem file.</text>`);
    c.y += 24;
  }
  const height = c.y + 8;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" class="scene" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="group" aria-label="The simulator's state">${c.out.join("")}</svg>`;
  return { svg, height };
}
