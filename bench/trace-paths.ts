/**
 * The trace paths of bench --tiers: JSONL replay (to its result lines in
 * bytes, as `replay --json` writes them), only parsing the same JSONL, and
 * replaying its binary form (gmemsim convert) to the same bytes, each on the
 * workload's first n ops and on all 10 n, timed in a heap that holds the
 * traces alone, as a replaying process's does (run in a worker thread by
 * bench/clean-heap.ts: in the benchmark's own thread, beside the other
 * paths' inputs, three runs at b5ada7a read the binary replay of 1,000,000
 * ops at 64 to 141 ns/op; README, bench --tiers). Each replay is
 * first checked against the plain-JS model: the same bytes read.
 */
import { EngineCore } from "../src/core/engine.js";
import { Host } from "../src/kvm/host.js";
import { encodeTrace } from "../src/trace/binary.js";
import { replayBinaryJson } from "../src/trace/binary-replay.js";
import { replayTextJson } from "../src/trace/text-json.js";
import { applyOps, makeStream, modelAnswer, reused, timeIt, traceText, TRIES } from "./tiers.js";

/**
 * `replay --json`'s work on a JSONL trace: every line run and its result line written, to bytes (each chunk's,
 * lent: one buffer reused); returns their length.
 */
function runJsonl(core: EngineCore, text: string): number {
  let n = 0;
  for (const b of replayTextJson(new Host(core), text, 4096, undefined, true)) n += b.length;
  return n;
}

/** The same for the binary form of the trace (gmemsim convert), its output lent as views of the core's buffer. */
function runBinary(core: EngineCore, bytes: Uint8Array): number {
  let n = 0;
  for (const b of replayBinaryJson(new Host(core), bytes, 4096, undefined, true)) n += b.length;
  return n;
}

/** The bytes read by a replay, from the result lines it writes (the check that it ran what the model ran). */
function readSum(pieces: Iterable<Uint8Array>): number {
  let sum = 0;
  const text = new TextDecoder();
  for (const b of pieces)
    for (const line of text.decode(b).split("\n")) if (line) sum += (JSON.parse(line) as { value?: number }).value ?? 0;
  return sum;
}

/** Only parsing the same JSONL: the floor of any JSONL replay. */
function parseJsonl(text: string): number {
  let n = 0;
  for (const line of text.split("\n")) if (JSON.parse(line)) n++;
  return n;
}
/**
 * Runs a round of each path at 10 n: more than once, as the three are compared with each other only (no flat-cost
 * ratio divides them by their n figures); one run a round left the binary replay's 10 n figure to three runs on a
 * noisy machine, and one disturbed run decided it.
 */
const TRIES_LONG = 3;

/**
 * The trace paths' best times in ns (keys jsonl, binary, parse, and each with 10x for 10 n ops), over `rounds`
 * rounds after a warm-up round: five times a round at n, three times at 10 n.
 */
export function measureTracePaths(n: number, rounds: number): Record<string, number> {
  const big = 10 * n;
  const stream = makeStream(big);
  const ops = applyOps(stream);
  const text = traceText(ops, n);
  const textBig = traceText(ops, big);
  const bin = encodeTrace(text);
  const binBig = encodeTrace(textBig);
  for (const [m, t, b] of [[n, text, bin], [big, textBig, binBig]] as const) {
    const want = modelAnswer(stream, m).readSum;
    const jsonlSum = readSum(replayTextJson(new Host(new EngineCore()), t, 4096, undefined, true));
    if (jsonlSum !== want) throw new Error(`bench tiers: JSONL replay of ${m} ops disagrees with the model: bytes read ${jsonlSum} vs ${want}`);
    const binSum = readSum(replayBinaryJson(new Host(new EngineCore()), b, 4096, undefined, true));
    if (binSum !== want) throw new Error(`bench tiers: binary replay of ${m} ops disagrees with the model: bytes read ${binSum} vs ${want}`);
  }
  // Each replay runs on a core of its own, reset between runs, as the public tiers do (tiers.ts): a replaying service
  // keeps its instance, and a fresh one's first touch of each page is a page fault.
  const cores = { jsonl: new EngineCore(), binary: new EngineCore() };
  const best: Record<string, number> = {};
  const keep = (k: string, ns: number) => (best[k] = Math.min(best[k] ?? Infinity, ns));
  for (let r = 0; r <= rounds; r++) {
    // Round 0 warms the paths up and is not counted.
    if (r === 1) for (const k of Object.keys(best)) delete best[k];
    // The three paths take turns at going first: a path run right after another pays part of that one's garbage
    // (CPU time counts the collector's threads), and in a fixed order the binary replay always followed JSONL's.
    const paths: Array<[string, (big: boolean) => () => void]> = [
      ["jsonl", (big) => { const c = reused(cores.jsonl); return () => runJsonl(c, big ? textBig : text); }],
      ["binary", (big) => { const c = reused(cores.binary); return () => runBinary(c, big ? binBig : bin); }],
      ["parse", (big) => () => parseJsonl(big ? textBig : text)],
    ];
    const order = [0, 1, 2].map((j) => paths[(j + r) % 3]);
    for (let k = 0; k < TRIES; k++) for (const [key, run] of order) keep(key, timeIt(run(false)));
    for (let k = 0; k < TRIES_LONG; k++) for (const [key, run] of order) keep(`${key}10x`, timeIt(run(true)));
  }
  return best;
}
