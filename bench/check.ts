/**
 * gmemsim bench --check [--json] [--quick]: what checking costs. The spread
 * trace (spread-trace.ts) is replayed on the engine without checks, with the
 * per-op checks of `replay --check` (what each op changed, and the whole state
 * once at the end), and with a whole-state check after every op, at two
 * lengths; then the host trace (host-trace.ts), the same traffic on hosts of
 * two sizes, and the VM trace (vm-trace.ts), the same memslots and donations
 * in VMs of two sizes, the slots trace (slots-trace.ts), the same memslot
 * churn in VMs of two numbers of memslots, and the conversion trace
 * (conversion-trace.ts), the same in-place conversions on inodes of two sizes
 * cut into runs, each unchecked and with --check. Printed as times and as
 * ratios measured side by side in this run.
 */
import { Host } from "../src/kvm/host.js";
import { EngineCore } from "../src/core/engine.js";
import { replayText } from "../src/trace/replay.js";
import { Checker } from "../src/check/checker.js";
import { spreadTrace } from "./spread-trace.js";
import { hostTrace } from "./host-trace.js";
import { vmTrace } from "./vm-trace.js";
import { conversionTrace, CONVERSION_PROFILE } from "./conversion-trace.js";
import { slotsTrace } from "./slots-trace.js";
import { profileByName, type KernelProfile } from "../src/kvm/profile.js";
import type { Design } from "../src/kvm/design.js";

type Mode = "unchecked" | "checked" | "full";

/** How timeReplay() replays: the host's profile and design, and whether a line that answers an errno is a failure too. */
export interface ReplayTiming {
  profile?: KernelProfile;
  design?: Design;
  /** Every line must succeed, in every mode (a probe's trace is made of ops that succeed). */
  allSucceed?: boolean;
  /** Names the benchmark in what a failure throws. */
  what?: string;
}

/** Replays text in one mode; returns seconds, and throws if a line or a check fails (the figures would mean nothing). */
export function timeReplay(text: string, mode: Mode, o: ReplayTiming = {}): number {
  const what = o.what ?? "bench --check";
  const t0 = performance.now();
  const host = new Host(new EngineCore(), { profile: o.profile, design: o.design });
  const checker = mode === "unchecked" ? null : new Checker(host);
  for (const batch of replayText(host, text, checker ? 1 : 4096)) {
    if (!checker && !o.allSucceed) continue;
    for (const rec of batch) {
      if ("error" in rec.result) throw new Error(`${what}: line ${rec.lineNo}: ${rec.result.error}`);
      if (o.allSucceed && "errno" in rec.result && rec.result.errno !== undefined) throw new Error(`${what}: line ${rec.lineNo} failed: ${JSON.stringify(rec.result)}`);
      if (!checker) continue;
      const r = mode === "full" ? checker.full() : checker.step();
      if (r.invariants.length || r.security.length) throw new Error(`${what}: a check failed at line ${rec.lineNo}`);
    }
  }
  if (checker) {
    const r = checker.full();
    if (r.invariants.length || r.security.length) throw new Error(`${what}: the final check failed`);
  }
  return (performance.now() - t0) / 1000;
}

/**
 * The trace's lines after its first `setupLines` replayed one at a time, unchecked or each checked for what it
 * changed; returns seconds. The setup runs first, untimed (a checker made after it checks the whole state once,
 * untimed too): the timed part is the changes alone, on a state as big as the setup made it.
 */
function timeAfterSetup(text: string, setupLines: number, mode: "unchecked" | "checked", profile?: KernelProfile): number {
  const host = new Host(new EngineCore(), { profile });
  let checker: Checker | null = null;
  let t0 = 0;
  for (const batch of replayText(host, text, 1)) {
    for (const rec of batch) {
      if ("error" in rec.result) throw new Error(`bench --check: line ${rec.lineNo}: ${rec.result.error}`);
      if (rec.lineNo === setupLines) {
        if (mode === "checked") {
          checker = new Checker(host);
          if (checker.full().invariants.length) throw new Error("bench --check: the setup's check failed");
        }
        t0 = performance.now();
      } else if (checker) {
        const r = checker.step();
        if (r.invariants.length || r.security.length) throw new Error(`bench --check: a check failed at line ${rec.lineNo}`);
      }
    }
  }
  return (performance.now() - t0) / 1000;
}

interface Pair {
  unchecked_s: number;
  checked_s: number;
  checked_over_unchecked: number;
}

/**
 * Traces unchecked and checked, the best of `runs` each (the machine is shared; the minimum is the least disturbed),
 * in rounds that take every trace in turn, forwards and backwards by turns. A ratio of ratios divides one size's
 * figures by the other's: timed one size after the other, a change in the host's speed between them moved it (1.34
 * for the host trace's 8x the VMs in one bench --tiers run at 10c4586, 0.71 and 0.87 in the others). In the same
 * order every round, the small trace's unchecked run always came right after the large one's checked run and paid
 * for its garbage (51.8 ms where it took 21.8, and the ratio read 2.15, at 4cac05e); taken backwards every other
 * round, each trace has rounds that follow a run of its own size.
 */
