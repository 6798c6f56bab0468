/**
 * Checking one random trace: each op runs on the engine and on the reference
 * model in lockstep (one kernel layer over both cores, lockstep.ts); every
 * result word of every core command must agree, and so must the two cores'
 * whole states at the end. After every op the engine invariants, the security
 * properties and the policy's own properties must hold (checked for what the
 * op changed; the whole state is checked at the end, which also checks the
 * incremental checks). The first failure comes back with the op that showed it
 * and the objects involved, named as the trace named them.
 */
import { Simulator, type SimulatorOptions } from "../api/simulator.js";
import { Host, type HostOptions } from "../kvm/host.js";
import { EngineCore } from "../core/engine.js";
import { ReferenceCore } from "../core/reference/index.js";
import { Checker, type CheckReport } from "../check/checker.js";
import { render } from "../check/violation.js";
import type { Policy } from "../policy/types.js";
import { Replayer, resultLine, type LineRecord } from "../trace/replay.js";
import { traceNamer } from "../trace/namer.js";
import type { Names } from "../trace/names.js";
import { stringifyJson } from "../trace/json.js";
import { LockstepCore, describeDivergence } from "./lockstep.js";
import { DEFAULT_PROFILE, profileByName, type KernelProfile } from "../kvm/profile.js";

export type FailureKind = "divergence" | "engine invariant" | "security property";

export interface TraceFailure {
  kind: FailureKind;
  /** Index of the op in the trace. */
  index: number;
  op: Record<string, unknown>;
  /** The first broken rule, as the checker words it. */
  detail: string;
}

export interface CheckOptions {
  kernel?: string;
  policy?: Policy;
  /** The design (SPEC §2.3; default "vm"). */
  design?: string;
  /** Check invariants and properties after every op (the default), or only at the end. */
  everyOp?: boolean;
  /** After each op, check what it changed (the default), or the whole state. */
  incremental?: boolean;
  /** Called after each op has run (before its checks), with its result: how coverage is counted without a second replay. */
  onOp?: (k: number, op: Record<string, unknown>, result: LineRecord["result"]) => void;
}

/** One pair of cores per thread, reset between traces when the build supports it. */
let pooled: LockstepCore | null = null;

function freshCores(): LockstepCore {
  if (pooled && pooled.reset()) return pooled;
  return (pooled = new LockstepCore(new EngineCore(), new ReferenceCore()));
}

/** Profiles by name, looked up once per run rather than parsed for every trace (a profile is shared and read only). */
const profiles = new Map<string, KernelProfile>();

function profileOf(name: string | undefined): KernelProfile | string {
  if (name === undefined) return DEFAULT_PROFILE;
  let p = profiles.get(name);
  if (!p) {
    try {
      p = profileByName(name);
    } catch {
      // An unknown name: the Simulator words the error.
      return name;
    }
    profiles.set(name, p);
  }
  return p;
}

/**
 * The host options a Simulator read from the last kernel, policy and design checkTrace was given (a fuzzing run
 * gives the same ones for every trace): the options are checked, and their errors worded, by a Simulator once,
 * and later traces with the same ones get their kernel layer (a Host) straight from what it read.
 */
let lastRead: { kernel: string | undefined; policy: Policy | undefined; design: string | undefined; host: HostOptions } | null = null;

function hostFor(cores: LockstepCore, o: CheckOptions): Host {
  const r = lastRead;
  if (r !== null && r.kernel === o.kernel && r.policy === o.policy && r.design === o.design) return new Host(cores, r.host);
  const { host } = new Simulator({ core: cores, kernel: profileOf(o.kernel), policy: o.policy, design: o.design as SimulatorOptions["design"] });
  lastRead = { kernel: o.kernel, policy: o.policy, design: o.design, host: { profile: host.profile, policy: host.policy, design: host.design, frameLimit: host.frameLimit } };
  return host;
}

export function checkTrace(trace: Array<Record<string, unknown>>, o: CheckOptions = {}): TraceFailure | null {
  const cores = freshCores();
  const host = hostFor(cores, o);
  const re = new Replayer(host);
  // Cores just reset (or new), to which the kernel layer sent nothing: the checker starts from an empty state.
  const checker = new Checker(host, cores.pushed === 0);
  const everyOp = o.everyOp ?? true;
  const incremental = o.incremental ?? true;
  let finalSnapshot: Float64Array | null = null;
  const events = host.events;
  for (let k = 0; k < trace.length; k++) {
    const op = trace[k];
    const pushed = cores.pushed;
    const recorded = events.length;
    const a = re.op(op as never, k + 1);
    host.sync();
    o.onOp?.(k, op, a.result);
    if (cores.divergence)
      return { kind: "divergence", index: k, op, detail: `${describeDivergence(cores.divergence)}; the op answered ${stringifyJson(resultLine(a))}` };
    const last = k === trace.length - 1;
    if (last) {
      // The last op gets the full check: it also compares the state kept from the change log with the core's,
      // and the engine's whole state with the reference model's (LockstepCore.snapshot()).
      finalSnapshot = cores.snapshot();
      if (cores.divergence) return { kind: "divergence", index: k, op, detail: describeDivergence(cores.divergence) };
      const bad = firstFailure(checker.full(finalSnapshot), re.names);
      if (bad) return { ...bad, index: k, op };
    } else if (everyOp) {
      // A check reads only the core (its change log) and the recorded facts: an op that sent the core no command
      // and recorded no fact (a trace error, fstat, a refused create) leaves every input of the last check as it
      // was, so the check would answer what it answered then, nothing. (Not for whole-state checks: tests use
      // them as the reference.)
      if (incremental && cores.pushed === pushed && events.length === recorded) continue;
      const bad = firstFailure(incremental ? checker.step(true) : checker.full(), re.names);
      if (bad) return { ...bad, index: k, op };
    }
  }
  if (finalSnapshot === null) cores.snapshot();
  if (cores.divergence) return { kind: "divergence", index: trace.length - 1, op: trace[trace.length - 1] ?? {}, detail: describeDivergence(cores.divergence) };
  return null;
}

function firstFailure(r: CheckReport, names: Names): { kind: FailureKind; detail: string } | null {
  if (r.invariants.length) return { kind: "engine invariant", detail: render(r.invariants[0], traceNamer(names)) };
  if (r.security.length) return { kind: "security property", detail: render(r.security[0], traceNamer(names)) };
  return null;
}

/** One paragraph for people: what broke, at which op, and what to do with the trace. */
export function explain(f: TraceFailure, policyName: string): string {
  const what =
    f.kind === "divergence"
      ? `The engine and the reference model disagree: a bug in one of gmemsim's two cores.`
      : f.kind === "engine invariant"
        ? `An engine invariant fails: a bug in gmemsim, whatever the policy.`
        : `A security property fails under policy "${policyName}": the engine did what the policy allowed, so the flaw is in the policy.`;
  return `${what} It shows at op ${f.index} of the shrunk trace, ${JSON.stringify(f.op)}: ${f.detail}.`;
}
