/**
 * A model-based command set for fast-check (fc.commands / fc.modelRun), so users
 * can write their own property tests against gmemsim in their test runner.
 *
 * The model is a deliberate simplification of the system: which names are bound
 * to live VMs, fds and maps. A command's precondition asks only that. Running a
 * command applies the same trace op to the real systems (the WebAssembly engine
 * and the reference model, by default, under one policy), asserts that they
 * answer alike, and then runs the checks: the engine invariants, the security
 * properties and the policy's own properties. A failing sequence shrinks, and
 * replays exactly from fast-check's {seed, path}.
 */
import fc from "fast-check";
import { Simulator, type SimulatorOptions } from "../api/simulator.js";
import { checkInvariants } from "../check/checker.js";
import { checkSecurity } from "../check/checker.js";
import { opArbitraries, DEFAULT_WEIGHTS, type OpName } from "./arbitraries.js";
import { stringifyJson } from "../trace/json.js";

export interface GmemModel {
  /** Names bound by a successful create, and not closed since (a simplification: fuzzing may still use others). */
  live: Set<string>;
}

export interface GmemReal {
  systems: Simulator[];
  /** Result lines so far, for counterexample reports. */
  trace: object[];
}

export class CheckFailure extends Error {}

/** One trace op as a fast-check command. */
export class GmemCommand implements fc.Command<GmemModel, GmemReal> {
  constructor(readonly op: Record<string, unknown>) {}

  check(_m: Readonly<GmemModel>): boolean {
    // Ops on dead or unknown names are part of the uAPI too (EBADF, trace errors): always allowed.
    return true;
  }

  run(m: GmemModel, r: GmemReal): void {
    r.trace.push(this.op);
    const answers = r.systems.map((s) => s.apply([this.op])[0]);
    const first = stringifyJson(answers[0]);
    answers.forEach((a, k) => {
      if (stringifyJson(a) !== first) throw new CheckFailure(`op ${this}: system 0 answered ${first}, system ${k} answered ${stringifyJson(a)}`);
    });
    const res = answers[0] as { ret?: number };
    const as = this.op.as;
    if (typeof as === "string" && res.ret === 0) m.live.add(as);
    for (const k of ["fd", "vm", "map"]) if ((this.op.op === "close" || this.op.op === "destroy_vm" || this.op.op === "munmap") && typeof this.op[k] === "string") m.live.delete(this.op[k] as string);
    const host = r.systems[0].host;
    const bad = [...checkInvariants(host).map((x) => `engine invariant ${x}`), ...checkSecurity(host).map((x) => `security property ${x}`)];
    if (bad.length) throw new CheckFailure(`after op ${this}: ${bad[0]}`);
  }

  toString(): string {
    return stringifyJson(this.op);
  }
}

/** The command arbitrary: every trace op of SPEC §2, weighted. */
export function gmemCommands(opts: { weights?: Partial<Record<OpName, number>>; maxCommands?: number } = {}) {
  const weights = { ...DEFAULT_WEIGHTS, ...opts.weights };
  const arbs = (Object.keys(opArbitraries) as OpName[])
    .filter((name) => (weights[name] ?? 0) > 0)
    .flatMap((name) => Array.from({ length: weights[name] }, () => (opArbitraries[name] as fc.Arbitrary<Record<string, unknown>>).map((op) => new GmemCommand(op))));
  // Full-length sequences: the bugs worth finding need several objects set up before they show.
  return fc.commands(arbs, { maxCommands: opts.maxCommands ?? 60, size: "max" });
}

/**
 * A fresh model and real systems for fc.modelRun. `prefix` ops (trace ops, say
 * the VMs and files a test is about) run on every system first.
 */
export function gmemSetup(options: SimulatorOptions & { engines?: Array<"wasm" | "reference">; prefix?: object[] } = {}) {
  return () => {
    const systems = (options.engines ?? ["wasm", "reference"]).map((engine) => new Simulator({ kernel: options.kernel, policy: options.policy, engine }));
    const live = new Set<string>();
    for (const op of options.prefix ?? []) {
      const answers = systems.map((s) => s.apply([op])[0]);
      const as = (op as { as?: unknown }).as;
      if (typeof as === "string" && answers[0].ret === 0) live.add(as);
    }
    return { model: { live } as GmemModel, real: { systems, trace: [...(options.prefix ?? [])] } as GmemReal };
  };
}