function bestPairs(times: ReadonlyArray<(mode: "unchecked" | "checked") => number>, runs: number): Pair[] {
  const unchecked = times.map(() => Infinity);
  const checked = times.map(() => Infinity);
  for (let k = 0; k < runs; k++)
    for (let q = 0; q < times.length; q++) {
      const j = k % 2 === 0 ? q : times.length - 1 - q;
      unchecked[j] = Math.min(unchecked[j], times[j]("unchecked"));
      checked[j] = Math.min(checked[j], times[j]("checked"));
    }
  return times.map((_, j) => ({ unchecked_s: unchecked[j], checked_s: checked[j], checked_over_unchecked: checked[j] / unchecked[j] }));
}

/**
 * A trace of `changes` made at `few` and at GROWTH times `few` (each row named by `key`), each timed after its setup
 * (timeAfterSetup()), after one checked warm-up run at `few` with another seed.
 */
function afterSetupBench<K extends string>(key: K, few: number, changes: number, make: (size: number, seed: number) => { text: string; setupLines: number }, runs: number, profile?: KernelProfile): AfterSetupBench<K> {
  const warm = make(few, 2);
  // Both modes: a row's ratio divides one by the other, and a cold unchecked run once took a 1x row's ratio from 2.2 to 1.35.
  for (const mode of ["unchecked", "checked"] as const) timeAfterSetup(warm.text, warm.setupLines, mode, profile);
  const sizes = [few, few * GROWTH];
  const traces = sizes.map((size) => make(size, 1));
  const pairs = bestPairs(traces.map(({ text, setupLines }) => (mode) => timeAfterSetup(text, setupLines, mode, profile)), runs);
  const rows = sizes.map((size, j) => ({ [key]: size, ...pairs[j] }) as Record<K, number> & Pair);
  return { changes, runs, rows, check_ratio_growth: ratioGrowth(rows) };
}

/** --check over replay at the larger size, over the same at the smaller (1: checking costs what the ops change). */
const ratioGrowth = (rows: readonly Pair[]) => rows[1].checked_over_unchecked / rows[0].checked_over_unchecked;

/** Each trace runs at one size and at GROWTH times it. */
const GROWTH = 8;

/** A trace timed after its setup (afterSetupBench()) at two sizes, each row named by its size's key K. */
export interface AfterSetupBench<K extends string> {
  /** The changes timed, the same at both sizes. */
  changes: number;
  /** Each mode's time at each size is the best of this many runs. */
  runs: number;
  rows: Array<Record<K, number> & Pair>;
  /** --check over replay at the larger size, over the same at the smaller (1: checking costs what the ops change). */
  check_ratio_growth: number;
}

export interface CheckBench {
  trace: string;
  runs: number;
  rows: Array<{ ops: number; full_every_op_s: number | null } & Pair>;
  /** Checked time of the long trace over the short one's, beside how many times longer it is. */
  checked_time_growth: number;
  length_growth: number;
  /** How many times bigger the second size of the host, VM, slots and conversion traces is. */
  growth: number;
  /** The host trace: the same traffic on a host of `vms` VMs and on one `growth` times as big. */
  host: { traffic_ops: number; rows: Array<{ vms: number } & Pair>; check_ratio_growth: number };
  /** The VM trace: the same memslot and donation changes in a VM of `pages` mapped pages and in one `growth` times as big. */
  vm: AfterSetupBench<"pages">;
  /** The slots trace: the same memslot deletes and re-creations in a VM of `slots` memslots and in one of `growth` times as many. */
  slots: AfterSetupBench<"slots">;
  /** The conversion trace: the same conversions on an inode of `pages` pages (pages / 2 runs) and on one `growth` times as big. */
  conversion: AfterSetupBench<"pages">;
}

