/** gmemsim replay TRACE: its flags are declared in ./commands.ts. */
import { readFileSync } from "node:fs";
import { makeCore } from "../api/simulator.js";
import { Host } from "../kvm/host.js";
import { profileByName } from "../kvm/profile.js";
import * as gu from "../kvm/ops/guest.js";
import { expectMismatch, replayText, resultLine } from "../trace/replay.js";
import { checkInvariants } from "../check/invariants.js";
import { checkSecurity } from "../check/security.js";
import { loadPolicy } from "../policy/load.js";
import { die } from "./args.js";
import { describe } from "./format.js";

export interface ReplayOptions {
  json?: boolean;
  check?: boolean;
  stats?: boolean;
  engine: "wasm" | "reference";
  kernel: string;
  policy?: string;
}

export function readTrace(path: string): string {
  try {
    return readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    die(`cannot read ${path}: ${(e as Error).message}`);
  }
}

export async function replayCommand(trace: string, values: ReplayOptions): Promise<number> {
  const engine = values.engine;
  const profile = profileByName(values.kernel);
  const text = readTrace(trace);
  let policy;
  if (values.policy !== undefined) {
    try {
      policy = await loadPolicy(String(values.policy));
    } catch (e) {
      die(`cannot load the policy: ${(e as Error).message}`);
    }
  }
  const host = new Host(makeCore(engine), { profile, policy });
  const out: string[] = [];
  const emit = (s: string) => {
    out.push(s);
    if (out.length >= 1024) process.stdout.write(out.splice(0).join("\n") + "\n");
  };
  // --check runs one line at a time so that invariants are checked after every op.
  for (const batch of replayText(host, text, values.check ? 1 : 4096)) {
    for (const rec of batch) {
      emit(values.json ? JSON.stringify(resultLine(rec)) : describe(rec));
      if (!values.check) continue;
      const miss = expectMismatch(rec);
      const isError = "error" in rec.result && !(rec.expect && "error" in rec.expect);
      if (miss.length || isError) {
        process.stdout.write(out.splice(0).join("\n") + "\n");
        const why = isError ? (rec.result as { error: string }).error : `expected ${JSON.stringify(rec.expect)}, got ${JSON.stringify(resultLine(rec))}`;
        console.error(`check failed at line ${rec.lineNo} (op ${rec.i}, ${rec.op}): ${why}`);
        return 1;
      }
      const bad = checkInvariants(host);
      if (bad.length) {
        process.stdout.write(out.splice(0).join("\n") + "\n");
        console.error(`engine invariant failed after line ${rec.lineNo} (op ${rec.i}, ${rec.op}), a bug in gmemsim:\n  ${bad.join("\n  ")}`);
        return 1;
      }
      const flaws = checkSecurity(host);
      if (flaws.length) {
        process.stdout.write(out.splice(0).join("\n") + "\n");
        console.error(`security property violated after line ${rec.lineNo} (op ${rec.i}, ${rec.op}) under policy ${host.policy.name}:\n  ${flaws.join("\n  ")}`);
        return 1;
      }
    }
  }
  if (out.length) process.stdout.write(out.join("\n") + "\n");
  if (values.stats) {
    const h = gu.stats(host, undefined);
    const perVm = [...host.vms].map((vm) => [vm, gu.stats(host, vm)] as const);
    const perInode = [...host.inodes].map((inode) => [inode, gu.inodeStats(host, [...inode.files][0])] as const);
    host.sync();
    console.log(`stats: host_pages=${h.host_pages}`);
    for (const [vm, r] of perVm) console.log(`stats: vm ${vm.id}: sptes=${r.sptes} faults=${r.faults} zaps=${r.zaps} exits=${r.exits}`);
    for (const [inode, r] of perInode) console.log(`stats: inode ${inode.id}: pages=${r.pages} poisoned=${r.poisoned}`);
  }
  if (values.check) console.error("check: every expectation and invariant held");
  return 0;
}
