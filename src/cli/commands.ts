/**
 * The one declaration of gmemsim's command line: every subcommand, its
 * arguments and its flags, with the reader that checks each flag's value.
 * ./main.ts builds the parser, `--help` of every subcommand, `gmemsim help CMD`,
 * `--version` and the "did you mean" suggestions from this list, and the README's
 * command-line section is checked against it (test/cli.test.ts).
 *
 * A subcommand's action is a function of its positional arguments and its typed
 * options, loaded only when the subcommand runs: adding a subcommand is adding
 * one entry here.
 */
import { kernelProfile, profileNames, readableFile, seconds, seedRange, wholeNumber, writableDir } from "./flags.js";
import { DESIGNS } from "../kvm/design.js";
import { KERNEL_MIXES } from "../fuzz/mixes.js";

export interface FlagDecl {
  /** commander's spelling: "--json" (a switch) or "--ops <N>" (takes a value). */
  flags: string;
  description: string;
  /** Reads and checks the value; applied to the default too. */
  parse?: (text: string) => unknown;
  choices?: readonly string[];
  /** The default, as typed on the command line (it goes through `parse`). */
  default?: string;
  /** Flags that cannot be given with this one (their long names, without --). */
  conflicts?: string[];
  /** May be given more than once: the values are collected in an array. */
  multiple?: boolean;
  /** Must be given. */
  required?: boolean;
}

export interface ArgDecl {
  name: string;
  description: string;
}

export interface CommandDecl {
  name: string;
  summary: string;
  args: ArgDecl[];
  flags: FlagDecl[];
  /** Shown after the flags in the subcommand's --help. */
  more?: string;
  run(args: string[], options: Record<string, unknown>): Promise<number>;
}

const WORKERS_MAX = 256;
const OPS_MAX = 1e12;
const SEED_MAX = 2 ** 31 - 1;
const SECONDS_MAX = 7 * 24 * 3600;

const policyFlag: FlagDecl = {
  flags: "--policy <FILE>",
  description: "a permission policy: an ES module (.mjs, .js) or TypeScript (.ts, .mts, compiled with esbuild) whose default export is a Policy",
  parse: readableFile,
};
const kernelFlag: FlagDecl = { flags: "--kernel <PROFILE>", description: `the kernel profile whose rules apply (${profileNames()})`, parse: kernelProfile, default: "6.18" };
const designFlag: FlagDecl = {
  flags: "--design <DESIGN>",
  description: "which design of the 2023 debate runs (vm: upstream plus gmem_link; system: system-scoped gmem)",
  choices: Object.keys(DESIGNS),
  default: "vm",
};
const traceArg: ArgDecl = { name: "TRACE", description: "a JSON Lines trace file, or - for standard input" };

const FUZZ_FLAGS: FlagDecl[] = [
  { flags: "--against <SIDE>", description: "what the engine is compared with", choices: ["reference", "kernel"], default: "reference" },
  { flags: "--seed <N>", description: `the first seed (workers take seed, seed + 1, ...); 0 to ${SEED_MAX.toLocaleString("en-US")}; default: from the clock`, parse: wholeNumber(0, SEED_MAX) },
  { flags: "--ops <N>", description: "the op budget (default 100,000 without --seconds; per seed in a campaign)", parse: wholeNumber(1, OPS_MAX) },
  { flags: "--seconds <S>", description: "a time budget instead of (or as well as) an op budget", parse: seconds(SECONDS_MAX) },
  { flags: "--workers <N>", description: `worker threads, each on its own seed (1 to ${WORKERS_MAX})`, parse: wholeNumber(1, WORKERS_MAX), default: "1" },
  { ...policyFlag, multiple: true, description: `${policyFlag.description}; several with --compare` },
  kernelFlag,
  { flags: "--out <DIR>", description: "where the shrunk failing trace is written (checked writable before the run starts)", parse: writableDir, default: "fuzz-out" },
  { flags: "--blind", description: "no coverage guidance: plain random traces" },
  { flags: "--mix <MIX>", description: "--against kernel: the op mix (memfd, gmem, memslots, lifecycle: one family of ops weighted up; default: everything)", choices: Object.keys(KERNEL_MIXES), default: "default" },
  designFlag,
  { flags: "--compare", description: "run each --policy on the same seeds and compare what they reach and break" },
  { flags: "--seeds <A..B>", description: "a campaign over a range of seeds, one shard per seed (or per --shard seeds)", parse: seedRange(SEED_MAX) },
  { flags: "--shard <N>", description: "seeds per shard in a campaign", parse: wholeNumber(1, 1e6) },
  { flags: "--campaign <NAME>", description: "the campaign's name (with --queue: how workers, status and report find it)" },
  { flags: "--queue <URL>", description: "enqueue the campaign's shards on this Redis (redis://HOST:PORT) for gmemsim worker" },
  { flags: "--report <FILE>", description: "write a local campaign's report (JSON) here" },
  { flags: "--json", description: "print the campaign's or the comparison's report as JSON" },
];

