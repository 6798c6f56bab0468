/**
 * A line record's result line as JSON text: exactly
 * stringifyJson(resultLine(rec)) (exact digits for every integer), written directly for the shapes most lines
 * have ({"i":N,"ret":0} and {"i":N,"ret":0,"value":V}), where building the
 * object and serialising it cost more than running the op.
 */
import { resultLine, type LineRecord } from "./replay.js";
import { stringifyJson } from "./json.js";

export function resultJson(rec: LineRecord): string {
  const r = rec.result as Record<string, unknown>;
  let n = 0;
  for (const k in r) {
    // Keys in this order only: "ret", then "value".
    if (k !== (n === 0 ? "ret" : "value") || ++n > 2) return stringifyJson(resultLine(rec));
  }
  if (r.ret !== 0) return stringifyJson(resultLine(rec));
  if (n === 1) return `{"i":${rec.i},"ret":0}`;
  const v = r.value;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || Object.is(v, -0)) return stringifyJson(resultLine(rec));
  return `{"i":${rec.i},"ret":0,"value":${v}}`;
}
