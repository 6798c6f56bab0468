/**
 * The playground at scale: a 100,000-line trace loaded into the page in Debian's
 * chromium. Measures wall times (nothing is asserted): the run (worker and page),
 * the longest gap between animation frames while it ran (how responsive the page
 * stayed), scrolling the result list to its end, and stepping to the last op.
 * Returns the report's lines; `node --import tsx scripts/bench-playground.mjs [LINES]` prints them.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer } from "../src/cli/serve.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
/** A long, deterministic trace: guests touch pages of a 64 MiB file, the owner punches and reallocates. */
export function bigTrace(n: number): string {
  const out = [
    '{"op": "create_vm", "as": "a", "type": "default"}',
    '{"op": "create_vm", "as": "b", "type": "default"}',
    '{"op": "create_guest_memfd", "vm": "a", "as": "ga", "size": "0x4000000", "flags": ["MMAP", "INIT_SHARED"]}',
    '{"op": "set_user_memory_region2", "vm": "a", "slot": 0, "flags": "GUEST_MEMFD", "guest_phys_addr": 0, "memory_size": "0x4000000", "guest_memfd": "ga"}',
    '{"op": "gmem_link", "fd": "ga", "vm": "b", "as": "gb", "perm": ["r"], "mode": "share"}',
    '{"op": "set_user_memory_region2", "vm": "b", "slot": 0, "flags": "GUEST_MEMFD", "guest_phys_addr": "0x100000000", "memory_size": "0x4000000", "guest_memfd": "gb"}',
  ];
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 8);
  while (out.length < n) {
    const page = rnd() % 16384;
    const r = rnd() % 10;
    if (r < 5) out.push(`{"op": "vcpu_access", "vm": "a", "gpa": ${page * 4096}, "access": "write", "value": ${page & 255}}`);
    else if (r < 8) out.push(`{"op": "vcpu_access", "vm": "b", "gpa": ${0x100000000 + page * 4096}, "access": "read"}`);
    else out.push(`{"op": "fallocate", "fd": "ga", "mode": ["PUNCH_HOLE", "KEEP_SIZE"], "offset": ${page * 4096}, "len": ${4096 * (1 + (rnd() % 64))}}`);
  }
  return out.join("\n") + "\n";
}

export async function playgroundBench(lines = 100_000): Promise<string[]> {
  if (!existsSync(CHROMIUM)) return [`SKIPPED: playground benchmark: ${CHROMIUM} is missing`];
  const pg = await startServer(0);
  const profile = mkdtempSync(join(tmpdir(), "gmemsim-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(600_000);
    await page.goto(pg.url + "?autoplay=0");
    await page.waitForSelector("body[data-runs='1']");
    const text = bigTrace(lines);
    // Measured in the page: the run's wall time and, meanwhile, the longest gap between animation frames.
    const r = (await page.evaluate(`(async () => {
      let last = performance.now(), worst = 0, frames = 0, on = true;
      const tick = (t) => { worst = Math.max(worst, t - last); last = t; frames++; if (on) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
      const t0 = performance.now();
      const res = await window.playground.load(${JSON.stringify(text)});
      const wall = performance.now() - t0;
      on = false;
      const list = document.getElementById("results");
      const t1 = performance.now();
      list.scrollTop = list.scrollHeight;
      await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
      const scroll = performance.now() - t1;
      const rows = list.querySelectorAll(".row").length;
      const t2 = performance.now();
      await window.playground.step(res.n - 1);
      const stepLast = performance.now() - t2;
      const t3 = performance.now();
      await window.playground.step(res.n - 2);
      const stepBack = performance.now() - t3;
      return { n: res.n, workerMs: res.ms, wall, worst, frames, scroll, rows, stepLast, stepBack, status: document.getElementById("status").textContent };
    })()`)) as Record<string, number | string>;
    const ms = (v: number | string) => `${Math.round(Number(v))} ms`;
    return [
      `playground, ${r.n} ops (${(text.length / 1e6).toFixed(1)} MB of trace), Debian chromium ${context.browser()?.version() ?? ""}`,
      `  load and run, wall time:            ${ms(r.wall)} (simulator in the worker: ${ms(r.workerMs)})`,
      `  longest frame gap meanwhile:        ${ms(r.worst)} over ${r.frames} frames`,
      `  scroll the result list to its end:  ${ms(r.scroll)} (${r.rows} rows in the DOM)`,
      `  step to the last op (replays all):  ${ms(r.stepLast)}; then one back: ${ms(r.stepBack)}`,
      `  status line: ${r.status}`,
    ];
  } finally {
    await context.close();
    await pg.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
