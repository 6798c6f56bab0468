/** The benchmarks' entry, bundled apart from the CLI (build/bench/bench.js): see src/cli/bench.ts. */
export { runBench } from "./workloads.js";
export { runMicro } from "./micro.js";
export { runScale } from "./scale.js";
