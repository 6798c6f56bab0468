/**
 * Semantic coverage of a fuzzing run: what a trace's ops reached, as keys of the
 * form `op | result | rule | policy decisions | window edges`.
 *
 * - result: ok, an errno, a signal or a VM exit, or a trace error;
 * - rule: which rule decided an error, read from the sentence the kernel layer
 *   attaches to every failure (src/kvm/result.ts messageOf) with its numbers and
 *   names taken out, so "offset 8192 and len 100 must be multiples of 4096" and
 *   "offset 0 and len 3 ..." are one rule;
 * - policy decisions: each hook the op asked (link, fallocate, bind, migrate),
 *   allowed or denied and why, with what the request looked like (whose file,
 *   rights asked within or beyond the source's);
 * - window edges: where the request's page range falls against the file's own
 *   window and the windows it donated (first page, last page, across an edge,
 *   just outside, apart): the off-by-one flaws live there.
 *
 * Coverage is read from the checked run itself (checkWithKeys(): checkTrace's
 * onOp), with the policy wrapped to record its decisions (every hook passes
 * through, so the run decides as the policy alone would). (An extension of gmemsim's fuzzing,
 * not anything the kernel has.)
 */
import { messageOf, type Result } from "../kvm/result.js";
import { defaultPolicyFor } from "../kvm/host.js";
import { askedAsDefault, isOwnDefault } from "../kvm/own-policy.js";
import { designByName } from "../kvm/design.js";
import { checkTrace, type CheckOptions, type TraceFailure } from "./check.js";
import type { BindRequest, Decision, FallocateRequest, FileView, LinkRequest, MigrateRequest, Policy, VmBindRequest } from "../policy/types.js";

type Range = readonly [number, number];

/** Where [s, e) falls against the window [a, b): the page classes an off-by-one confuses. */
export function edgeClass(s: number, e: number, a: number, b: number): string {
  if (e <= a) return e === a ? "just-before" : "apart";
  if (s >= b) return s === b ? "just-after" : "apart";
  if (s < a && e > b) return "covers";
  if (s < a) return "across-start";
  if (e > b) return "across-end";
  const first = s === a;
  const last = e === b;
  return first && last ? "whole" : first ? "first-page" : last ? "last-page" : "inside";
}

/** The edge classes of a range against a file's own window and each window it donated. */
function edges(file: FileView, r: Range): string {
  const parts = [`own:${edgeClass(r[0], r[1], file.window[0], file.window[1])}`];
  for (const d of file.donated) parts.push(`donated:${edgeClass(r[0], r[1], d[0], d[1])}`);
  return parts.join(",");
}

const within = (asked: readonly string[], held: readonly string[]) => asked.every((p) => held.includes(p));

/** A stable rule key from an explanation sentence: numbers, hex and quoted names taken out. */
export function ruleKey(sentence: string): string {
  // Every op of a fuzzing run asks for one, and the same sentences come again and again: each is worked out once.
  return ruleKeys.get(sentence) ?? remember(ruleKeys, sentence, ruleKeyOf(sentence));
}

/** Sentences whose rule keys are kept (a bound: names and numbers make sentences without end). */
const RULE_KEYS_KEPT = 1 << 14;
const ruleKeys = new Map<string, string>();

function ruleKeyOf(sentence: string): string {
  return sentence
    .replace(/^line \d+: /, "")
    .replace(/^policy [^:]*: .*/, "policy")
    .replace(/"[^"]*"/g, "_")
    .replace(/\[[^\]]*\]/g, "[_]")
    .replace(/0x[0-9a-f]+/gi, "#")
    .replace(/-?\d+/g, "#");
}

/**
 * A trace error without its `line N: op: ` prefix (the line number differs for every op; the rule does not):
 * what /^line \d+: [a-z_0-9]+: / matches, scanned by hand (a regular expression per op cost more than the rest
 * of the key).
 */
export function withoutLinePrefix(error: string): string {
  if (!error.startsWith("line ")) return error;
  const n = error.length;
  let i = 5;
  while (i < n && isDigit(error.charCodeAt(i))) i++;
  if (i === 5 || error.charCodeAt(i) !== COLON || error.charCodeAt(i + 1) !== SPACE) return error;
  const word = (i += 2);
  while (i < n && isOpChar(error.charCodeAt(i))) i++;
  if (i === word || error.charCodeAt(i) !== COLON || error.charCodeAt(i + 1) !== SPACE) return error;
  return error.slice(i + 2);
}
const COLON = 58;
const SPACE = 32;
const isDigit = (c: number) => c >= 48 && c <= 57;
/** [a-z_0-9] */
const isOpChar = (c: number) => (c >= 97 && c <= 122) || c === 95 || isDigit(c);

