/**
 * The trace paths of bench --tiers: JSONL replay (with its result lines),
 * only parsing the same JSONL, and replaying its binary form (gmemsim
 * convert), each on the workload's first n ops and on all 10 n, timed in a
 * heap that holds the traces alone, as a replaying process's does (run in a
 * worker thread by bench/clean-heap.ts: in the benchmark's own thread, beside
 * the other paths' inputs, three runs at b5ada7a read the binary replay of
 * 1,000,000 ops at 64 to 141 ns/op; README, bench --tiers). Each replay is
 * first checked against the plain-JS model: the same bytes read.
 */
import { EngineCore } from "../src/core/engine.js";
import { Host } from "../src/kvm/host.js";
import { replayText, type LineRecord } from "../src/trace/replay.js";
import { resultJson } from "../src/trace/result-json.js";
import { encodeTrace } from "../src/trace/binary.js";
import { replayBinaryJson } from "../src/trace/binary-replay.js";
import { applyOps, makeStream, modelAnswer, timeIt, traceText, TRIES } from "./tiers.js";

/** `replay --json`'s work: every line run and its result line serialised; returns the bytes read (for checking). */
function runJsonl(text: string): number {
  const host = new Host(new EngineCore());
  return emitAll(replayText(host, text));
}

/** The same for the binary form of the trace (gmemsim convert), its result lines as `replay --json` writes them (bytes); returns the bytes' length. */
function runBinary(bytes: Uint8Array): number {
  const host = new Host(new EngineCore());
  let n = 0;
  for (const b of replayBinaryJson(host, bytes)) n += b.length;
  return n;
}

/** The bytes read by a binary replay, from the result lines it writes (the check that it ran what the model ran). */
function binaryReadSum(bytes: Uint8Array): number {
  const host = new Host(new EngineCore());
  let sum = 0;
  const text = new TextDecoder();
  for (const b of replayBinaryJson(host, bytes))
    for (const line of text.decode(b).split("\n")) if (line) sum += (JSON.parse(line) as { value?: number }).value ?? 0;
  return sum;
}

function emitAll(batches: Generator<LineRecord[]>): number {
  let sum = 0;
  let chars = 0;
  for (const batch of batches)
    for (const rec of batch) {
      chars += resultJson(rec).length;
      const value = (rec.result as { value?: unknown }).value;
      if (rec.op === "vcpu_access" && typeof value === "number") sum += value;
    }
  return chars > 0 ? sum : -1;
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
    const jsonlSum = runJsonl(t);
    if (jsonlSum !== want) throw new Error(`bench tiers: JSONL replay of ${m} ops disagrees with the model: bytes read ${jsonlSum} vs ${want}`);
    const binSum = binaryReadSum(b);
    if (binSum !== want) throw new Error(`bench tiers: binary replay of ${m} ops disagrees with the model: bytes read ${binSum} vs ${want}`);
  }
  const best: Record<string, number> = {};
  const keep = (k: string, ns: number) => (best[k] = Math.min(best[k] ?? Infinity, ns));
  for (let r = 0; r <= rounds; r++) {
    // Round 0 warms the paths up and is not counted.
    if (r === 1) for (const k of Object.keys(best)) delete best[k];
    // The three paths take turns at going first: a path run right after another pays part of that one's garbage
    // (CPU time counts the collector's threads), and in a fixed order the binary replay always followed JSONL's.
    const paths: Array<[string, () => void, () => void]> = [
      ["jsonl", () => runJsonl(text), () => runJsonl(textBig)],
      ["binary", () => runBinary(bin), () => runBinary(binBig)],
      ["parse", () => parseJsonl(text), () => parseJsonl(textBig)],
    ];
    const order = [0, 1, 2].map((j) => paths[(j + r) % 3]);
    for (let k = 0; k < TRIES; k++) for (const [key, short] of order) keep(key, timeIt(short));
    for (let k = 0; k < TRIES_LONG; k++) for (const [key, , long] of order) keep(`${key}10x`, timeIt(long));
  }
  return best;
}
