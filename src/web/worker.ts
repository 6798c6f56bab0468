/**
 * The playground's simulator, in a Web Worker so that the page stays responsive
 * whatever the trace's size. "run" replays the whole trace once (checking every
 * op's invariants and security properties when the trace is small); "step"
 * brings a second simulator to op k and returns the state drawn after it and
 * what the op did. Stepping forward costs one op; stepping back replays.
 */
import { Simulator } from "../api/simulator.js";
import { Checker } from "../check/checker.js";
import { readSnapshot, type Snapshot } from "../check/snapshot.js";
import { render, type Violation } from "../check/violation.js";
import { traceNamer } from "../trace/namer.js";
import { stringifyJson } from "../trace/json.js";
import { DEFAULT_PROFILE, knownProfileNames } from "../kvm/profile.js";
import type { Policy } from "../policy/types.js";
import { modulePolicy } from "../policy/shape.js";
import { expectMismatch, Replayer, resultLine, type LineRecord } from "../trace/replay.js";
import { effectOf, sceneOf, type NameBook } from "./scene.js";
import type { Kind, Request, Response, RunRequest, RunResult, StepResult } from "./protocol.js";

/** Traces up to this many ops are checked op by op, as `replay --check` does. */
const CHECK_LIMIT = 5000;

const post = (m: Response) => (self as unknown as Worker).postMessage(m);

function kindOf(r: Record<string, unknown>): Kind {
  if ("error" in r) return "error";
  if (r.exit) return "exit";
  if (r.signal) return "signal";
  if (r.errno) return "errno";
  return "ok";
}
const KIND_CODE: Record<Kind, number> = { ok: 0, errno: 1, exit: 2, signal: 3, error: 4 };

/** The design option, where the simulator has one: a probe that it is validated (an unknown value throws). */
function probeDesigns(): string[] | null {
  const make = (design: string) => {
    try {
      new Simulator({ design } as never);
      return true;
    } catch {
      return false;
    }
  };
  if (make("\u0000no such design")) return null;
  const known = ["vm", "system", "system+implicit"].filter(make);
  return known.length ? known : null;
}

async function loadPolicy(choice: RunRequest["policy"]): Promise<Policy | undefined> {
  if (choice.kind === "default") return undefined;
  const url = choice.kind === "shipped" ? new URL(`/policies/${encodeURIComponent(choice.name)}`, self.location.href).href : URL.createObjectURL(new Blob([choice.source], { type: "text/javascript" }));
  const what = choice.kind === "shipped" ? `policy ${choice.name}` : "the pasted policy module";
  try {
    let mod: Record<string, unknown>;
    try {
      mod = await import(/* @vite-ignore */ url);
    } catch (e) {
      throw new Error(`${what} could not be loaded: ${(e as Error)?.message ?? e}`);
    }
    const p = modulePolicy(mod);
    if (typeof p === "string") throw new Error(`${what}: ${p}`);
    return p;
  } finally {
    if (choice.kind === "pasted") URL.revokeObjectURL(url);
  }
}

/** The trace's counted lines: blank and # comment lines run nothing, as in a trace file. */
function counted(text: string): { lines: string[]; lineNo: number[] } {
  const all = text.split("\n");
  const lines: string[] = [];
  const lineNo: number[] = [];
  all.forEach((t, n) => {
    const s = t.trim();
    if (s === "" || s.startsWith("#")) return;
    lines.push(t);
    lineNo.push(n + 1);
  });
  return { lines, lineNo };
}