/** Times the spread trace at two lengths (250 and 2,000 ops quick, else 1,000 and 8,000). */
export function measureCheck(quick = false): CheckBench {
  const small = quick ? 250 : 1000;
  const large = small * 8;
  const runs = quick ? 1 : 9;
  // Warm the JIT on the short trace first, so that neither length is timed cold.
  const warm = spreadTrace(small, 2);
  for (const mode of ["unchecked", "checked"] as const) timeReplay(warm, mode);
  const lengths = [small, large];
  const texts = lengths.map((ops) => spreadTrace(ops));
  const pairs = bestPairs(texts.map((text) => (mode) => timeReplay(text, mode)), runs);
  // The whole state after every op is quadratic in the trace: timed once, at the short length only.
  const rows = lengths.map((ops, j) => ({ ops, ...pairs[j], full_every_op_s: ops === small ? timeReplay(texts[j], "full") : null }));
  const fewVms = quick ? 100 : 500;
  const traffic = quick ? 2000 : 20_000;
  timeReplay(hostTrace(fewVms, traffic, 2), "checked");
  const vmCounts = [fewVms, fewVms * GROWTH];
  const hostTexts = vmCounts.map((vms) => hostTrace(vms, traffic));
  const hostPairs = bestPairs(hostTexts.map((text) => (mode) => timeReplay(text, mode)), runs);
  const hostRows = vmCounts.map((vms, j) => ({ vms, ...hostPairs[j] }));
  const host = { traffic_ops: traffic, rows: hostRows, check_ratio_growth: ratioGrowth(hostRows) };
  // These traces' timed parts take 5 to 30 ms, where one disturbed run moves a ratio of ratios: more runs each.
  const shortRuns = quick ? 1 : 11;
  const changes = quick ? 200 : 1000;
  const vm = afterSetupBench("pages", quick ? 500 : 2500, changes, (pages, seed) => vmTrace(pages, changes, seed), shortRuns);
  const slotChanges = quick ? 500 : 4000;
  const slots = afterSetupBench("slots", quick ? 250 : 1000, slotChanges, (n, seed) => slotsTrace(n, slotChanges, seed), shortRuns);
  const fewRuns = quick ? 500 : 2000;
  // Conversions cost a few microseconds each: 4,000 of them, so that the timed part is not a few milliseconds.
  const conversions = quick ? 500 : 4000;
  const conversion = afterSetupBench("pages", fewRuns, conversions, (pages, seed) => conversionTrace(pages, conversions, seed, fewRuns), shortRuns, profileByName(CONVERSION_PROFILE));
  return { trace: "spread over 16 files", runs, rows, checked_time_growth: rows[1].checked_s / rows[0].checked_s, length_growth: large / small, growth: GROWTH, host, vm, slots, conversion };
}

const ms = (s: number) => (s * 1000).toFixed(0);
/** A row's line: what it is, its two times and their ratio. */
const pairLine = (what: string, r: Pair) => `  ${what}: unchecked ${ms(r.unchecked_s)} ms, --check ${ms(r.checked_s)} ms = ${r.checked_over_unchecked.toFixed(2)}x unchecked`;
/** A trace's last line: what grew 8x, and how much more --check cost against replay. */
const growthLine = (what: string, growth: number) => `  ${what} made --check ${growth.toFixed(2)}x as costly against replay (checks that cost what ops change: 1)`;

/** The figures as lines for people. */
export function checkBenchLines(b: CheckBench): string[] {
  const lines = [`replay of the spread trace (16 files), engine core, best of ${b.runs}`];
  for (const r of b.rows) {
    const full = r.full_every_op_s === null ? "" : `; whole state every op ${r.full_every_op_s.toFixed(2)} s (${(r.full_every_op_s / r.checked_s).toFixed(1)}x --check)`;
    lines.push(`${pairLine(`${r.ops} ops`, r)}${full}`);
  }
  lines.push(`  ${b.length_growth}x the ops took ${b.checked_time_growth.toFixed(2)}x the --check time (linear: ${b.length_growth}x)`);
  lines.push(`replay of the host trace (each VM's memory a shared memfd mapping; ${b.host.traffic_ops} ops of traffic, 4 setup lines a VM), best of ${b.runs}`);
  for (const r of b.host.rows) lines.push(pairLine(`${r.vms} VMs`, r));
  lines.push(growthLine(`${b.growth}x the VMs`, b.host.check_ratio_growth));
  lines.push(`replay of the VM trace (${b.vm.changes} memslots added and windows donated in one VM, a guest read after each, timed after the VM's pages are mapped), best of ${b.vm.runs}`);
  for (const r of b.vm.rows) lines.push(pairLine(`${r.pages} mapped pages`, r));
  lines.push(growthLine(`${b.growth}x the pages`, b.vm.check_ratio_growth));
  const sl = b.slots;
  lines.push(`replay of the slots trace (${sl.changes} one-page memslots deleted or made again in one VM, a guest read after each, timed after the setup), best of ${sl.runs}`);
  for (const r of sl.rows) lines.push(pairLine(`${r.slots} memslots`, r));
  lines.push(growthLine(`${b.growth}x the memslots`, sl.check_ratio_growth));
  const c = b.conversion;
  lines.push(`replay of the conversion trace (${c.changes} four-page in-place conversions in the first ${c.rows[0].pages} pages of an inode cut into a run every other page, a guest read there after each, timed after the setup; profile ${CONVERSION_PROFILE}), best of ${c.runs}`);
  for (const r of c.rows) lines.push(pairLine(`${r.pages} pages (${r.pages / 2} runs)`, r));
  lines.push(growthLine(`${b.growth}x the pages and runs`, c.check_ratio_growth));
  return lines;
}
