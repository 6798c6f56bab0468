/**
 * The browser playground, end to end: `gmemsim serve`'s server on an ephemeral port,
 * Debian's chromium driven by playwright-core, the page's Run button and its DOM,
 * and the browser bundle run directly in the page against Node's Simulator.
 * Without /usr/bin/chromium it prints "SKIPPED: browser test: <reason>" and skips.
 * GMEMSIM_SCREENSHOT=FILE.png saves a screenshot of the page after the first run.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { Simulator } from "../src/index.js";
import { startServer, type Playground } from "../src/cli/serve.js";

const CHROMIUM = "/usr/bin/chromium";
// TOOLING.md: this machine's network is closed, so Chromium must not reach for Google's services.
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const root = new URL("..", import.meta.url).pathname;

const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install chromium)`
  : !existsSync(join(root, "build/browser/gmemsim.js"))
    ? "build/browser/gmemsim.js is missing (npm run build)"
    : null;

type Row = { line: number; i: number; op: string; kind: string; result: Record<string, unknown>; why: string };

if (skip) {
  console.log(`SKIPPED: browser test: ${skip}`);
  test.skip("browser playground", () => {});
} else {
  let pg: Playground;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const pageErrors: string[] = [];

  const rows = (): Promise<Row[]> =>
    page.$$eval("#results tbody tr", (trs) =>
      trs.map((tr) => {
        const td = tr.querySelectorAll("td");
        return {
          line: Number(tr.getAttribute("data-line")),
          i: Number(tr.getAttribute("data-i")),
          op: td[2].textContent ?? "",
          kind: tr.getAttribute("data-kind") ?? "",
          result: JSON.parse(td[4].querySelector("code")?.textContent ?? "null"),
          why: td[4].querySelector(".why")?.textContent ?? "",
        };
      }),
    );
  const counters = (): Promise<Record<string, Record<string, number>>> =>
    page.$$eval("#stats tbody tr[data-vm]", (trs) =>
      Object.fromEntries(trs.map((tr) => [tr.getAttribute("data-vm"), Object.fromEntries(Array.from(tr.querySelectorAll("td[data-stat]")).map((td) => [td.getAttribute("data-stat"), Number(td.textContent)]))])),
    );
  const runsAfter = async (n: number) => page.waitForSelector(`body[data-runs="${n}"]`);
  /** The 1-based number of the first editor line that contains every one of `parts`. */
  const lineOf = (text: string, ...parts: string[]) => text.split("\n").findIndex((l) => parts.every((p) => l.includes(p))) + 1;

  test.before(async () => {
    pg = await startServer(0);
    const { chromium } = await import("playwright-core");
    profileDir = mkdtempSync(join(tmpdir(), "gmemsim-chromium-"));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 800 } });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(`console: ${m.text()}`);
    });
  });

  test.after(async () => {
    await context?.close();
    await pg?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  test("the server serves the page, the script and the bundle with their Content-Types, and nothing else", async () => {
    const get = (path: string) => fetch(new URL(path, pg.url));
    const types: Record<string, string> = { "/": "text/html", "/playground.js": "text/javascript", "/style.css": "text/css", "/gmemsim.js": "text/javascript" };
    for (const [path, type] of Object.entries(types)) {
      const res = await get(path);
      assert.is(res.status, 200, path);
      assert.ok(res.headers.get("content-type")?.startsWith(type), `${path}: ${res.headers.get("content-type")}`);
      await res.arrayBuffer();
    }
    assert.is((await get("/package.json")).status, 404);
    assert.is((await get("/web/../package.json")).status, 404);
    assert.ok(pg.url.startsWith("http://127.0.0.1:"), pg.url);
    assert.throws(() => startServer(0, "0.0.0.0"), /127\.0\.0\.1 only/);
  });

  test("Run on the example: the guest reads what it wrote, the punch zaps, errnos, exits and errors are marked", async () => {
    await page.goto(pg.url);
    await page.waitForSelector("body[data-ready='1']");
    const text = await page.inputValue("#trace");
    assert.ok(text.includes('"op": "gmem_link"'), "the editor is preloaded with the example");
    await page.getByRole("button", { name: "Run" }).click();
    await runsAfter(1);
    if (process.env.GMEMSIM_SCREENSHOT) await page.screenshot({ path: process.env.GMEMSIM_SCREENSHOT });
    const got = await rows();
    const counted = text.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("#")).length;
    assert.is(got.length, counted, "one row per counted line");
    assert.equal(got.map((r) => r.i), [...Array(counted).keys()]);
    const at = (line: number) => {
      const r = got.find((x) => x.line === line);
      assert.ok(r, `a row for line ${line}`);
      return r!;
    };

    // The guest writes 90 at gpa 0x1000 and the next line reads it back.
    const write = lineOf(text, '"vm": "vm"', '"gpa": "0x1000"', '"access": "write"', '"value": 90');
    assert.ok(write > 0);
    const read = got[got.findIndex((r) => r.line === write) + 1];
    assert.is(read.op, "vcpu_access");
    assert.equal(read.result, { ret: 0, value: 90 });

    // Before the punch two SPTEs (one per memslot); after it none, and two zaps.
    const punch = lineOf(text, '"fd": "g"', "PUNCH_HOLE", '"len": "0x100000"');
    const statsRows = got.filter((r) => r.op === "stats");
    const before = statsRows.filter((r) => r.line < punch).at(-1)!;
    const after = statsRows.find((r) => r.line > punch)!;
    assert.equal(before.result, { ret: 0, sptes: 2, faults: 2, zaps: 0, exits: 0 });
    assert.equal(after.result, { ret: 0, sptes: 0, faults: 2, zaps: 2, exits: 0 });

    // The second VM reads, at its own gpa, the byte the first VM wrote in the shared page.
    assert.equal(at(lineOf(text, '"vm": "vm2"', '"gpa": "0x201000"', '"access": "read"')).result, { ret: 0, value: 7 });
    // Its write, without "w", is a memory-fault exit with EACCES, marked as an exit.
    const denied = at(lineOf(text, '"vm": "vm2"', '"access": "write"'));
    assert.is(denied.kind, "exit");
    assert.equal(denied.result, { errno: "EACCES", exit: "memory_fault", gpa: 0x201000, size: 4096, flags: [] });
    // A linked file may not punch: EPERM, marked as an errno.
    const eperm = at(lineOf(text, '"fd": "g2"', "PUNCH_HOLE"));
    assert.is(eperm.kind, "errno");
    assert.equal(eperm.result, { errno: "EPERM" });
    assert.match(eperm.why, /policy default: the file lacks the punch permission/, "an errno row shows the rule that refused it");
    // The line without "len" is a trace error that names its line, and the run goes on.
    const bad = lineOf(text, '"mode": "KEEP_SIZE", "offset": 0}');
    const err = at(bad);
    assert.is(err.kind, "error");
    assert.is(err.result.error, `line ${bad}: fallocate: missing field "len"`);
    assert.ok(got.at(-1)!.line > bad, "the run goes on after the error");
    const marked = await page.$$eval("#results tbody tr", (trs) => trs.map((tr) => [tr.className, tr.querySelector(".kind")?.textContent]));
    assert.equal(marked[err.i], ["row-error", "error"]);
    assert.equal(marked[denied.i], ["row-exit", "exit"]);

    // The VM counters after the last line: the owner's final punch zapped the shared page in both VMs.
    assert.equal(await counters(), { vm: { sptes: 0, faults: 4, zaps: 3, exits: 0 }, vm2: { sptes: 0, faults: 1, zaps: 1, exits: 1 } });
    assert.match(await page.textContent("#host-stats") ?? "", /Host: 0 gmem pages allocated/);
    assert.match(await page.textContent("#status") ?? "", /on wasm, kernel 6\.18/);

    // The DOM shows exactly what Node's Simulator gives for the same trace.
    const node = new Simulator().apply(text.split("\n"));
    assert.equal(got.map((r) => ({ i: r.i, ...r.result })), node);
  });

  test("an edited trace, run from the keyboard on the reference engine: errors carry their line numbers", async () => {
    const trace = [
      "# two VMs under one name, then a line that is not JSON",
      '{"op": "create_vm", "as": "a", "type": "default"}',
      "",
      '{"op": "create_vm", "as": "a", "type": "default"}',
      "this is not JSON",
      '{"op": "check_extension", "cap": "KVM_CAP_GUEST_MEMFD_FLAGS"}',
    ].join("\n");
    await page.fill("#trace", trace);
    await page.selectOption("#engine", "reference");
    const kernels = await page.$$eval("#kernel option", (os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.ok(kernels.includes("6.18") && kernels.includes("7.2"), kernels.join(","));
    await page.selectOption("#kernel", "7.2");
    await page.focus("#trace");
    await page.keyboard.press("Control+Enter");
    await runsAfter(2);
    const got = await rows();
    assert.equal(got.map((r) => [r.line, r.kind]), [[2, "ok"], [4, "error"], [5, "error"], [6, "ok"]]);
    assert.match(String(got[1].result.error), /^line 4: /);
    assert.match(String(got[2].result.error), /^line 5: invalid JSON/);
    assert.equal(got[3].result, { ret: 0, value: 3 });
    assert.match(await page.textContent("#status") ?? "", /on reference, kernel 7\.2, in [0-9.]+ ms: 2 ok, 2 error\.$/);
    assert.equal(await counters(), { a: { sptes: 0, faults: 0, zaps: 0, exits: 0 } });
    // The line number is a button that selects that line in the editor.
    await page.locator("#results tbody tr[data-line='5'] button").press("Enter");
    const selected = await page.evaluate("(() => { const t = document.getElementById('trace'); return t.value.slice(t.selectionStart, t.selectionEnd); })()");
    assert.is(selected, "this is not JSON");
  });

  test("the bundle in a page script gives the same result lines as Node's Simulator, on both engines", async () => {
    const traces: Record<string, string> = { example: await (async () => {
      await page.click("#example");
      return page.inputValue("#trace");
    })() };
    const dir = join(root, "test/conformance");
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort()) traces[f] = readFileSync(join(dir, f), "utf8");
    // A string, not a function: tsx would rewrite a function with __name helpers the page lacks.
    const script = `(async () => {
      const { Simulator } = await import("/gmemsim.js");
      const traces = ${JSON.stringify(traces)};
      const out = {};
      for (const [name, text] of Object.entries(traces))
        for (const engine of ["wasm", "reference"]) out[name + " on " + engine] = new Simulator({ engine }).apply(text.split("\\n"));
      return out;
    })()`;
    const inPage = (await page.evaluate(script)) as Record<string, unknown[]>;
    for (const [name, text] of Object.entries(traces)) {
      const node = new Simulator().apply(text.split("\n"));
      assert.ok(node.length > 0, name);
      for (const engine of ["wasm", "reference"]) assert.equal(inPage[`${name} on ${engine}`], node, `${name} on ${engine}`);
    }
    assert.equal(pageErrors, [], "no page errors or console errors");
  });
}

test.run();
