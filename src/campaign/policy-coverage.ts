/**
 * Which parts of a policy module never ran during a fuzzing run: V8's precise
 * block coverage of that one script, taken through the inspector of the
 * current thread (each worker thread has its own). Start it before the policy
 * is loaded so that every function of the module is counted from its first
 * call; take it at the end. Node-only.
 *
 * A range is reported as never run when V8 counted it 0 times: a function never
 * called, or a block (an if branch, a return after a test) never reached. Ranges
 * are character offsets into the module's source; merged runs keep a range only
 * where it ran in none of them (intersectRanges).
 */
import { Session } from "node:inspector/promises";

type Range = [number, number];

interface V8Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface V8Function {
  functionName: string;
  ranges: V8Range[];
}
interface V8Script {
  url: string;
  functions: V8Function[];
}

let session: Session | null = null;

/** Starts counting (idempotent). */
export async function startPolicyCoverage(): Promise<void> {
  if (session) return;
  session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
}

/**
 * The never-run ranges of the script at `url` (a file: URL), sorted and
 * disjoint. V8 nests ranges: a block's count overrides its function's, and an
 * inner block's its outer one's, so the innermost range covering an offset decides.
 */
export async function takePolicyCoverage(url: string): Promise<Range[]> {
  if (!session) throw new Error("takePolicyCoverage: startPolicyCoverage was not called");
  const { result } = (await session.post("Profiler.takePreciseCoverage")) as unknown as { result: V8Script[] };
  const script = result.find((s) => s.url === url);
  if (!script) return [];
  return uncoveredRanges(script.functions);
}

/** Innermost-wins flattening of V8's nested ranges into the 0-count ones. */
export function uncoveredRanges(functions: readonly V8Function[]): Range[] {
  const all = functions.flatMap((f) => f.ranges);
  // Sort outer before inner: by start, then by the longer range first.
  all.sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  const bounds = new Set<number>();
  for (const r of all) bounds.add(r.startOffset).add(r.endOffset);
  const points = [...bounds].sort((a, b) => a - b);
  const out: Range[] = [];
  for (let k = 0; k + 1 < points.length; k++) {
    const [s, e] = [points[k], points[k + 1]];
    // The innermost (last in the sorted order) range that covers [s, e) decides.
    let count: number | null = null;
    for (const r of all) if (r.startOffset <= s && r.endOffset >= e) count = r.count;
    if (count === 0) {
      const last = out[out.length - 1];
      if (last && last[1] === s) last[1] = e;
      else out.push([s, e]);
    }
  }
  return out;
}

/** The ranges never run in every one of several runs: their intersection. */
export function intersectRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const s = Math.max(a[i][0], b[j][0]);
    const e = Math.min(a[i][1], b[j][1]);
    if (s < e) out.push([s, e]);
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return out;
}

/**
 * Never-run ranges for people: "line N: code", one per line that holds code
 * never run, showing only the part of the line that never ran (blank and
 * brace-only pieces left out).
 */
export function uncoveredLines(source: string, ranges: readonly Range[]): string[] {
  const lineStarts = [0];
  for (let k = 0; k < source.length; k++) if (source[k] === "\n") lineStarts.push(k + 1);
  const lineOf = (off: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const pieces = new Map<number, string[]>();
  for (const [s, e] of ranges) {
    for (let l = lineOf(s); l <= lineOf(Math.max(s, e - 1)); l++) {
      const from = Math.max(s, lineStarts[l]);
      const to = Math.min(e, (lineStarts[l + 1] ?? source.length + 1) - 1);
      const text = source.slice(from, to).trim();
      if (/[^\s{}();,:]/.test(text)) pieces.set(l, [...(pieces.get(l) ?? []), text]);
    }
  }
  return [...pieces].sort((x, y) => x[0] - y[0]).map(([l, t]) => `line ${l + 1}: ${t.join(" ... ")}`);
}