function parseOp(line: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(line);
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** The trace names an op's fields refer to (vm, fd, map, src, guest_memfd, as, userspace_addr.anon/map). */
function namesIn(op: Record<string, unknown> | null): string[] {
  if (!op) return [];
  const out: string[] = [];
  for (const k of ["vm", "fd", "map", "src", "guest_memfd", "as"]) if (typeof op[k] === "string") out.push(op[k] as string);
  const ua = op.userspace_addr as Record<string, unknown> | undefined;
  if (ua && typeof ua === "object") for (const k of ["anon", "map"]) if (typeof ua[k] === "string") out.push(ua[k] as string);
  return out;
}

interface Config {
  req: RunRequest;
  policy: Policy | undefined;
  lines: string[];
  lineNo: number[];
  ops: Array<Record<string, unknown> | null>;
}

let config: Config | null = null;

function newSimulator(c: Config): Simulator {
  const opts: Record<string, unknown> = { engine: c.req.engine, kernel: c.req.kernel, policy: c.policy };
  if (c.req.design) opts.design = c.req.design;
  return new Simulator(opts as never);
}

async function run(req: RunRequest): Promise<RunResult> {
  const t0 = performance.now();
  const policy = await loadPolicy(req.policy);
  const { lines, lineNo } = counted(req.text);
  const c: Config = { req, policy, lines, lineNo, ops: lines.map(parseOp) };
  config = c;
  cursor = null;
  lastStep = null;
  const sim = newSimulator(c);
  const host = sim.host;
  const rp = new Replayer(host);
  const n = lines.length;
  const check = n <= CHECK_LIMIT;
  const recs: LineRecord[] = new Array(n);
  const violations: RunResult["violations"] = [];
  const CHUNK = 4096;
  // As `replay --check` does: the checker looks, after each op, at what the op changed; the
  // violations name objects by the trace's names, and carry their ids for the picture.
  const checker = check ? new Checker(host) : null;
  const namer = traceNamer(rp.names);
  const reported = new Set<string>();
  const report = (k: number, what: string, vs: Violation[]) => {
    for (const v of vs) if (!reported.has(v.text) && reported.add(v.text)) violations.push({ i: k, text: `${what} ${render(v, namer)}`, keys: [...v.text.matchAll(/@(vm|file|inode|map):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`) });
  };
  // Checked traces are snapshotted after every op anyway: a VM that lost SPTEs to another file's
  // punch (or a donation, or a move) counts as touched by that op too.
  let prev = check ? readSnapshot(host.core.snapshot()) : null;
  const vmNames = new Map<number, string>();
  const zappedIn: string[][] = [];
  for (let k = 0; k < n; k++) {
    recs[k] = rp.line(lines[k], lineNo[k])!;
    if (check) {
      host.sync();
      const snap = readSnapshot(host.core.snapshot());
      const op = c.ops[k];
      if (typeof op?.as === "string") for (const id of snap.vms.keys()) if (!prev!.vms.has(id)) vmNames.set(id, op.as);
      zappedIn[k] = [...snap.vms.values()].filter((v) => v.counters.zaps > (prev!.vms.get(v.id)?.counters.zaps ?? v.counters.zaps) && vmNames.has(v.id)).map((v) => vmNames.get(v.id)!);
      prev = snap;
      const r = checker!.step();
      report(k, "engine invariant", r.invariants);
      report(k, "security property", r.security);
    } else if ((k + 1) % CHUNK === 0) host.sync();
  }
  host.sync();
  if (checker) {
    // The whole state once more at the end, which also checks the per-op checks (as replay --check).
    const r = checker.full();
    report(n - 1, "engine invariant (at the end)", r.invariants);
    report(n - 1, "security property (at the end)", r.security);
    checker.close();
  }
  const kinds = new Uint8Array(n);
  const json: string[] = new Array(n);
  const why: string[] = new Array(n);
  const opNames: string[] = new Array(n);
  const touched: string[][] = new Array(n);
  for (let k = 0; k < n; k++) {
    // A line's "expect" that its result does not meet is shown on its op, like a failed check.
    const missed = expectMismatch(recs[k]);
    if (missed.length) violations.push({ i: k, text: `expectation not met: ${missed.map((key) => `${key} expected ${JSON.stringify(recs[k].expect![key])}`).join(", ")}`, keys: [] });
    const line = resultLine(recs[k]);
    const { i: _i, ...rest } = line;
    kinds[k] = KIND_CODE[kindOf(rest)];
    json[k] = stringifyJson(rest); // integers exact, bigints included
    why[k] = (line as { message?: string }).message ?? ("error" in rest ? String(rest.error) : "");
    opNames[k] = recs[k].op ?? "?";
    touched[k] = [...new Set([...namesIn(c.ops[k]), ...(zappedIn[k] ?? [])])];
  }
  violations.sort((a, b) => a.i - b.i);
  return { type: "run", id: req.id, n, lines: Int32Array.from(lineNo), kinds, ops: opNames, json, why, violations, checked: check, touched, ms: performance.now() - t0 };
}

/** The stepping simulator: at `pos` ops applied, with the names bound so far. */
interface Cursor {
  sim: Simulator;
  rp: Replayer;
  pos: number;
  /** The snapshot after `pos` ops, or null when it was not taken. */
  snap: Snapshot | null;
  names: NameBook;
  /** Trace name -> scene key of the object it names now. */
  keys: Map<string, string>;
}
let cursor: Cursor | null = null;
let lastStep: StepResult | null = null;

function freshCursor(c: Config): Cursor {
  const sim = newSimulator(c);
  return { sim, rp: new Replayer(sim.host), pos: 0, snap: null, names: new Map(), keys: new Map() };
}

const snapOf = (cur: Cursor) => (cur.snap ??= readSnapshot(cur.sim.host.core.snapshot()));

/**
 * Applies the cursor's next op. Snapshots are taken only where needed: around
 * an op that names a new object (its ids are what appeared), and when `full`.
 */
function advance(c: Config, cur: Cursor, full: boolean): { before: Snapshot | null; result: Record<string, unknown> } {
  const k = cur.pos;
  const op = c.ops[k];
  const names = typeof op?.as === "string";
  const before = full || names ? snapOf(cur) : null;
  const rec = cur.rp.line(c.lines[k], c.lineNo[k])!;
  cur.sim.host.sync();
  cur.pos++;
  cur.snap = null;
  const result = { ...resultLine(rec) } as Record<string, unknown>;
  if (names && !("error" in result) && !("errno" in result)) {
    const after = snapOf(cur);
    const name = op!.as as string;
    const fresh = (m: Map<number, unknown>, b: Map<number, unknown>, kind: string) => [...m.keys()].filter((id) => !b.has(id)).map((id) => `${kind}:${id}`);
    const made = [...fresh(after.vms, before!.vms, "vm"), ...fresh(after.files, before!.files, "file"), ...fresh(after.maps, before!.maps, "map")];
    for (const key of made) cur.names.set(key, name);
    for (const key of fresh(after.inodes, before!.inodes, "inode")) if (!cur.names.has(key)) cur.names.set(key, `inode of ${name}`);
    if (made.length) cur.keys.set(name, made[0]);
  }
  return { before, result };
}

function step(id: number, k: number): StepResult {
  const c = config;
  if (!c) throw new Error("run a trace first");
  if (k < -1 || k >= c.lines.length) throw new Error(`step ${k} is outside the trace (-1 to ${c.lines.length - 1})`);
  if (lastStep && cursor && lastStep.k === k && cursor.pos === k + 1) return { ...lastStep, id };
  if (!cursor || cursor.pos > k) cursor = freshCursor(c);
  const cur = cursor;
  while (cur.pos < k) advance(c, cur, false);
  let effect = null;
  if (k >= 0) {
    const op = c.ops[k];
    const resolve = () => namesIn(op).map((n) => cur.keys.get(n)).filter((x): x is string => !!x);
    const named = resolve();
    const { before, result } = advance(c, cur, true);
    effect = effectOf(before!, snapOf(cur), op, result, [...new Set([...named, ...resolve()])], cur.names);
  }
  lastStep = { type: "step", id, k, scene: sceneOf(snapOf(cur), cur.sim.host.events, cur.names), effect };
  return lastStep;
}

self.onmessage = async (e: MessageEvent<Request>) => {
  const req = e.data;
  try {
    if (req.type === "run") post(await run(req));
    else post(step(req.id, req.k));
  } catch (err) {
    post({ type: "fail", id: req.id, error: (err as Error)?.message ?? String(err) });
  }
};

post({ type: "ready", profiles: knownProfileNames(), defaultProfile: DEFAULT_PROFILE.name, designs: probeDesigns() });
