#!/usr/bin/env node
// Builds everything gmemsim needs: the wasm core (and its embedded base64 module),
// the Node bundles of the package's entries (one per subpath, sharing chunks so
// that a class is one class whichever subpath it came from), the CLI, the
// browser bundle (its gzipped size printed and held to a budget), the benchmarks
// (bundled apart: development tooling, not in the package), and the type
// declarations. Each step skips itself when its outputs are newer than its inputs.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { renderOps } from "./ops-doc.mjs";
import { gzipSync } from "node:zlib";
import { newestIn } from "./newest.mjs";

const root = new URL("..", import.meta.url).pathname;
process.chdir(root);

execFileSync(process.execPath, ["scripts/build-wasm.mjs"], { stdio: "inherit" });

// Everything the bundles are made of: the sources, the benchmarks the CLI runs, and the build inputs.
const inputs = Math.max(newestIn("src"), newestIn("bench"), statSync("package.json").mtimeMs, statSync("scripts/build.mjs").mtimeMs);
const stale = (out) => !existsSync(out) || statSync(out).mtimeMs < inputs;

/** The browser entry (Simulator and the trace tier, wasm included) may weigh at most this, gzipped. */
const BROWSER_BUDGET_GZIP = 100 * 1024;

/** The package's subpaths: gmemsim, gmemsim/fuzz, gmemsim/check, gmemsim/policy, gmemsim/debug. */
export const ENTRIES = { gmemsim: "src/index.ts", fuzz: "src/fuzz/index.ts", check: "src/check/index.ts", policy: "src/policy/index.ts", debug: "src/debug.ts" };

const common = { bundle: true, format: "esm", sourcemap: true, logLevel: "warning", legalComments: "none" };
const nodeOutputs = [...Object.keys(ENTRIES), "cli", "fuzz-worker"].map((n) => `build/node/${n}.js`);
if (nodeOutputs.some(stale)) {
  rmSync("build/node", { recursive: true, force: true });
  await build({
    ...common,
    entryPoints: { ...ENTRIES, cli: "src/cli/main.ts", "fuzz-worker": "src/fuzz/worker.ts" },
    outdir: "build/node",
    // Chunks sit beside the entries: code that finds files from import.meta.url (the package root two levels up,
    // the fuzz worker, the benchmarks) must work from any of them.
    chunkNames: "[name]-[hash]",
    splitting: true,
    platform: "node",
    target: "node20",
    packages: "external",
    banner: { js: "import { createRequire as __gmemsimRequire } from 'node:module'; const require = __gmemsimRequire(import.meta.url);" },
  });
}
if (stale("build/bench/bench.js") || stale("build/bench/clean-heap-worker.js")) {
  await build({ ...common, entryPoints: { bench: "bench/index.ts", "clean-heap-worker": "bench/clean-heap-worker.ts" }, outdir: "build/bench", platform: "node", target: "node20", packages: "external" });
}
if (stale("build/browser/gmemsim.js")) {
  await build({ ...common, entryPoints: { gmemsim: "src/index.ts" }, outdir: "build/browser", platform: "browser", target: "es2022", minify: true });
}
const browser = readFileSync("build/browser/gmemsim.js");
const gzipped = gzipSync(browser, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`build: browser entry build/browser/gmemsim.js: ${kb(browser.length)} minified, ${kb(gzipped)} gzipped, wasm included (budget ${kb(BROWSER_BUDGET_GZIP)} gzipped)`);
if (gzipped > BROWSER_BUDGET_GZIP) {
  console.error(`build: the browser entry is ${kb(gzipped)} gzipped, over its budget of ${kb(BROWSER_BUDGET_GZIP)}: something heavy reached src/index.ts`);
  process.exit(1);
}
// docs/ops.md, the op reference, from the declaration the trace reader uses (rewritten only when it changes).
if (existsSync("src/trace/opdefs.ts")) {
  const out = await build({ entryPoints: ["src/trace/opdefs.ts"], bundle: true, format: "esm", platform: "neutral", write: false, logLevel: "warning" });
  const { OP_DEFS, EXPECT_FIELD } = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString("base64")}`);
  const md = renderOps(OP_DEFS, EXPECT_FIELD);
  mkdirSync("docs", { recursive: true });
  if (!existsSync("docs/ops.md") || readFileSync("docs/ops.md", "utf8") !== md) writeFileSync("docs/ops.md", md);
}
if (Object.values(ENTRIES).some((src) => stale(`build/types/${src.replace(/\.ts$/, ".d.ts")}`))) {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}

// ---- The playground page: its script and its simulator worker (src/web), bundled with CodeMirror; no CDN. ----
if (stale("build/web/playground.js") || stale("build/web/worker.js")) {
  await build({
    ...common,
    entryPoints: { playground: "src/web/page.ts", worker: "src/web/worker.ts" },
    outdir: "build/web",
    platform: "browser",
    target: "es2022",
    minify: true,
  });
}
