/** Human-readable rendering of result lines, for terminals. */
import type { LineRecord } from "../trace/replay.js";
import { explain, resultLine } from "../trace/replay.js";

export function describe(rec: LineRecord): string {
  const { i, ...rest } = resultLine(rec);
  const r = rest as Record<string, unknown>;
  let what: string;
  if ("error" in r) what = `trace error`;
  else if (r.signal) what = `${r.signal}`;
  else if (r.exit) what = `${r.errno ?? "ret 0"}, exit ${r.exit}` + (r.gpa !== undefined ? ` at gpa 0x${(r.gpa as number | bigint).toString(16)}` : "") + (Array.isArray(r.flags) && r.flags.length ? ` ${r.flags.join("|")}` : "");
  else if (r.errno) what = `${r.errno}`;
  else {
    const extras = Object.entries(r).filter(([k]) => k !== "ret").map(([k, v]) => `${k}=${v}`);
    what = `ok` + (extras.length ? ` ${extras.join(" ")}` : "");
  }
  const why = explain(rec);
  return `${String(i).padStart(5)}  ${(rec.op ?? "?").padEnd(24)} ${what}${why ? `  (${why})` : ""}`;
}
