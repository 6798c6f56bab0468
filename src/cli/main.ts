/** The gmemsim command line: one subcommand per job. */
import { die } from "./args.js";

const USAGE = `usage: gmemsim <command> [options]

commands:
  replay TRACE   run a trace on the simulator (--json, --check, --stats, --engine, --kernel, --policy, --design)
  kernel TRACE   run a trace on the real kernel through /dev/kvm (--json)
  fuzz           random traces, engine vs reference (or kernel), invariants and security properties
                 checked after every op (--seed, --ops, --seconds, --workers, --policy, --against, --kernel, --out, --design)
  bench          the standard workloads, engine vs reference (vs kernel) (--json, --quick, --micro, --scale, --check)
  demo           a narrated tour, then a high-volume run (what npm start runs)
  serve          the browser playground on 127.0.0.1 (--port N)
  convert IN OUT a JSONL trace to the binary trace format, or back
  designs        the 2023 debate run both ways: the same scenarios under the vm and system designs (--json)

campaigns (fuzzing beyond one process; see the README's fuzzing guide):
  fuzz --seeds A..B [--queue redis://HOST:PORT --campaign NAME] [--report FILE] [--compare]
  worker         process a queued campaign's shards (--queue, --concurrency, --lock-seconds)
  campaign       status NAME | report NAME (--queue, --json, --out) | merge DIR (report files)`;

const commands: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  replay: async () => (await import("./replay.js")).replayCommand,
  kernel: async () => (await import("./kernel.js")).kernelCommand,
  demo: async () => (await import("./demo.js")).demoCommand,
  bench: async () => (await import("./bench.js")).benchCommand,
  fuzz: async () => (await import("./fuzz.js")).fuzzCommand,
  serve: async () => (await import("./serve.js")).serveCommand,
  // The system-scoped design's side-by-side comparison (an extension, SPEC §2.3).
  designs: async () => (await import("./designs.js")).designsCommand,
  convert: async () => (await import("./convert.js")).convertCommand,
  // Fuzzing campaigns (queue workers, reports).
  worker: async () => (await import("./worker.js")).workerCommand,
  campaign: async () => (await import("./campaign.js")).campaignCommand,
};

const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
  console.log(USAGE);
  process.exit(cmd ? 0 : 2);
}
const load = commands[cmd];
if (!load) die(`unknown command "${cmd}"\n${USAGE}`);
process.exitCode = await (await load!())(rest);
