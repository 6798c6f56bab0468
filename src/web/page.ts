/**
 * The playground page: choices, the trace editor, the result list, and the
 * picture of the state after the selected op, with the op's effect animated.
 * The simulator runs in a worker (worker.ts); this module only draws.
 */
import { drawScene } from "./draw.js";
import { makeEditor } from "./editor.js";
import { makeResultList } from "./results.js";
import { decodeShared, encodeShared } from "./share.js";
import { KINDS, type PolicyChoice, type ReadyMessage, type Request, type Response, type RunResult, type StepResult } from "./protocol.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $("status");
const setStatus = (text: string, bad = false) => {
  status.textContent = text;
  status.classList.toggle("bad", bad);
};

// ---- the worker, one request at a time per kind (a newer one supersedes) ----
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 1;
const waiting = new Map<number, { resolve: (r: Response) => void }>();
let ready: Promise<ReadyMessage>;
{
  let onReady!: (m: ReadyMessage) => void;
  ready = new Promise((r) => (onReady = r));
  worker.onmessage = (e: MessageEvent<Response>) => {
    const m = e.data;
    if (m.type === "ready") return onReady(m);
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    w?.resolve(m);
  };
  worker.onerror = (e) => setStatus(`The simulator worker failed: ${e.message}`, true);
}
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
function ask(req: WithoutId<Request>): Promise<Response> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, { resolve });
    worker.postMessage({ ...req, id });
  });
}

// ---- state ----
let run: RunResult | null = null;
let current = -1;
let shown: StepResult | null = null;
let selectedObj: string | null = null;
let playing: number | null = null;
let wanted: { k: number; scrollList: boolean } | null = null;
let busy: Promise<void> | null = null;
let editorFollow = 0;

const editor = makeEditor($("editor"), () => void runTrace(), () => {
  $("run").classList.add("stale");
});
const list = makeResultList($("results"), (k) => void select(k, true));

// ---- theme ----
const themeBtn = $<HTMLButtonElement>("theme");
function applyTheme(dark: boolean) {
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  themeBtn.textContent = dark ? "Light theme" : "Dark theme";
  themeBtn.setAttribute("aria-pressed", String(dark));
  editor.setDark(dark);
}
const savedTheme = localStorage.getItem("gmemsim-theme");
applyTheme(savedTheme ? savedTheme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches);
themeBtn.addEventListener("click", () => {
  const dark = document.documentElement.dataset.theme !== "dark";
  localStorage.setItem("gmemsim-theme", dark ? "dark" : "light");
  applyTheme(dark);
});

// ---- choices ----
const engineSel = $<HTMLSelectElement>("engine");
const kernelSel = $<HTMLSelectElement>("kernel");
const designSel = $<HTMLSelectElement>("design");
const policySel = $<HTMLSelectElement>("policy");
const policySrc = $<HTMLTextAreaElement>("policy-source");
const scenarioSel = $<HTMLSelectElement>("scenario");
const option = (value: string, text: string) => Object.assign(document.createElement("option"), { value, textContent: text });

policySel.addEventListener("change", () => {
  $("policy-paste").hidden = policySel.value !== "pasted";
});

function policyChoice(): PolicyChoice {
  const v = policySel.value;
  if (v === "pasted") return { kind: "pasted", source: policySrc.value };
  if (v.startsWith("shipped:")) return { kind: "shipped", name: v.slice(8) };
  return { kind: "default" };
}

interface ScenarioInfo { file: string; title: string; policy: string | null }
let scenarios: ScenarioInfo[] = [];

async function loadScenario(file: string): Promise<void> {
  const res = await fetch(`/scenarios/${encodeURIComponent(file)}`);
  if (!res.ok) throw new Error(`could not load scenario ${file}: HTTP ${res.status}`);
  const text = await res.text();
  const info = scenarios.find((s) => s.file === file);
  policySel.value = info?.policy ? `shipped:${info.policy}` : "default";
  $("policy-paste").hidden = true;
  editor.set(text);
}

// ---- running and stepping ----
function shareState() {
  const hash = encodeShared({ trace: editor.text(), engine: engineSel.value, kernel: kernelSel.value, design: designSel.closest<HTMLElement>(".field")!.hidden ? undefined : designSel.value, policy: policySel.value, pasted: policySel.value === "pasted" ? policySrc.value : undefined, step: current });
  history.replaceState(null, "", hash);
  return location.href;
}

