/** gmemsim replay TRACE: its flags are declared in ./commands.ts. */
import { createReadStream, readFileSync } from "node:fs";
import { makeCore } from "../api/simulator.js";
import { Host } from "../kvm/host.js";
import { DEFAULT_PROFILE, profileByName } from "../kvm/profile.js";
import { replayArgs } from "../trace/replay-args.js";
import { designByName } from "../kvm/design.js";
import * as gu from "../kvm/ops/guest.js";
import { Replayer, expectMismatch, linesOf, replayPieces, resultLine, type LineRecord } from "../trace/replay.js";
import { BinaryTraceError, isBinaryTrace } from "../trace/binary.js";
import { replayBinaryJsonStream, replayBinaryStream } from "../trace/binary-replay.js";
import { resultJson } from "../trace/result-json.js";
import { replayTextJsonStream } from "../trace/text-json.js";
import { Checker, type CheckReport } from "../check/checker.js";
import { render } from "../check/violation.js";
import { traceNamer } from "../trace/namer.js";
import { loadPolicy } from "../policy/load.js";
import { die } from "./args.js";
import { describe } from "./format.js";
import { stringifyJson } from "../trace/json.js";
import { writeStdout } from "./stdout-bytes.js";

export interface ReplayOptions {
  json?: boolean;
  check?: boolean;
  stats?: boolean;
  engine: "wasm" | "reference";
  /** Absent: the trace's `# replay-args: --kernel NAME` line, else the default profile. */
  kernel?: string;
  policy?: string;
  /** Absent: the trace's `# replay-args: --design NAME` line, else vm. */
  design?: string;
}

/**
 * The trace as a stream of byte chunks (a file or stdin), with its first
 * bytes already read, so that a binary trace can be told from JSONL.
 */
