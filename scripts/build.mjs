#!/usr/bin/env node
// Builds everything gmemsim needs: the wasm core (and its embedded base64 module),
// the Node and browser bundles, and the type declarations. Each step skips
// itself when its outputs are newer than its inputs.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { newestIn } from "./newest.mjs";

const root = new URL("..", import.meta.url).pathname;
process.chdir(root);

execFileSync(process.execPath, ["scripts/build-wasm.mjs"], { stdio: "inherit" });

// Everything the bundles are made of: the sources, the benchmarks the CLI runs, and the build inputs.
const inputs = Math.max(newestIn("src"), newestIn("bench"), statSync("package.json").mtimeMs, statSync("scripts/build.mjs").mtimeMs);
const stale = (out) => !existsSync(out) || statSync(out).mtimeMs < inputs;

const common = { bundle: true, format: "esm", sourcemap: true, logLevel: "warning", legalComments: "none" };
if (stale("build/node/cli.js") || stale("build/node/gmemsim.js")) {
  await build({
    ...common,
    entryPoints: { gmemsim: "src/index.ts", cli: "src/cli/main.ts", "fuzz-worker": "src/fuzz/worker.ts" },
    outdir: "build/node",
    platform: "node",
    target: "node20",
    packages: "external",
    banner: { js: "import { createRequire as __gmemsimRequire } from 'node:module'; const require = __gmemsimRequire(import.meta.url);" },
  });
}
if (stale("build/browser/gmemsim.js")) {
  await build({ ...common, entryPoints: { gmemsim: "src/index.ts" }, outdir: "build/browser", platform: "browser", target: "es2022" });
}
if (stale("build/types/src/index.d.ts")) {
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