/** Runs the editor's trace; false when the worker refused it (the status line says why). */
async function runTrace(startAt = -1): Promise<boolean> {
  stop();
  $("run").classList.remove("stale");
  setStatus("Running…");
  const t0 = performance.now();
  const design = $("design-field").hidden ? undefined : designSel.value;
  const r = await ask({ type: "run", text: editor.text(), engine: engineSel.value as "wasm", kernel: kernelSel.value, design, policy: policyChoice() });
  if (r.type !== "run") {
    setStatus(`The run failed: ${"error" in r ? r.error : "?"}`, true);
    return false;
  }
  run = r;
  shown = null;
  selectedObj = null;
  $("touched").hidden = true;
  list.show(r);
  const errors: Array<{ line: number; message: string }> = [];
  const counts = [0, 0, 0, 0, 0];
  for (let k = 0; k < r.n; k++) {
    counts[r.kinds[k]]++;
    if (r.kinds[k] === 4) errors.push({ line: r.lines[k], message: r.why[k] });
  }
  editor.mark(errors);
  const scrub = $<HTMLInputElement>("scrub");
  scrub.max = String(r.n - 1);
  scrub.disabled = r.n === 0;
  const parts = KINDS.map((k, n) => (counts[n] ? `${counts[n]} ${k}` : "")).filter(Boolean);
  const wall = performance.now() - t0;
  const nv = r.violations.length;
  const failed = nv ? `; ${nv} failed check${nv === 1 ? "" : "s"} or expectation${nv === 1 ? "" : "s"} (marked ⚠)` : "";
  const checks = r.checked ? failed || "; every invariant, security property and expectation held" : `${failed}; not checked op by op (over 5000 ops)`;
  setStatus(`${r.n} op${r.n === 1 ? "" : "s"} run on ${engineSel.value}, kernel ${kernelSel.value}, in ${wall.toFixed(0)} ms wall time: ${parts.join(", ") || "nothing to run"}${checks}.`);
  document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1);
  document.body.dataset.ops = String(r.n);
  await select(Math.min(startAt, r.n - 1), true);
  return true;
}

/**
 * Shows the state after op k (-1: before the first), with what op k did.
 * One step request is in flight at a time: while it runs, newer selections
 * replace each other, so dragging the scrubber over a long trace asks the
 * worker only for where the thumb is, not for every op it passed.
 */
function select(k: number, scrollList: boolean): Promise<void> {
  if (!run) return Promise.resolve();
  wanted = { k: Math.max(-1, Math.min(run.n - 1, k)), scrollList };
  busy ??= (async () => {
    while (wanted) {
      const w = wanted;
      wanted = null;
      await show(w.k, w.scrollList);
    }
    busy = null;
  })();
  return busy;
}
/** The op the player is at or on its way to: where a relative step starts. */
const target = () => wanted?.k ?? current;

async function show(k: number, scrollList: boolean): Promise<void> {
  if (!run) return;
  const r = await ask({ type: "step", k });
  if (r.type !== "step") {
    setStatus(`Could not show op ${k}: ${"error" in r ? r.error : "?"}`, true);
    return;
  }
  current = k;
  shown = r;
  list.select(k, scrollList);
  $<HTMLInputElement>("scrub").value = String(Math.max(0, k));
  // The editor follows once the stepping pauses: moving its selection costs a layout per step.
  clearTimeout(editorFollow);
  if (k >= 0) {
    const line = run.lines[k];
    editorFollow = window.setTimeout(() => editor.select(line), 120);
  }
  draw();
  document.body.dataset.step = String(k);
}

