/**
 * The browser playground, end to end: `gmemsim serve`'s server on an ephemeral port,
 * Debian's chromium driven by playwright-core, and the page's own elements: what it
 * draws after every op of the conformance and scenario traces is counted from its
 * data attributes and compared with Node's snapshot after the same op. A screenshot
 * of each example scenario is saved under build/screenshots/.
 * Without /usr/bin/chromium it prints "SKIPPED: browser test: <reason>" and skips.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { PROFILES, Simulator } from "../src/index.js";
import { readSnapshot, type Snapshot } from "../src/check/index.js";
import { startServer, type Playground } from "../src/cli/serve.js";
import { stringifyJson } from "../src/trace/json.js";

const CHROMIUM = "/usr/bin/chromium";
// TOOLING.md: this machine's network is closed, so Chromium must not reach for Google's services.
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const root = new URL("..", import.meta.url).pathname;
const SHOTS = join(root, "build/screenshots");

const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install chromium)`
  : !existsSync(join(root, "build/web/playground.js"))
    ? "build/web/playground.js is missing (npm run build)"
    : null;

const read = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith(".jsonl"))
    .sort()
    .map((f) => ({ name: `${dir}/${f}`, text: readFileSync(join(root, dir, f), "utf8") }));
const counted = (text: string) => text.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));

/** What the page drew, counted from its elements' data attributes (see src/web/draw.ts). */
interface Drawn {
  vms: number;
  vmSptes: Record<string, number>;
  slots: number;
  slotSptes: Record<string, number>;
  files: number;
  blocked: number;
  maps: number;
  inodes: Record<string, { pages: number; present: number; poisoned: number; priv: number }>;
}

/** The same counts, from a snapshot. */
function expected(s: Snapshot): Drawn {
  const d: Drawn = { vms: s.vms.size, vmSptes: {}, slots: 0, slotSptes: {}, files: s.files.size, blocked: 0, maps: s.maps.size, inodes: {} };
  for (const v of s.vms.values()) {
    d.vmSptes[v.id] = v.sptes.length;
    d.slots += v.slots.length;
    if (v.slots.length) d.slotSptes[v.id] = v.sptes.filter((sp) => v.slots.some((x) => sp.gfn >= x.base && sp.gfn < x.base + x.npages)).length;
  }
  for (const f of s.files.values()) d.blocked += f.blocked.length;
  for (const i of s.inodes.values()) {
    if (!i.pages.length) continue;
    d.inodes[i.id] = { pages: i.pages.length, present: i.pages.length, poisoned: i.pages.filter((p) => p.flags & 2).length, priv: i.pages.filter((p) => p.flags & 4).length };
  }
  return d;
}

// Runs in the page (a string: tsx would rewrite a function with helpers the page lacks).
const COUNT = `(() => {
  const all = (sel) => [...document.querySelectorAll("#picture " + sel)];
  const num = (el, a) => Number(el.getAttribute(a) ?? 0);
  const d = { vms: 0, vmSptes: {}, slots: 0, slotSptes: {}, files: 0, blocked: 0, maps: 0, inodes: {} };
  for (const v of all("[data-obj=vm]")) { d.vms++; d.vmSptes[v.dataset.id] = num(v, "data-sptes"); }
  for (const v of all("[data-obj=vm-summary]")) d.vms += num(v, "data-vms");
  for (const s of all("[data-obj=slot]")) { d.slots++; d.slotSptes[s.dataset.vm] = (d.slotSptes[s.dataset.vm] ?? 0) + num(s, "data-sptes");
    const cells = [...s.querySelectorAll(".spte")].reduce((n, c) => n + num(c, "data-n"), 0);
    if (cells !== num(s, "data-sptes")) d.slotSptes["cells of " + s.dataset.vm + ":" + s.dataset.slot] = cells; }
  for (const s of all("[data-obj=slot-summary]")) { d.slots += num(s, "data-slots"); d.slotSptes.summary = (d.slotSptes.summary ?? 0) + num(s, "data-sptes"); }
  d.files = all("[data-obj=file]").length + all("[data-obj=file-summary]").reduce((n, e) => n + num(e, "data-files"), 0);
  d.blocked = all("[data-obj=file] [data-blocked]").length;
  d.maps = all("[data-obj=map]").length + all("[data-obj=map-summary]").reduce((n, e) => n + num(e, "data-maps"), 0);
  for (const i of all("[data-obj=inode]")) {
    if (!num(i, "data-pages")) continue;
    const cells = [...i.querySelectorAll(".page")];
    d.inodes[i.dataset.id] = { pages: num(i, "data-pages"), present: cells.reduce((n, c) => n + num(c, "data-present"), 0),
      poisoned: cells.reduce((n, c) => n + num(c, "data-poisoned"), 0), priv: cells.reduce((n, c) => n + num(c, "data-private"), 0) };
  }
  return d;
})()`;

