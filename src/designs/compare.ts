/**
 * Running the debate (SPEC §2.3): each scenario under each design, with the
 * design's default policy (what it takes, what holds) and with the naive
 * "bind anywhere" policy (the shortest trace that breaks a property, shrunk as
 * the fuzzer shrinks). Plain data out; src/cli/designs.ts prints it.
 */
import { Checker } from "../check/checker.js";
import { render, type Violation } from "../check/violation.js";
import { Simulator } from "../api/simulator.js";
import { checkTrace } from "../fuzz/check.js";
import type { Policy } from "../policy/types.js";
import { expectMismatch, Replayer } from "../trace/replay.js";
import { SCENARIOS, SCENARIO_PROFILE, type Line, type Scenario } from "./scenarios.js";
import { naivePolicy } from "./naive.js";

export const PROPERTIES: Readonly<Record<number, string>> = {
  1: "no escalation",
  2: "owner control",
  3: "donation is final",
  4: "migration is exclusive",
  5: "no use after free",
  6: "right key",
};

export type DesignName = "vm" | "system";

/** A security violation's property number, by its rule ("6 right key"); undefined for a policy's own property. */
const PROPERTY_OF_RULE = new Map(Object.entries(PROPERTIES).map(([n, name]) => [`${n} ${name}`, Number(n)]));
const propertyOf = (v: Violation): number | undefined => PROPERTY_OF_RULE.get(v.rule);

export interface Breach {
  policy: string;
  /** The property's number (SPEC §4) and name. */
  property: number;
  name: string;
  /** The checker's sentence. */
  detail: string;
  /** The shortest trace found: every op matters (dropping any one loses the breach). */
  trace: Line[];
}

export interface Cell {
  /** The uAPI calls the scenario makes, beyond creating VMs and touching memory, in order. */
  calls: string[];
  /** Under the design's default policy: every expectation of the scenario met, and the properties that held after every op. */
  works: boolean;
  holds: number[];
  /** Under the naive policy: each property it lets break, with the shortest trace that shows it, shortest first. */
  breaches: Breach[];
}

export interface DesignsReport {
  /** The kernel profile the scenarios ran under (SCENARIO_PROFILE). */
  kernel: string;
  designs: DesignName[];
  scenarios: Array<{ id: string; title: string; cells: Record<DesignName, Cell> }>;
}

const ROUTINE = new Set(["create_vm", "vcpu_access", "set_memory_attributes", "stats"]);

function callName(op: Line): string {
  if (op.op === "gmem_link") return `gmem_link(${String(op.mode)})`;
  if (op.op === "set_user_memory_region2") return "set_user_memory_region2";
  return String(op.op);
}

/** The scenario's calls, repeated ones counted: ["create_guest_memfd", "set_user_memory_region2 x2", ...]. */
export function callsOf(steps: Line[]): string[] {
  const counts = new Map<string, number>();
  for (const op of steps) if (!ROUTINE.has(String(op.op))) counts.set(callName(op), (counts.get(callName(op)) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n > 1 ? `${name} x${n}` : name));
}

const strip = (op: Line): Line => {
  const { expect: _expect, ...rest } = op;
  return rest;
};

/** Replays the trace under the design's default policy, checking expectations and every property after every op. */
function underDefault(design: DesignName, steps: Line[], attack: Line[]): { works: boolean; holds: number[] } {
  const sim = new Simulator({ engine: "reference", design, kernel: SCENARIO_PROFILE });
  const rp = new Replayer(sim.host);
  const checker = new Checker(sim.host);
  let works = true;
  const broken = new Set<number>();
  [...steps, ...attack].forEach((op, k) => {
    const rec = rp.op(op as never, k + 1);
    sim.host.sync();
    if (k < steps.length && (expectMismatch(rec).length > 0 || "error" in rec.result)) works = false;
    // What this op changed, checked as replay --check checks it: a property reported once is broken for good.
    const r = checker.step();
    if (r.invariants.length) throw new Error(`designs: an engine invariant fails in ${design} design after op ${k} (a bug in gmemsim): ${render(r.invariants[0])}`);
    for (const v of r.security) {
      const p = propertyOf(v);
      if (p !== undefined) broken.add(p);
    }
  });
  return { works, holds: Object.keys(PROPERTIES).map(Number).filter((p) => !broken.has(p)) };
}