function draw() {
  if (!run || !shown) return;
  const k = shown.k;
  const pic = $("picture");
  const kind = k >= 0 ? KINDS[run.kinds[k]] : "ok";
  let refusal: { errno: string; why: string } | null = null;
  if (k >= 0) {
    const res = JSON.parse(run.json[k]) as Record<string, unknown>;
    if (res.errno && !res.exit) refusal = { errno: String(res.errno), why: run.why[k] };
  }
  // The objects a check failure names are marked in the picture.
  const violated = new Set(run.violations.filter((v) => v.i === k).flatMap((v) => v.keys));
  const { svg } = drawScene(shown.scene, shown.effect, { width: pic.clientWidth || 800, selected: selectedObj, refusal, violated });
  pic.innerHTML = svg;
  // The caption says, in words, what the picture animates.
  const cap = $("caption");
  cap.className = `caption outcome-${kind}`;
  if (k < 0) {
    cap.textContent = `Before the first op. ${run.n} op${run.n === 1 ? "" : "s"} to step through.`;
  } else {
    const head = `Op ${k} (line ${run.lines[k]}) ${run.ops[k]}: `;
    const res = run.json[k];
    const fx = shown.effect?.caption ?? "";
    const why = run.why[k] && kind !== "ok" ? ` — ${run.why[k]}` : "";
    const violations = run.violations.filter((v) => v.i === k).map((v) => v.text);
    if (violations.length) cap.classList.add("violated");
    cap.replaceChildren(
      Object.assign(document.createElement("strong"), { textContent: head }),
      Object.assign(document.createElement("code"), { textContent: res }),
      document.createTextNode(why),
      ...(fx ? [document.createElement("br"), document.createTextNode(fx.charAt(0).toUpperCase() + fx.slice(1) + ".")] : []),
      ...violations.map((v) => Object.assign(document.createElement("div"), { className: "violation", textContent: `⚠ ${v}` })),
    );
  }
  $("step-label").textContent = k < 0 ? `start / ${run.n}` : `op ${k + 1} / ${run.n}`;
  if (selectedObj) showTouched(selectedObj);
}

// ---- objects: click one to list the ops that touched it ----
function nameOfKey(key: string): string | null {
  const el = document.querySelector<SVGGElement>(`#picture [data-key="${CSS.escape(key)}"][data-obj="vm"], #picture [data-key="${CSS.escape(key)}"][data-name]`);
  if (el?.dataset.name) return el.dataset.name;
  if (key.startsWith("vm:")) return shown?.scene.vms.find((v) => `vm:${v.id}` === key)?.name ?? null;
  if (key.startsWith("file:")) return shown?.scene.files.find((f) => `file:${f.id}` === key)?.name ?? null;
  if (key.startsWith("map:")) return shown?.scene.maps.find((m) => `map:${m.id}` === key)?.name ?? null;
  if (key.startsWith("inode:")) {
    const id = Number(key.slice(6));
    return shown?.scene.files.find((f) => f.inode === id && f.origin === "owner")?.name ?? null;
  }
  return null;
}

function showTouched(key: string) {
  const panel = $("touched");
  const name = nameOfKey(key);
  if (!run || !name) {
    panel.hidden = true;
    return;
  }
  const ks: number[] = [];
  for (let k = 0; k < run.n; k++) if (run.touched[k].includes(name)) ks.push(k);
  panel.hidden = false;
  const head = Object.assign(document.createElement("p"), { textContent: `${ks.length} op${ks.length === 1 ? "" : "s"} touched "${name}"${ks.length > 200 ? " (the first 200)" : ""}:` });
  const ul = document.createElement("ul");
  for (const k of ks.slice(0, 200)) {
    const b = Object.assign(document.createElement("button"), { type: "button", className: k === current ? "current" : "", textContent: `op ${k} · line ${run.lines[k]} · ${run.ops[k]} · ${KINDS[run.kinds[k]]}` });
    b.dataset.k = String(k);
    b.addEventListener("click", () => void select(k, true));
    const li = document.createElement("li");
    li.append(b);
    ul.append(li);
  }
  panel.replaceChildren(head, ul);
}

function pickObject(target: Element | null) {
  const g = target?.closest<SVGGElement>("[data-key]");
  if (!g) return;
  selectedObj = g.dataset.key === selectedObj ? null : g.dataset.key!;
  draw();
  if (!selectedObj) $("touched").hidden = true;
}
$("picture").addEventListener("click", (e) => pickObject(e.target as Element));
$("picture").addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    pickObject(e.target as Element);
  }
});

// ---- the player ----
function stop() {
  if (playing !== null) clearTimeout(playing);
  playing = null;
  $("play").textContent = "Play";
  $("play").setAttribute("aria-pressed", "false");
}
function play() {
  if (!run || !run.n) return;
  if (current >= run.n - 1) void select(-1, true);
  $("play").textContent = "Pause";
  $("play").setAttribute("aria-pressed", "true");
  const tick = async () => {
    if (!run || current >= run.n - 1) return stop();
    await select(target() + 1, true);
    if (playing !== null) playing = window.setTimeout(tick, 1100);
  };
  playing = window.setTimeout(tick, 300);
}
$("play").addEventListener("click", () => (playing === null ? play() : stop()));
$("back").addEventListener("click", () => (stop(), void select(target() - 1, true)));
$("fwd").addEventListener("click", () => (stop(), void select(target() + 1, true)));
$("first").addEventListener("click", () => (stop(), void select(-1, true)));
$("last").addEventListener("click", () => (stop(), void select((run?.n ?? 0) - 1, true)));
$<HTMLInputElement>("scrub").addEventListener("input", (e) => (stop(), void select(Number((e.target as HTMLInputElement).value), true)));
document.addEventListener("keydown", (e) => {
  const t = e.target as HTMLElement;
  if (t.closest(".cm-editor") || t.closest("textarea, select, input:not([type=range])")) return;
  if (e.key === "ArrowRight" && !t.closest("#results")) (stop(), void select(target() + 1, true));
  else if (e.key === "ArrowLeft" && !t.closest("#results")) (stop(), void select(target() - 1, true));
  else if (e.key === "p" || e.key === "P") playing === null ? play() : stop();
  else return;
  e.preventDefault();
});