export function resultKey(r: Result | { error: string }): string {
  if ("error" in r) return keyOf(ERROR_KEYS, "error", withoutLinePrefix(String(r.error)));
  const res = r as Result;
  if (res.errno) return keyOf(errnoKeys(res.errno), res.errno, messageOf(res) ?? "");
  if (res.signal) return `${res.signal}|`;
  if (res.exit) return `exit ${res.exit}|`;
  return "ok|";
}

/**
 * Result keys by sentence, per errno (and one table for trace errors): every op asks for one, and the same
 * sentences come again and again, so each key is built once and the same string comes back (the coverage
 * table's lookups then hash no new string). Bounded as ruleKey's table is.
 */
const ERROR_KEYS = new Map<string, string>();
const ERRNO_KEYS = new Map<string, Map<string, string>>();
function errnoKeys(errno: string): Map<string, string> {
  return tableIn(ERRNO_KEYS, errno);
}
function keyOf(table: Map<string, string>, head: string, sentence: string): string {
  return table.get(sentence) ?? remember(table, sentence, `${head}|${ruleKey(sentence)}`);
}

/** The inner table of `outer` for `name`, made on first use (bounded as the key tables are). */
function tableIn(outer: Map<string, Map<string, string>>, name: string): Map<string, string> {
  let m = outer.get(name);
  if (!m) {
    if (outer.size >= RULE_KEYS_KEPT) outer.clear();
    outer.set(name, (m = new Map()));
  }
  return m;
}

/** Keeps key's string in a bounded table (emptied when full: names and numbers make sentences without end) and returns it. */
function remember(table: Map<string, string>, key: string, value: string): string {
  if (table.size >= RULE_KEYS_KEPT) table.clear();
  table.set(key, value);
  return value;
}

function decisionKey(d: Decision): string {
  return d.allow ? "allow" : `deny ${ruleKey(d.reason)}`;
}

/**
 * The policy, wrapped so that each decision is also written to `sink` with the
 * shape of its request. Decisions are passed through unchanged, and the hooks
 * not recorded (convert, foreign) are the policy's own: the wrapped policy
 * decides everything exactly as the policy does.
 */
export function recordingPolicy(policy: Policy, sink: string[]): Policy {
  const p: Policy = { name: policy.name, properties: policy.properties };
  if (policy.convert) p.convert = policy.convert.bind(policy);
  if (policy.foreign) p.foreign = policy.foreign.bind(policy);
  const base = policy as Required<Pick<Policy, "link" | "fallocate" | "bind" | "migrate">> & Policy;
  if (policy.link)
    p.link = (req: LinkRequest) => {
      const d = base.link(req);
      const granted = d.allow ? (d.perm ?? req.perm) : [];
      const grant = !d.allow ? "" : within(granted, req.source.perm) ? " grant-within" : " grant-beyond";
      sink.push(`link ${req.mode} from-${req.source.origin} asks-${within(req.perm, req.source.perm) ? "within" : "beyond"} ${edges(req.source, req.window)}: ${decisionKey(d)}${grant}`);
      return d;
    };
  if (policy.fallocate)
    p.fallocate = (req: FallocateRequest) => {
      const d = base.fallocate(req);
      sink.push(`fallocate ${req.op} ${req.file.origin} ${edges(req.file, req.range)}: ${decisionKey(d)}`);
      return d;
    };
  if (policy.bind)
    p.bind = (req: BindRequest | VmBindRequest) => {
      const d = base.bind(req);
      if (req.kind === "vm") {
        // The system design's bind: which VM asks (bound before, bound now, new) and whether a memslot made it.
        const vm = req.vm.id;
        const before = req.file.bound.some((b) => b.vm === vm) ? "bound" : req.file.unbound.includes(vm) ? "rebinding" : "new";
        sink.push(`bind vm ${before} ${req.implicit ? "implicit" : "explicit"} ${req.file.bound.length ? "shared" : "first"}: ${decisionKey(d)}`);
      } else sink.push(`bind ${req.file.origin} ${edges(req.file, [req.pgoff, req.pgoff + req.npages])}: ${decisionKey(d)}`);
      return d;
    };
  if (policy.migrate)
    p.migrate = (req: MigrateRequest) => {
      const d = base.migrate(req);
      sink.push(`migrate ${req.files.length ? "with-files" : "no-files"}: ${decisionKey(d)}`);
      return d;
    };
  return p;
}

/**
 * A checked run of one trace (checkTrace) that also reads the coverage keys
 * of its ops, in op order (with repeats; up to the failing op, where the run
 * stops), its policy wrapped to record each decision. `succeeded`, if given,
 * receives each gmem_link op that returned 0 (mutation aims at links that worked).
 */
