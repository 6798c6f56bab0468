/**
 * Replaying a trace: each counted line (not blank, not a # comment) becomes
 * exactly one result line, even when it cannot run. Lines are executed in
 * chunks; a chunk's results are final once the host has synced its core.
 */
import { TraceError } from "../errors.js";
import type { Host } from "../kvm/host.js";
import { messageOf, type Result } from "../kvm/result.js";
import { parseJson, JsonFraction, JsonSyntaxError, type Json } from "./json.js";
import { Names } from "./names.js";
import { Fields, OPS } from "./ops.js";

export type ResultLine = { i: number; [k: string]: unknown };

export interface LineRecord {
  /** Index among counted lines, from 0. */
  i: number;
  /** 1-based line number in the file. */
  lineNo: number;
  op: string | null;
  result: Result | { error: string };
  expect?: Record<string, unknown>;
}

export class Replayer {
  readonly names = new Names();
  private count = 0;

  constructor(readonly host: Host) {}

  /** Runs one op given as an object (the batch tier and fuzzing: no JSON round trip). */
  op(obj: { [k: string]: Json }, lineNo: number): LineRecord {
    const i = this.count++;
    return this.run(i, lineNo, obj);
  }

  /** Runs one line of the trace; null for a blank or comment line. Call host.sync() before reading results. */
  line(text: string, lineNo: number): LineRecord | null {
    const t = text.trim();
    if (t === "" || t.startsWith("#")) return null;
    const i = this.count++;
    let parsed: Json;
    try {
      parsed = parseJson(t);
    } catch (e) {
      return { i, lineNo, op: null, result: { error: `line ${lineNo}: invalid JSON: ${(e as JsonSyntaxError).message}` } };
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return { i, lineNo, op: null, result: { error: `line ${lineNo}: expected a JSON object` } };
    }
    return this.run(i, lineNo, parsed as { [k: string]: Json });
  }

  private run(i: number, lineNo: number, line: { [k: string]: Json }): LineRecord {
    const expect = line.expect !== undefined ? (toPlain(line.expect) as Record<string, unknown>) : undefined;
    const op = line.op;
    if (typeof op !== "string") return { i, lineNo, op: null, result: { error: `line ${lineNo}: missing "op"` }, expect };
    const spec = OPS[op];
    if (!spec) return { i, lineNo, op, result: { error: `line ${lineNo}: unknown op "${op}"` }, expect };
    try {
      const result = spec.run({ host: this.host, names: this.names, f: new Fields(line, spec.zeroed ?? false) });
      return { i, lineNo, op, result, expect };
    } catch (e) {
      if (e instanceof TraceError) return { i, lineNo, op, result: { error: `line ${lineNo}: ${op}: ${e.message}` }, expect };
      throw e;
    }
  }
}

/** Expectations are compared as plain JSON values. */
function toPlain(v: Json): unknown {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof JsonFraction) return Number(v.text);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x as Json)]));
  return v;
}

export function resultLine(r: LineRecord): ResultLine {
  const line: ResultLine = { i: r.i, ...r.result };
  // The explanation travels along, not enumerable, so that result lines stay exactly the kernel's.
  const why = messageOf(r.result as Result);
  if (why) Object.defineProperty(line, "message", { value: why, enumerable: false });
  return line;
}

/** The explanation behind a result, for people: the failure's sentence, if any. */
export function explain(r: LineRecord): string | undefined {
  return "error" in r.result ? (r.result.error as string) : messageOf(r.result as Result);
}

/** Structural equality of plain JSON values (result lines and expectations). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual((a as never)[k], (b as never)[k]));
  }
  return false;
}

/** Keys of `expect` that the result does not match; empty when it matches. */
export function expectMismatch(r: LineRecord): string[] {
  if (!r.expect) return [];
  const got = r.result as Record<string, unknown>;
  return Object.keys(r.expect).filter((k) => !deepEqual(r.expect![k], got[k]));
}

/** Splits a trace into lines and runs them all, syncing once per chunk. */
export function* replayText(host: Host, text: string, chunk = 4096, rp = new Replayer(host)): Generator<LineRecord[]> {
  const lines = text.split("\n");
  let batch: LineRecord[] = [];
  for (let n = 0; n < lines.length; n++) {
    const rec = rp.line(lines[n], n + 1);
    if (rec) batch.push(rec);
    if (batch.length >= chunk) {
      host.sync();
      yield batch;
      batch = [];
    }
  }
  host.sync();
  if (batch.length) yield batch;
}