const DESIGNS_FLAGS: FlagDecl[] = [
  { flags: "--json", description: "print the report as JSON" },
  { ...policyFlag, description: `the policy whose breaking traces are searched for (default: the naive "bind anywhere" policy); ${policyFlag.description}` },
];

const WORKER_FLAGS: FlagDecl[] = [
  { flags: "--queue <URL>", description: "the Redis the campaign's shards are queued on (redis://HOST:PORT)", required: true },
  { flags: "--concurrency <N>", description: "shards processed at once (threads)", parse: wholeNumber(1, WORKERS_MAX), default: "1" },
  { flags: "--lock-seconds <S>", description: "how soon a dead worker's shard goes back to the queue", parse: seconds(86_400, 1), default: "30" },
];

const CAMPAIGN_FLAGS: FlagDecl[] = [
  { flags: "--queue <URL>", description: "status, report: the Redis the campaign is queued on (redis://HOST:PORT)" },
  { flags: "--json", description: "print the report as JSON" },
  { flags: "--out <DIR>", description: "where a report's failing traces are written", default: "fuzz-out" },
];

export const COMMANDS: CommandDecl[] = [
  {
    name: "replay",
    summary: "run a trace on the simulator",
    args: [{ name: "TRACE", description: "a JSON Lines trace, a binary trace (gmemsim convert makes one), or - for standard input" }],
    flags: [
      { flags: "--json", description: "print one JSON result line per op instead of text (docs/ops.md)" },
      { flags: "--check", description: "check every expect, and after every op the engine invariants and the security properties; exit 1 at the first failure" },
      { flags: "--stats", description: "print the host's, each VM's and each inode's counters after the last line" },
      { flags: "--engine <CORE>", description: "the core that runs the trace", choices: ["wasm", "reference"], default: "wasm" },
      // No default for --kernel and --design: without them, the trace's own `# replay-args:` line, else 6.18 and vm.
      { ...kernelFlag, default: undefined, description: `${kernelFlag.description}; default: the trace's # replay-args line, else 6.18` },
      policyFlag,
      { ...designFlag, default: undefined, description: `${designFlag.description}; default: the trace's # replay-args line, else vm` },
    ],
    run: async ([trace], o) => (await import("./replay.js")).replayCommand(trace, o as unknown as import("./replay.js").ReplayOptions),
  },
  {
    name: "kernel",
    summary: "run a trace on the live kernel through /dev/kvm (the C oracle)",
    args: [traceArg],
    flags: [{ flags: "--json", description: "print one JSON result line per op" }],
    more: "Exits 3 when the live kernel cannot be used here (no /dev/kvm, no C compiler).",
    run: async ([trace], o) => (await import("./kernel.js")).kernelCommand(trace, o as unknown as import("./kernel.js").KernelOptions),
  },
  {
    name: "fuzz",
    summary: "random traces, engine against the reference model (or the kernel), every rule checked after every op; campaigns over seed ranges",
    args: [],
    flags: FUZZ_FLAGS,
    more: "Exits 0 when nothing failed, 1 with the shrunk trace written to --out, 3 when --against kernel cannot use the kernel here. Campaigns: --seeds A..B runs shards locally (--report FILE), or enqueues them with --queue redis://HOST:PORT --campaign NAME for gmemsim worker; --compare runs several --policy files on the same seeds.",
    run: async (_args, o) => (await import("./fuzz.js")).fuzzCommand(o as unknown as import("./fuzz.js").FuzzOptions),
  },
  {
    name: "bench",
    summary: "the standard workloads, engine against reference (against kernel); --tiers, --micro, --scale, --check, --probes",
    args: [],
    flags: [
      { flags: "--json", description: "print the report as JSON" },
      { flags: "--quick", description: "a short run (for smoke tests): the figures are not meaningful" },
      { flags: "--micro", description: "micro-benchmarks of the core's operations, side by side (tinybench)", conflicts: ["scale"] },
      { flags: "--scale", description: "grow one host step by step; plots time per page and memory (SVG and PNG)" },
      { flags: "--tiers", description: "only the tiers table: the public API tiers beside the core alone, a plain-JS model and a C limit (bench/tiers.ts)", conflicts: ["micro", "scale", "check"] },
      { flags: "--check", description: "what checking costs: a trace replayed unchecked, checked op by op, and fully checked after every op", conflicts: ["micro", "scale"] },
      { flags: "--probes", description: "scale probes: traces that grow one kind of object 8x (VMs on one fd, donated windows, memslots, maps, pins, ...), replayed unchecked and checked; flags what grows faster than the trace", conflicts: ["micro", "scale", "check", "tiers"] },
      { flags: "--out <FILE>", description: "--micro: write the JSON report here; --scale: the plot's file (.svg, with a .png beside it; default scale.svg)" },
      { flags: "--vms <N>", description: "--scale: VMs in the last step (default 1,024; 64 with --quick)", parse: wholeNumber(1, 65_536) },
      { flags: "--pages <N>", description: "--scale: populated pages in the last step (default 10,000,000; 200,000 with --quick)", parse: wholeNumber(64, 1e9) },
      { flags: "--steps <N>", description: "--scale: steps (default 16; 4 with --quick)", parse: wholeNumber(1, 1000) },
      { flags: "--alloc-only", description: "--scale: allocate the pages without mapping them by a guest access" },
    ],
    more: "bench runs from a clone of the repository with its devDependencies installed (npm install): its tooling (tinybench, vega) is not part of the installed package.",
    run: async (_args, o) => (await import("./bench.js")).benchCommand(o as unknown as import("./bench.js").BenchOptions),
  },
  {
    name: "demo",
    summary: "a narrated tour of guest_memfd, then a high-volume run (what npm start runs)",
    args: [],
    flags: [
      { flags: "--ops <N>", description: "ops of the high-volume run", parse: wholeNumber(1, 1e9), default: "1000000" },
      { flags: "--seed <N>", description: "the seed of the high-volume run", parse: wholeNumber(0, SEED_MAX), default: "1" },
      { flags: "--quick", description: "100,000 ops instead of --ops" },
    ],
    run: async (_args, o) => (await import("./demo.js")).demoCommand(o as unknown as import("./demo.js").DemoOptions),
  },
  {
    name: "convert",
    summary: "a JSON Lines trace to the binary trace format, or a binary trace back (exactly)",
    args: [
      { name: "IN", description: "the trace to read (JSON Lines or binary, whichever it is), or - for standard input" },
      { name: "OUT", description: "the file to write, or - for standard output" },
    ],
    flags: [],
    run: async ([from, to]) => (await import("./convert.js")).convertCommand(from, to),
  },
  {
    name: "worker",
    summary: "process a queued fuzzing campaign's shards (BullMQ on Redis)",
    args: [],
    flags: WORKER_FLAGS,
    run: async (_args, o) => (await import("./worker.js")).runWorker(o as unknown as import("./worker.js").WorkerCommandOptions),
  },
  {
    name: "campaign",
    summary: "a fuzzing campaign: status NAME, report NAME (queued), or merge DIR (report files)",
    args: [
      { name: "ACTION", description: "status, report or merge" },
      { name: "TARGET", description: "the campaign's name (status, report) or a directory of report files (merge)" },
    ],
    flags: CAMPAIGN_FLAGS,
    run: async ([action, target], o) => (await import("./campaign.js")).campaignCommand(action, target, o as unknown as import("./campaign.js").CampaignFlags),
  },
  {
    name: "designs",
    summary: "the 2023 debate run both ways: the same scenarios under the vm and the system design, side by side",
    args: [],
    flags: DESIGNS_FLAGS,
    run: async (_args, o) => (await import("./designs.js")).designsCommand(o as unknown as import("./designs.js").DesignsOptions),
  },
  {
    name: "serve",
    summary: "the browser playground on 127.0.0.1",
    args: [],
    flags: [
      { flags: "--port <N>", description: "the TCP port (0: any free port)", parse: wholeNumber(0, 65_535), default: "8180" },
      { flags: "--host <ADDR>", description: "the address to listen on: loopback only, since the page runs whatever trace it is given", choices: ["127.0.0.1"], default: "127.0.0.1" },
    ],
    run: async (_args, o) => (await import("./serve.js")).serveCommand(o as unknown as import("./serve.js").ServeOptions),
  },
];
