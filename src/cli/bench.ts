/**
 * gmemsim bench: the standard workloads (bench/workloads.ts); --micro, the
 * core's micro-benchmarks (bench/micro.ts); --scale, the host growth run with
 * its plots (bench/scale.ts); --check, what checking costs (bench/check.ts);
 * --probes, traces that grow one kind of object (bench/probes.ts).
 *
 * A development path: the benchmarks run from a clone of the repository with
 * its devDependencies installed (tinybench, vega, vega-lite, @resvg/resvg-js).
 * The build bundles them apart, in build/bench/ (not in the package), and the
 * CLI loads that bundle only when `bench` runs, so that the installed CLI needs
 * no devDependency and says what to do when they are missing.
 */
import { existsSync } from "node:fs";
import { die } from "./args.js";

export interface BenchOptions {
  json?: boolean;
  quick?: boolean;
  micro?: boolean;
  scale?: boolean;
  check?: boolean;
  probes?: boolean;
  tiers?: boolean;
  out?: string;
  vms?: number;
  pages?: number;
  steps?: number;
  allocOnly?: boolean;
}

interface BenchModule {
  runBench(o: BenchOptions): Promise<number>;
  runMicro(o: BenchOptions): Promise<number>;
  runScale(o: BenchOptions): Promise<number>;
  checkText(o: BenchOptions): Promise<string>;
  probesText(o: BenchOptions): Promise<string>;
}

/** The benchmarks' entry: the TypeScript source under tsx, the bundle beside the CLI's otherwise. */
function benchUrl(): URL {
  return import.meta.url.endsWith(".ts") ? new URL("../../bench/index.ts", import.meta.url) : new URL("../bench/bench.js", import.meta.url);
}

export async function benchCommand(o: BenchOptions): Promise<number> {
  const scaleOnly = (["vms", "pages", "steps", "allocOnly"] as const).filter((k) => o[k] !== undefined);
  if (scaleOnly.length && !o.scale) die(`${scaleOnly.map((k) => (k === "allocOnly" ? "--alloc-only" : `--${k}`)).join(", ")} appl${scaleOnly.length > 1 ? "y" : "ies"} to bench --scale only`);
  if (o.out !== undefined && !o.micro && !o.scale) die("--out applies to bench --micro (the JSON report) and bench --scale (the plot)");
  const url = benchUrl();
  const devOnly = "gmemsim bench is development tooling: it runs from a clone of the repository after `npm install` (which installs its devDependencies) and `npm run build`";
  if (!existsSync(url)) die(`${devOnly}; ${url.pathname} is missing here`, 3);
  let bench: BenchModule;
  try {
    bench = (await import(url.href)) as BenchModule;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw e;
    die(`${devOnly}: ${(e as Error).message.split("\n")[0]}`, 3);
  }
  if (o.micro) return bench.runMicro(o);
  if (o.scale) return bench.runScale(o);
  if (o.check) {
    console.log(await bench.checkText(o));
    return 0;
  }
  if (o.probes) {
    console.log(await bench.probesText(o));
    return 0;
  }
  return bench.runBench(o);
}