$("run").addEventListener("click", () => void runTrace());
$("share").addEventListener("click", async () => {
  const url = shareState();
  try {
    await navigator.clipboard.writeText(url);
    setStatus("The link to this trace is in the address bar and on the clipboard.");
  } catch {
    setStatus("The link to this trace is in the address bar.");
  }
});
scenarioSel.addEventListener("change", async () => {
  if (!scenarioSel.value) return;
  await loadScenario(scenarioSel.value);
  await runTrace();
});
new ResizeObserver(() => draw()).observe($("picture"));

// ---- start ----
async function main() {
  const r = await ready;
  kernelSel.replaceChildren(...r.profiles.map((p) => option(p, p === r.defaultProfile ? `${p} (default)` : p)));
  kernelSel.value = r.defaultProfile;
  if (r.designs) {
    designSel.replaceChildren(...r.designs.map((d) => option(d, d)));
    $("design-field").hidden = false;
  }
  const [sc, pol] = await Promise.all([fetch("/scenarios/index.json").then((x) => x.json()), fetch("/policies/index.json").then((x) => x.json())]);
  scenarios = sc as ScenarioInfo[];
  scenarioSel.replaceChildren(option("", "Choose an example…"), ...scenarios.map((s) => option(s.file, s.title)));
  policySel.replaceChildren(option("default", "default"), ...(pol as string[]).map((p) => option(`shipped:${p}`, `examples/policies/${p}`)), option("pasted", "paste a module…"));

  const params = new URLSearchParams(location.search);
  let shared = null;
  try {
    shared = decodeShared(location.hash);
  } catch (e) {
    setStatus(`The link's trace is damaged: ${(e as Error).message}`, true);
  }
  let start = -1;
  let autoplay = false;
  if (shared) {
    editor.set(shared.trace);
    if (shared.engine) engineSel.value = shared.engine;
    if (shared.kernel && r.profiles.includes(shared.kernel)) kernelSel.value = shared.kernel;
    if (shared.design && r.designs?.includes(shared.design)) designSel.value = shared.design;
    if (shared.policy) policySel.value = shared.policy;
    if (shared.pasted) policySrc.value = shared.pasted;
    $("policy-paste").hidden = policySel.value !== "pasted";
    start = shared.step ?? -1;
  } else {
    const first = params.get("scenario") ?? scenarios.find((s) => s.file.startsWith("punch-three-vms"))?.file ?? scenarios[0]?.file;
    if (first) {
      scenarioSel.value = first;
      await loadScenario(first);
    }
    autoplay = params.get("autoplay") !== "0";
  }
  document.body.dataset.ready = "1";
  await runTrace(start);
  if (autoplay) play();
}

// A small handle for tests and the benchmark: load a trace, step, read what was drawn.
(window as unknown as { playground: unknown }).playground = {
  async load(text: string, opts: { engine?: string; kernel?: string; policy?: string } = {}) {
    stop();
    editor.set(text);
    scenarioSel.value = "";
    if (opts.engine) engineSel.value = opts.engine;
    if (opts.kernel) kernelSel.value = opts.kernel;
    policySel.value = opts.policy ?? "default";
    $("policy-paste").hidden = policySel.value !== "pasted";
    return (await runTrace(-1)) && run ? { n: run.n, ms: run.ms } : null;
  },
  async step(k: number) {
    stop();
    await select(k, true);
  },
  stop,
  /** The result lines' JSON text as the worker gave it (without "i"), for comparison with Node's. */
  results: () => (run ? run.json.slice() : []),
};

main().catch((e) => setStatus(`The playground failed to start: ${(e as Error).message}`, true));