async function openTrace(path: string, header: boolean): Promise<{ head: Uint8Array; ended: boolean; rest: AsyncIterator<Uint8Array> }> {
  const stream = path === "-" ? process.stdin : createReadStream(path, { highWaterMark: 1 << 16 });
  const it = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  try {
    // Enough bytes to tell a binary trace's magic (a pipe may deliver a few bytes at a time); with
    // `header`, also the lines a `# replay-args` comment is looked for in (replayArgs()'s 200).
    const parts: Uint8Array[] = [];
    let length = 0;
    let lines = 0;
    let ended = false;
    while (length < 64 || (header && lines < 200 && length < 1 << 16)) {
      const next = await it.next();
      if (next.done) {
        ended = true;
        break;
      }
      parts.push(next.value);
      length += next.value.length;
      for (const b of next.value) if (b === 10) lines++;
    }
    return { head: Buffer.concat(parts), ended, rest: it };
  } catch (e) {
    die(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** The chunks of an opened trace, its first one included. */
async function* chunksOf(t: { head: Uint8Array; rest: AsyncIterator<Uint8Array> }, path: string): AsyncGenerator<Uint8Array> {
  if (t.head.length) yield t.head;
  for (;;) {
    let next;
    try {
      next = await t.rest.next();
    } catch (e) {
      die(`cannot read ${path}: ${(e as Error).message}`);
    }
    if (next.done) return;
    yield next.value;
  }
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
  // The trace is read and replayed as it streams in (constant memory).
  const opened = await openTrace(trace, values.kernel === undefined || values.design === undefined);
  const binary = isBinaryTrace(opened.head);
  let profile;
  let design;
  try {
    // The command line wins; else the trace's own `# replay-args:` line (among its first lines, whole ones only); else the defaults.
    let { kernel, design: designName } = values;
    if ((kernel === undefined || designName === undefined) && !binary) {
      const head = new TextDecoder().decode(opened.head);
      const args = replayArgs(opened.ended ? head : head.slice(0, head.lastIndexOf("\n") + 1));
      kernel ??= args.kernel;
      designName ??= args.design;
    }
    profile = profileByName(kernel ?? DEFAULT_PROFILE.name);
    design = designByName(designName ?? "vm");
  } catch (e) {
    die((e as Error).message);
  }
  const chunks = chunksOf(opened, trace);
  let policy;
  if (values.policy !== undefined) {
    try {
      policy = await loadPolicy(String(values.policy));
    } catch (e) {
      die(`cannot load the policy: ${(e as Error).message}`);
    }
  }
  const host = new Host(makeCore(engine), { profile, policy, design });
  // (A closed pipe, replay ... | head, is ended quietly by main.ts for every command.)
  const out: string[] = [];
  /** Writes the result lines held so far (none: nothing, not a blank line); the write is waited for before the next chunk. */
  let writing = Promise.resolve();
  const flush = () => {
    if (out.length) writing = writeStdout(out.splice(0).join("\n") + "\n");
  };
  const emit = (s: string) => {
    out.push(s);
    if (out.length >= 1024) flush();
  };
  // --check runs one line at a time so that invariants are checked after every op (for what the op changed).
  const rp = new Replayer(host);
  const checker = values.check ? new Checker(host) : null;
  const namer = traceNamer(rp.names);
  /** Prints the first broken rule of a check report, if any; true when one was. */
  const failed = (r: CheckReport, after: string): boolean => {
    if (r.invariants.length) {
      flush();
      console.error(`engine invariant failed ${after}, a bug in gmemsim:\n  ${r.invariants.map((v) => render(v, namer)).join("\n  ")}`);
      return true;
    }
    if (r.security.length) {
      flush();
      console.error(`security property violated ${after} under policy ${host.policy.name}:\n  ${r.security.map((v) => render(v, namer)).join("\n  ")}`);
      return true;
    }
    return false;
  };
  /** A check step; a policy's own properties are its code, and one that throws is reported as a violation, never a crash. */
  const check = (step: () => CheckReport, after: string): boolean => {
    let report: CheckReport;
    try {
      report = step();
    } catch (e) {
      flush();
      console.error(`security property violated ${after} under policy ${host.policy.name}:\n  checking the properties threw (a property of the policy?): ${e instanceof Error ? e.message : String(e)}`);
      return true;
    }
    return failed(report, after);
  };
  let last: LineRecord | null = null;
  const chunk = values.check ? 1 : 4096;
  // A binary trace (gmemsim convert) replays through its own reader, in the same namespace; results are the same.
  // Result lines, unchecked, are written as bytes without line records, for either form.
  const bytesOut = values.json && !checker;
  const batches: AsyncIterable<LineRecord[]> | Iterable<LineRecord[]> = bytesOut ? [] : binary ? replayBinaryStream(host, chunks, chunk, rp) : replayPieces(host, linesOf(chunks), chunk, rp);
  try {
    if (bytesOut)
      for await (const bytes of binary ? replayBinaryJsonStream(host, chunks, chunk, rp, true) : replayTextJsonStream(host, linesOf(chunks), chunk, rp, true)) await writeStdout(bytes);
    for await (const batch of batches) {
      await writing;
      for (const rec of batch) {
        emit(values.json ? resultJson(rec) : describe(rec));
        if (!checker) continue;
        const miss = expectMismatch(rec);
        const isError = "error" in rec.result && !(rec.expect && "error" in rec.expect);
        if (miss.length || isError) {
          flush();
          const why = isError ? (rec.result as { error: string }).error : `expected ${stringifyJson(rec.expect)}, got ${stringifyJson(resultLine(rec))}`;
          console.error(`check failed at line ${rec.lineNo} (op ${rec.i}, ${rec.op}): ${why}`);
          return 1;
        }
        if (check(() => checker.step(), `after line ${rec.lineNo} (op ${rec.i}, ${rec.op})`)) return 1;
        last = rec;
      }
    }
  } catch (e) {
    // A damaged binary trace ends the run where it can no longer be read: the lines before it stand.
    if (!(e instanceof BinaryTraceError)) throw e;
    flush();
    die(`${trace}: ${e.message}`);
  }
  // The whole state once more at the end: this also checks the per-op checks against a full snapshot.
  if (checker && check(() => checker.full(), last ? `at the end of the trace (line ${last.lineNo})` : "at the end of the trace")) return 1;
  flush();
  if (values.stats) {
    const h = gu.stats(host, undefined);
    const perVm = [...host.vms].map((vm) => [vm, gu.stats(host, vm)] as const);
    const perInode = [...host.inodes].map((inode) => [inode.holder ? [inode.holder] : [...inode.files], gu.inodeStats(host, inode.holder ?? [...inode.files][0])] as const);
    host.sync();
    // Objects by the trace's names (an inode by the names of its files), the last name each was bound to.
    const nameOf = new Map<object, string>();
    for (const [name, o] of rp.names.entries()) nameOf.set(o, name);
    // One JSON object on standard error, so that standard output stays exactly the result lines.
    const stats = {
      host_pages: h.host_pages,
      vms: perVm.map(([vm, r]) => ({ vm: nameOf.get(vm) ?? null, sptes: r.sptes, faults: r.faults, zaps: r.zaps, exits: r.exits })),
      inodes: perInode.map(([files, r]) => ({ files: files.map((f) => nameOf.get(f) ?? null), pages: r.pages, poisoned: r.poisoned })),
    };
    process.stderr.write(stringifyJson({ stats }) + "\n");
  }
  if (values.check) console.error("check: every expectation and invariant held");
  return 0;
}