if (skip) {
  console.log(`SKIPPED: browser test: ${skip}`);
  test.skip("browser playground", () => {});
} else {
  let pg: Playground;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const pageErrors: string[] = [];

  const watch = (p: Page) => {
    p.setDefaultTimeout(15_000);
    p.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
    p.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(`console: ${m.text()}`);
    });
  };
  const load = (text: string, opts: Record<string, string> = {}) => page.evaluate(`window.playground.load(${JSON.stringify(text)}, ${JSON.stringify(opts)})`) as Promise<{ n: number }>;
  const step = (k: number) => page.evaluate(`window.playground.step(${k})`);
  const caption = async () => (await page.textContent("#caption")) ?? "";
  /** Polls a page expression (page.waitForFunction evaluates strings with eval, which the page's CSP forbids). */
  const until = async (expr: string, what: string) => {
    for (let t = 0; t < 150; t++) {
      if (await page.evaluate(expr)) return;
      await page.waitForTimeout(100);
    }
    assert.unreachable(`timed out waiting for ${what}`);
  };

  test.before(async () => {
    pg = await startServer(0);
    const { chromium } = await import("playwright-core");
    profileDir = mkdtempSync(join(tmpdir(), "gmemsim-chromium-"));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 } });
    page = context.pages()[0] ?? (await context.newPage());
    watch(page);
    mkdirSync(SHOTS, { recursive: true });
  });

  let t0 = 0;
  test.before.each(() => {
    t0 = Date.now();
  });
  test.after.each((ctx) => {
    if (process.env.GMEMSIM_TIMES) console.log(`${Date.now() - t0} ms: ${(ctx as { __test__?: string }).__test__}`);
  });

  test.after(async () => {
    await context?.close();
    await pg?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  test("the server serves the page, its bundles, the example scenarios and policies with their Content-Types, and nothing else", async () => {
    const get = (path: string) => fetch(new URL(path, pg.url));
    const types: Record<string, string> = {
      "/": "text/html",
      "/playground.js": "text/javascript",
      "/worker.js": "text/javascript",
      "/style.css": "text/css",
      "/gmemsim.js": "text/javascript",
      "/scenarios/index.json": "application/json",
      "/scenarios/punch-three-vms.jsonl": "text/plain",
      "/policies/index.json": "application/json",
      "/policies/flawed.mjs": "text/javascript",
    };
    for (const [path, type] of Object.entries(types)) {
      const res = await get(path);
      assert.is(res.status, 200, path);
      assert.ok(res.headers.get("content-type")?.startsWith(type), `${path}: ${res.headers.get("content-type")}`);
      await res.arrayBuffer();
    }
    const listed = (await (await get("/scenarios/index.json")).json()) as Array<{ file: string; title: string; policy: string | null }>;
    assert.equal(listed.map((s) => s.file), readdirSync(join(root, "examples/scenarios")).filter((f) => f.endsWith(".jsonl")).sort());
    assert.is(listed.find((s) => s.file === "flawed-policy.jsonl")?.policy, "flawed.mjs");
    for (const bad of ["/package.json", "/web/../package.json", "/scenarios/nope.jsonl", "/scenarios/..%2Fpackage.json", "/policies/../src/index.ts"]) assert.is((await get(bad)).status, 404, bad);
    assert.ok(pg.url.startsWith("http://127.0.0.1:"), pg.url);
    assert.throws(() => startServer(0, "0.0.0.0"), /127\.0\.0\.1 only/);
  });

  test("the page opens on an example scenario, draws it and plays it: the picture changes op by op", async () => {
    await page.goto(pg.url);
    await page.waitForSelector("body[data-runs='1']");
    assert.is(await page.inputValue("#scenario"), "punch-three-vms.jsonl");
    await page.waitForSelector("body[data-step='1']"); // autoplay reached op 1
    assert.is(await page.getAttribute("#play", "aria-pressed"), "true");
    await page.click("#play"); // pause
    assert.is(await page.getAttribute("#play", "aria-pressed"), "false");
    assert.ok((await page.$$("#picture [data-obj=vm]")).length >= 2, "the VMs are drawn");
    // Every kernel profile is offered, from the simulator's own list.
    const kernels = await page.$$eval("#kernel option", (os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.equal(kernels, Object.keys(PROFILES));
    // The design choice appears only when the simulator has a design option: "vm" is accepted and a bogus one refused.
    const accepts = (design: string) => {
      try {
        new Simulator({ design } as never);
        return true;
      } catch {
        return false;
      }
    };
    const hasDesign = accepts("vm") && !accepts("\u0000no such design");
    assert.is(await page.isVisible("#design-field"), hasDesign);
    if (hasDesign) assert.equal(await page.$$eval("#design option", (os) => os.map((o) => (o as HTMLOptionElement).value)), ["vm", "system", "system+implicit"].filter(accepts));
  });

  test("after every op of the conformance and scenario traces, what the page draws equals the simulator's snapshot", async () => {
    const traces = [...read("test/conformance"), ...read("test/scenarios"), ...read("examples/scenarios")];
    let steps = 0;
    for (const { name, text } of traces) {
      const lines = counted(text);
      const policy = /^#\s*policy:\s*(\S+)/m.exec(text)?.[1];
      const r = await load(text, policy ? { policy: `shipped:${policy}` } : {});
      assert.is(r.n, lines.length, name);
      const drawn = (await page.evaluate(`(async () => {
        const out = [];
        for (let k = -1; k < ${lines.length}; k++) { await window.playground.step(k); out.push(${COUNT}); }
        return out;
      })()`)) as Drawn[];
      const policyObj = policy ? (await import(join(root, "examples/policies", policy))).default : undefined;
      // The result lines the worker gave equal Node's for the whole trace.
      assert.equal(await page.evaluate("window.playground.results()"), new Simulator({ policy: policyObj }).apply(text.split("\n")).map(({ i: _i, ...rest }) => stringifyJson(rest)), `${name}: result lines`);
      const sim = new Simulator({ policy: policyObj });
      assert.equal(drawn[0], expected(readSnapshot(sim.snapshot())), `${name}: before the first op`);
      for (let k = 0; k < lines.length; k++) {
        sim.apply([lines[k]]);
        assert.equal(drawn[k + 1], expected(readSnapshot(sim.snapshot())), `${name}: after op ${k}: ${lines[k]}`);
        steps++;
      }
    }
    assert.ok(steps > 1000, `${steps} steps compared`);
  });

  test("a punch highlights the pages it frees and the SPTEs it zaps in every VM, each at its own gfn; a refused op shows its errno and rule on the file it names", async () => {
    const text = readFileSync(join(root, "examples/scenarios/punch-three-vms.jsonl"), "utf8");
    const lines = counted(text);
    await load(text);
    // kvm_gmem_punch_hole() -> kvm_gmem_invalidate_begin(): every binding of the inode is zapped.
    const punch = lines.findIndex((l) => l.includes('"fd": "ga"') && l.includes("PUNCH_HOLE"));
    await step(punch);
    const zaps = (await page.$$eval("#picture [data-obj=slot]", (ss) => ss.map((s) => [s.getAttribute("data-vm"), Array.from(s.querySelectorAll(".zap")).reduce((n, z) => n + Number(z.getAttribute("data-zapped")), 0)]))) as Array<[string, number]>;
    // From Node: the SPTEs each VM lost in that op.
    const sim = new Simulator();
    sim.apply(lines.slice(0, punch));
    const before = readSnapshot(sim.snapshot());
    sim.apply([lines[punch]]);
    const after = readSnapshot(sim.snapshot());
    const lost = [...before.vms.values()].map((v) => [String(v.id), v.sptes.length - (after.vms.get(v.id)?.sptes.length ?? 0)]);
    assert.equal(zaps, lost);
    assert.equal(lost.map(([, n]) => n), [1, 1, 2], "VM a loses gfn 0x14, b gfn 0x204, c gfns 0x40014-0x40015");
    const freed = await page.$$eval("#picture [data-obj=inode] .page.ghost", (ps) => ps.map((p) => Number(p.getAttribute("data-freed"))));
    assert.is(freed.reduce((a, b) => a + b, 0), 2, "two pages freed");
    assert.match(await caption(), /zapped VM a gfn 0x14; VM b gfn 0x204; VM c gfn 0x40014-0x40015/);
    assert.ok(await page.$("#picture .fx-zap"), "the zaps are animated");

    const refused = lines.findIndex((l) => l.includes('"fd": "gb"') && l.includes("PUNCH_HOLE"));
    await step(refused);
    assert.match(await caption(), /EPERM.*policy default: the file lacks the punch permission/);
    const marked = await page.$$eval("#picture .refused", (es) => es.map((e) => e.getAttribute("data-name") ?? e.getAttribute("data-key")));
    assert.ok(marked.includes("gb"), `the refused op's file is marked: ${marked}`);
    assert.match((await page.textContent("#picture [data-obj=range]")) ?? "", /punch \[20, 21\) refused: EPERM/);
  });

  test("a donation greys the window in the donor; a migration hands the inode over; an exit shows where the access went", async () => {
    const donation = readFileSync(join(root, "examples/scenarios/donation.jsonl"), "utf8");
    let lines = counted(donation);
    await load(donation);
    await step(lines.findIndex((l) => l.includes('"mode": "donate"')));
    const greyed = await page.$$eval("#picture [data-obj=file] .blocked.fx-donated, #picture [data-obj=slot] .blocked.fx-donated", (es) => es.map((e) => e.closest("[data-obj]")!.getAttribute("data-obj")));
    assert.equal(greyed.sort(), ["file", "slot"], "greyed in the donor's file and in its memslot");
    assert.match(await caption(), /file ga gave away pages \[16, 32\)/);
    await step(lines.findIndex((l) => l.includes('"vm": "a"') && l.includes('"gpa": "0x11000"') && l.includes('"read"')));
    assert.match(await caption(), /VM a read at gfn 0x11 \(memslot 0 -> inode of ga pgoff 17\): exit memory_fault \(EACCES\)/);
    assert.ok(await page.$("#picture [data-obj=access].bad"), "the access is drawn down the page's column");

    const migration = readFileSync(join(root, "examples/scenarios/migration.jsonl"), "utf8");
    lines = counted(migration);
    await load(migration);
    const link = lines.findIndex((l) => l.includes('"mode": "migrate"'));
    await step(link);
    assert.ok(await page.$("#picture [data-obj=file].migrating"), "the target's file is marked migrating");
    await step(lines.findIndex((l) => l.includes("move_enc_context_from")));
    assert.match(await caption(), /VM dst took encryption context 1 from VM src; the inode passes to gd/, await caption());
    assert.ok(await page.$("#picture [data-obj=file].fx-handover"), "the hand-over is animated");
    assert.equal(await page.$$eval("#picture [data-obj=vm].moved-away", (es) => es.map((e) => e.getAttribute("data-key"))), ["vm:0"]);
  });

  test("clicking a result line selects its op and highlights its objects; clicking an object lists the ops that touched it; the keyboard steps", async () => {
    const text = readFileSync(join(root, "examples/scenarios/share-readonly.jsonl"), "utf8");
    const lines = counted(text);
    await load(text);
    const k = lines.findIndex((l) => l.includes('"gmem_link"'));
    await page.click(`#results .row[data-i='${k}']`);
    await page.waitForSelector(`body[data-step='${k}']`);
    const named = await page.$$eval("#picture .named", (es) => es.map((e) => e.getAttribute("data-key")));
    assert.ok(named.includes("vm:1") && named.includes("file:0"), `the link's VM b and source file ga are highlighted: ${named}`);
    await page.focus("#picture [data-obj=vm][data-key='vm:1']");
    await page.keyboard.press("Enter");
    const listed = await page.$$eval("#touched button", (bs) => bs.map((b) => Number(b.getAttribute("data-k"))));
    // The ops that name b, and the owner's punch that zapped b's SPTE (kvm_gmem_invalidate_begin() walks every binding).
    const ownerPunch = lines.findIndex((l) => l.includes('"fd": "ga"') && l.includes("PUNCH_HOLE"));
    const expectOps = lines.map((l, n) => [n, JSON.parse(l)] as const).filter(([n, o]) => [o.vm, o.fd, o.as, o.src, o.guest_memfd].includes("b") || n === ownerPunch).map(([n]) => n);
    assert.equal(listed, expectOps);
    // Keyboard: the result list takes arrow keys, the player takes ← and →.
    await page.focus("#results");
    await page.keyboard.press("ArrowDown");
    await page.waitForSelector(`body[data-step='${k + 1}']`);
    await page.focus("#picture");
    await page.keyboard.press("ArrowLeft");
    await page.waitForSelector(`body[data-step='${k}']`);
  });

  test("the editor marks the lines that are trace errors; the trace and choices travel in the URL", async () => {
    const text = ['{"op": "create_vm", "as": "a", "type": "default"}', "this is not JSON", '{"op": "fallocate", "fd": "nope"}', '{"op": "stats", "vm": "a"}'].join("\n");
    await load(text, { engine: "reference", kernel: "7.2" });
    assert.is(await page.$$eval(".cm-lint-marker-error", (es) => es.length), 2, "two lines marked");
    // A line's "expect" that its result misses is shown on its op.
    await load('{"op": "create_vm", "as": "a", "type": "default", "expect": {"ret": 0}}\n{"op": "check_extension", "cap": "KVM_CAP_GUEST_MEMFD", "expect": {"ret": 0, "value": 7}}');
    await step(1);
    assert.match(await caption(), /expectation not met: value expected 7/);
    assert.match((await page.textContent("#status")) ?? "", /1 failed check or expectation/);
    await load(text, { engine: "reference", kernel: "7.2" });
    assert.ok(await page.$(".cm-lineNumbers"), "line numbers");
    await page.click("#share");
    const url = page.url();
    assert.match(url, /#t=[A-Za-z0-9_-]+&engine=reference&kernel=7\.2/);
    const other = await context.newPage();
    watch(other);
    await other.goto(url);
    await other.waitForSelector("body[data-runs='1']");
    assert.is(await other.evaluate("document.querySelector('.cm-content').innerText.replace(/\\u00a0/g, ' ').trimEnd()"), text);
    assert.is(await other.inputValue("#engine"), "reference");
    assert.is(await other.inputValue("#kernel"), "7.2");
    assert.is(await other.$$eval("#results .row", (rs) => rs.length), 4);
    await other.close();
  });

  test("a shipped policy and a pasted one run in the worker: the flawed policy's punch is caught by the owner-control property", async () => {
    const text = readFileSync(join(root, "examples/scenarios/flawed-policy.jsonl"), "utf8");
    const lines = counted(text);
    await page.selectOption("#scenario", "flawed-policy.jsonl");
    await until(`document.querySelector('#policy').value === 'shipped:flawed.mjs' && document.body.dataset.ops === '${lines.length}'`, "the scenario to run");
    await page.evaluate("window.playground.stop()");
    await step(lines.length - 1);
    assert.match(await caption(), /security property 2 owner control: file lent \(vm guest\) punched pages \[0, 16\)/);
    assert.match((await page.textContent("#status")) ?? "", /1 failed check or expectation/);
    assert.ok(await page.$("#results .row.violated"), "the result line is marked");
    assert.equal(await page.$$eval("#picture .violated", (es) => es.map((e) => e.getAttribute("data-key")).sort()), ["file:1", "vm:1"], "the file and VM the property names are marked");
    await page.screenshot({ path: join(SHOTS, "flawed-policy.png") });
    // The same module pasted.
    await page.selectOption("#policy", "pasted");
    await page.fill("#policy-source", readFileSync(join(root, "examples/policies/flawed.mjs"), "utf8"));
    await page.click("#run");
    await until("/failed check/.test(document.querySelector('#status').textContent)", "the pasted policy's run");
    // A module that is no policy is refused with a sentence that says why, and nothing runs.
    await page.fill("#policy-source", "export const notAPolicy = 1;");
    await page.click("#run");
    await until("/needs a default export/.test(document.querySelector('#status').textContent)", "the refusal of a module without a policy");
    await page.fill("#policy-source", "export default {");
    await page.click("#run");
    await until("/The run failed: .*(Unexpected|SyntaxError|token|end of input)/i.test(document.querySelector('#status').textContent)", "the refusal of a module that does not parse");
    // Under the default policy the punch is refused.
    await load(text);
    await step(lines.length - 1);
    assert.match(await caption(), /EPERM/);
  });

  test("a screenshot of each example scenario at its key op (build/screenshots/); 400 px wide and the dark theme keep it usable", async () => {
    const key: Record<string, RegExp> = {
      "punch-three-vms.jsonl": /"fd": "ga".*PUNCH_HOLE/,
      "share-readonly.jsonl": /"fd": "ga".*PUNCH_HOLE/,
      "donation.jsonl": /"mode": "donate"/,
      "migration.jsonl": /move_enc_context_from/,
      "flawed-policy.jsonl": /"fd": "lent".*PUNCH_HOLE/,
      "quickstart.jsonl": /"op": "vcpu_access"/,
    };
    for (const f of readdirSync(join(root, "examples/scenarios")).filter((x) => x.endsWith(".jsonl"))) {
      const text = readFileSync(join(root, "examples/scenarios", f), "utf8");
      const lines = counted(text);
      const policy = /^#\s*policy:\s*(\S+)/m.exec(text)?.[1];
      await load(text, policy ? { policy: `shipped:${policy}` } : {});
      assert.ok(key[f], `a key op for ${f}`);
      await step(lines.findIndex((l) => key[f].test(l)));
      await page.waitForTimeout(1200); // let the animation settle
      await page.locator(".right").screenshot({ path: join(SHOTS, f.replace(".jsonl", ".png")) });
    }
    await page.click("#theme");
    assert.is(await page.getAttribute("html", "data-theme"), "dark");
    await page.screenshot({ path: join(SHOTS, "dark.png") });
    await page.setViewportSize({ width: 400, height: 900 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate("document.documentElement.scrollWidth");
    assert.ok((overflow as number) <= 400, `no horizontal scrolling at 400 px (scrollWidth ${overflow})`);
    await page.screenshot({ path: join(SHOTS, "narrow.png"), fullPage: true });
    await page.click("#theme");
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  test("the bundle in a page script gives the same result lines as Node's Simulator, on both engines", async () => {
    const traces = Object.fromEntries(read("test/conformance").map((t) => [t.name, t.text]));
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