export function checkWithKeys(trace: ReadonlyArray<Record<string, unknown>>, o: CheckOptions = {}, succeeded?: WeakSet<object>): { failure: TraceFailure | null; keys: string[] } {
  const keys: string[] = [];
  // The sink is empty between traces: checkTrace() hands every op it ran to onOp, whose opKey() empties it.
  const { policy, sink } = recorderFor(o.policy ?? defaultPolicyFor(designByName(o.design ?? "vm")));
  const failure = checkTrace(trace as Array<Record<string, unknown>>, { ...o, policy, onOp: (_k, op, result) => keys.push(opKey(op, result, sink, succeeded)) });
  return { failure, keys };
}

/**
 * The recorder of each policy, and the sink it writes to, kept for the next
 * trace: one made per trace cost its allocation, and made every trace's
 * options look new to checkTrace(), which reads them once while they stay the
 * same (a Simulator per trace).
 */
const recorders = new WeakMap<Policy, { policy: Policy; sink: string[] }>();

function recorderFor(base: Policy): { policy: Policy; sink: string[] } {
  let r = recorders.get(base);
  if (r === undefined) {
    const sink: string[] = [];
    const recorder = recordingPolicy(base, sink);
    // Around the default policy the recorder is as pure as it: asked as it is, without freezing every request.
    r = { policy: isOwnDefault(base) ? askedAsDefault(recorder) : recorder, sink };
    recorders.set(base, r);
  }
  return r;
}

/** The coverage keys one trace reaches (checkWithKeys()'s). */
export function traceKeys(trace: ReadonlyArray<Record<string, unknown>>, o: CheckOptions = {}, succeeded?: WeakSet<object>): string[] {
  return checkWithKeys(trace, o, succeeded).keys;
}

/**
 * One op's coverage key, from its result and the decisions `sink` recorded
 * while it ran (emptied here, for the next op); `succeeded` receives the op
 * when it is a gmem_link that returned 0: mutation asks only about links
 * (mutate.ts windows()), and a WeakSet entry per op that worked cost ~1.5% of
 * a guided run.
 */
export function opKey(op: Record<string, unknown>, result: Result | { error: string }, sink: string[], succeeded?: WeakSet<object>): string {
  if (succeeded && (result as Result).ret === 0 && op.op === "gmem_link") succeeded.add(op);
  const name = String(op.op);
  const res = resultKey(result);
  if (sink.length === 0) {
    // Most ops ask the policy nothing: their key is one of few, kept by op and result key (the same string each time).
    const byResult = tableIn(NO_DECISION_KEYS, name);
    return byResult.get(res) ?? remember(byResult, res, `${name}|${res}|`);
  }
  const key = `${name}|${res}|${sink.join(" + ")}`;
  sink.length = 0;
  return key;
}
const NO_DECISION_KEYS = new Map<string, Map<string, string>>();

/** Coverage so far: each key with the number of ops that reached it. */
export class Coverage {
  readonly counts = new Map<string, number>();

  /** Adds a trace's keys; returns how many were new. */
  add(keys: readonly string[]): number {
    let fresh = 0;
    for (const k of keys) {
      const n = this.counts.get(k);
      if (n === undefined) fresh++;
      this.counts.set(k, (n ?? 0) + 1);
    }
    return fresh;
  }

  get size(): number {
    return this.counts.size;
  }

  /** Sorted [key, count] pairs: the form reports carry and merge. */
  toJSON(): Array<[string, number]> {
    return [...this.counts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** Summary lines of a coverage table: keys per op, and the policy decisions reached. */
export function summarize(pairs: ReadonlyArray<readonly [string, number]>): { keys: number; perOp: Array<[string, number]>; decisions: Array<[string, number]> } {
  const perOp = new Map<string, number>();
  const decisions = new Map<string, number>();
  for (const [key, n] of pairs) {
    const [op, , , policy] = key.split("|");
    perOp.set(op, (perOp.get(op) ?? 0) + 1);
    for (const d of policy ? policy.split(" + ") : []) {
      // One line per hook, request shape and answer; the edge classes folded into "at a window edge" or not.
      const m = / own:[a-z-]+(?:,donated:[a-z-]+)*/.exec(d);
      const atEdge = m && /first-page|last-page|whole|across-start|across-end|just-before|just-after/.test(m[0]);
      const short = m ? `${d.slice(0, m.index)}${atEdge ? " (at a window edge)" : ""}${d.slice(m.index + m[0].length)}` : d;
      decisions.set(short, (decisions.get(short) ?? 0) + n);
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return { keys: pairs.length, perOp: sorted(perOp), decisions: sorted(decisions) };
}