/** The index of the first op after which `property` fails, replaying on the reference model; -1 if it never does. */
function breaksAt(design: DesignName, trace: Line[], policy: Policy, property: number): number {
  const sim = new Simulator({ engine: "reference", design, policy, kernel: SCENARIO_PROFILE });
  const rp = new Replayer(sim.host);
  const checker = new Checker(sim.host);
  for (let k = 0; k < trace.length; k++) {
    rp.op(trace[k] as never, k + 1);
    sim.host.sync();
    if (checker.step().security.some((v) => propertyOf(v) === property)) return k;
  }
  return -1;
}

/** Drops single ops for as long as the property still fails, to a trace where every op matters (as the fuzzer's shrinking ends). */
function shortest(design: DesignName, trace: Line[], policy: Policy, property: number): Line[] {
  let cur = trace.slice(0, breaksAt(design, trace, policy, property) + 1);
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = cur.length - 1; k >= 0; k--) {
      const next = [...cur.slice(0, k), ...cur.slice(k + 1)];
      const at = breaksAt(design, next, policy, property);
      if (at >= 0) {
        cur = next.slice(0, at + 1);
        changed = true;
      }
    }
  }
  return cur;
}

/** Every property the policy lets break in the scenario, each with its shortest trace, shortest first. */
function underNaive(design: DesignName, steps: Line[], attack: Line[], policy: Policy): Breach[] {
  const trace = [...steps, ...attack].map(strip);
  const sim = new Simulator({ engine: "reference", design, policy, kernel: SCENARIO_PROFILE });
  const rp = new Replayer(sim.host);
  const checker = new Checker(sim.host);
  const broken = new Set<number>();
  trace.forEach((op, k) => {
    rp.op(op as never, k + 1);
    sim.host.sync();
    for (const v of checker.step().security) {
      const p = propertyOf(v);
      if (p !== undefined) broken.add(p);
    }
  });
  const out: Breach[] = [];
  for (const property of [...broken].sort()) {
    const t = shortest(design, trace, policy, property);
    // The same trace on both cores, every op compared: the breach is the policy's, not a core's.
    const f = checkTrace(t, { policy, design, kernel: SCENARIO_PROFILE });
    if (!f || f.kind !== "security property") throw new Error(`designs: the shortest ${PROPERTIES[property]} trace under ${design} gave ${f ? f.kind : "no failure"} on the cores`);
    const detail = checkSecurityAt(design, t, policy, property);
    out.push({ policy: policy.name, property, name: PROPERTIES[property], detail, trace: t });
  }
  return out.sort((x, y) => x.trace.length - y.trace.length || x.property - y.property);
}

/** The checker's sentence for the property at the trace's last op (where shortest() left the breach). */
function checkSecurityAt(design: DesignName, trace: Line[], policy: Policy, property: number): string {
  const sim = new Simulator({ engine: "reference", design, policy, kernel: SCENARIO_PROFILE });
  const rp = new Replayer(sim.host);
  const checker = new Checker(sim.host);
  let found: Violation | undefined;
  trace.forEach((op, k) => {
    rp.op(op as never, k + 1);
    sim.host.sync();
    found = checker.step().security.find((v) => propertyOf(v) === property) ?? found;
  });
  return render(found!);
}

export function compareScenario(s: Scenario, policy: Policy = naivePolicy): Record<DesignName, Cell> {
  const cell = (design: DesignName): Cell => {
    const { steps, attack } = s[design];
    return { calls: callsOf(steps), ...underDefault(design, steps, attack), breaches: underNaive(design, steps, attack, policy) };
  };
  return { vm: cell("vm"), system: cell("system") };
}

export function compareDesigns(policy: Policy = naivePolicy): DesignsReport {
  return {
    kernel: SCENARIO_PROFILE,
    designs: ["vm", "system"],
    scenarios: SCENARIOS.map((s) => ({ id: s.id, title: s.title, cells: compareScenario(s, policy) })),
  };
}
