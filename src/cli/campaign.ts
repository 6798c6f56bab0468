/**
 * gmemsim campaign status NAME --queue redis://HOST:PORT
 * gmemsim campaign report NAME --queue redis://HOST:PORT [--json] [--out DIR]
 * gmemsim campaign merge DIR [--json] [--out DIR]
 *
 * status: how many shards are done, running, waiting or failed, and the totals
 * so far. report: the merged report (the final one once every shard is done,
 * else a partial one), with the violations' repro files written to --out.
 * merge: combines the report files (*.json) in DIR, as written by
 * gmemsim fuzz --report (one per pod of a Kubernetes Indexed Job, say).
 * Exit status: 0 without violations, 1 with, 2 on bad input, 3 while a
 * campaign is not finished (report) or has failed shards (status).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkReport } from "../campaign/merge.js";
import type { CampaignReport } from "../campaign/types.js";
import { die } from "./args.js";

const USAGE = "gmemsim campaign status NAME --queue redis://HOST:PORT\n       gmemsim campaign report NAME --queue redis://HOST:PORT [--json] [--out DIR]\n       gmemsim campaign merge DIR [--json] [--out DIR]";

export interface CampaignCommandOptions {
  action: "status" | "report" | "merge";
  /** The campaign's name (status, report) or the directory of report files (merge). */
  target: string;
  queue?: string;
  json: boolean;
  out: string;
}

/** A report file, or an error naming the file and what is wrong with it. */
function readReport(file: string): CampaignReport {
  let r: unknown;
  try {
    r = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file} is not JSON: ${(e as Error).message}`);
  }
  const why = checkReport(r);
  if (why) throw new Error(`${file} is not a gmemsim campaign report (as gmemsim fuzz --report writes): ${why}`);
  return r as CampaignReport;
}

export async function runCampaign(o: CampaignCommandOptions): Promise<number> {
  const { reportText } = await import("../campaign/text.js");
  const { writeRepros } = await import("./fuzz.js");
  if (o.action === "merge") {
    const { mergeReports } = await import("../campaign/merge.js");
    let files: string[];
    try {
      files = readdirSync(o.target).filter((f) => f.endsWith(".json")).sort();
    } catch (e) {
      die(`campaign merge: cannot read the directory ${o.target}: ${(e as Error).message}`);
    }
    if (!files.length) die(`campaign merge: no report files (*.json) in ${o.target}`);
    let merged;
    try {
      merged = mergeReports(files.map((f) => readReport(join(o.target, f))));
    } catch (e) {
      die(`campaign merge: ${(e as Error).message}`);
    }
    const repros = writeRepros(merged, o.out);
    if (o.json) console.log(JSON.stringify(merged));
    else {
      console.log(`merged ${files.length} report file(s) from ${o.target}`);
      console.log(reportText(merged).join("\n"));
      if (repros.length) console.log(`repro files: ${repros.join(", ")}`);
    }
    return merged.violations.length ? 1 : 0;
  }
  if (!o.queue) die(`campaign ${o.action} needs --queue redis://HOST:PORT\nusage: ${USAGE}`);
  const { campaignStatus } = await import("../campaign/queue.js");
  let st;
  try {
    st = await campaignStatus(o.queue, o.target);
  } catch (e) {
    die((e as Error).message);
  }
  const finished = st.state === "completed";
  if (o.action === "status") {
    const s = st.shards;
    if (o.json) console.log(JSON.stringify({ campaign: st.campaign, state: st.state, shards: s, ops: st.report?.ops ?? 0, violations: st.report?.violations.length ?? 0, failures: st.failures }));
    else {
      console.log(`campaign ${st.campaign}: ${st.state}; shards: ${s.done}/${s.total} done, ${s.active} running, ${s.waiting} waiting, ${s.failed} failed`);
      console.log(`so far: ${(st.report?.ops ?? 0).toLocaleString("en-US")} checked ops, ${st.report?.violations.length ?? 0} seed(s) with a violation`);
      for (const f of st.failures) console.log(`  failed shard: ${f}`);
    }
    return st.failures.length ? 3 : 0;
  }
  if (!st.report) {
    console.log(`campaign ${st.campaign}: no shard done yet (${st.state})`);
    return 3;
  }
  const repros = writeRepros(st.report, o.out);
  if (o.json) console.log(JSON.stringify(st.report));
  else {
    console.log(reportText(st.report, { partial: !finished }).join("\n"));
    if (repros.length) console.log(`repro files: ${repros.join(", ")}`);
  }
  if (!finished) return 3;
  return st.report.violations.length ? 1 : 0;
}

/** The flags as ./commands.ts read them. */
export interface CampaignFlags {
  queue?: string;
  json?: boolean;
  out: string;
}

/** gmemsim campaign ACTION TARGET: the rules that join the arguments and the flags. */
export async function campaignCommand(action: string, target: string, o: CampaignFlags): Promise<number> {
  if (action !== "status" && action !== "report" && action !== "merge") die(`campaign takes status, report or merge, not "${action}"\nusage: ${USAGE}`);
  if (action === "merge" && o.queue !== undefined) die(`campaign merge reads report files, not a queue: --queue does not apply\nusage: ${USAGE}`);
  return runCampaign({ action, target, queue: o.queue, json: o.json === true, out: o.out });
}
