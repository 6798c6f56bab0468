/**
 * The package as a user gets it: `npm pack`, the tarball unpacked into an
 * empty project's node_modules, and only the dependencies the package declares
 * linked beside it (from this checkout's node_modules, so the test is offline
 * and fast). Then every subpath is imported and used from ES modules, the main
 * entry is required from CommonJS, the types of every subpath check under
 * `moduleResolution: nodenext`, and the installed CLI answers.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { readmeFuzzExamples } from "./helpers/readme.js";

const root = new URL("..", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "gmemsim-pkg-"));
const project = join(dir, "project");
const modules = join(project, "node_modules");

const npm = (args: string[], cwd: string) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
// Without uvu's FORCE_COLOR: the user's plain terminal-less run.
const { FORCE_COLOR: _, ...plainEnv } = process.env;
const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: project, encoding: "utf8", env: plainEnv });

let files: string[] = [];
test.before(() => {
  const [packed] = JSON.parse(npm(["pack", "--json", "--ignore-scripts", "--pack-destination", dir], root));
  files = packed.files.map((f: { path: string }) => f.path);
  mkdirSync(modules, { recursive: true });
  execFileSync("tar", ["-xzf", join(dir, packed.filename), "-C", modules]);
  renameSync(join(modules, "package"), join(modules, "gmemsim"));
  // Exactly what the package declares (dependencies, and the peers a user installs), plus TypeScript to check types.
  for (const dep of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies ?? {})]) {
    mkdirSync(dirname(join(modules, dep)), { recursive: true });
    symlinkSync(join(root, "node_modules", dep), join(modules, dep), "dir");
  }
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }));
});

test("the tarball holds the bundles, types, docs and examples, and no benchmark tooling or sources", () => {
  for (const f of ["build/node/gmemsim.js", "build/node/fuzz.js", "build/node/check.js", "build/node/policy.js", "build/node/debug.js", "build/node/cli.js", "build/browser/gmemsim.js", "build/types/src/index.d.ts", "build/types/src/fuzz/index.d.ts", "bin/gmemsim.js", "examples/policies/flawed.mjs", "examples/scenarios/quickstart.jsonl", "docs/ops.md"])
    assert.ok(files.includes(f), `packed: ${f}`);
  for (const f of files) assert.not.match(f, /^(src|test|bench|build\/bench)\//, `not packed: ${f}`);
  assert.not.ok("benchmark" in pkg.dependencies || "tinybench" in pkg.dependencies, "benchmark tooling is not a runtime dependency");
  assert.ok(pkg.peerDependencies["fast-check"].startsWith("^"), "fast-check is a peer dependency with a range");
});

test("the browser entry (Simulator, wasm included) is at most 100 KB gzipped, and only gmemsim/debug carries the debug wasm", () => {
  const browser = readFileSync(join(modules, "gmemsim/build/browser/gmemsim.js"));
  const gz = gzipSync(browser, { level: 9 }).length;
  assert.ok(gz <= 100 * 1024, `${gz} bytes gzipped`);
  const release = readFileSync(join(root, "build/gmemsim.wasm")).toString("base64");
  const debug = readFileSync(join(root, "build/gmemsim.debug.wasm")).toString("base64");
  assert.ok(browser.includes(release.slice(0, 64)), "the release wasm is embedded");
  assert.not.ok(browser.includes(debug.slice(0, 64)), "the debug wasm is not");
  const carriers = files.filter((f) => f.endsWith(".js") && readFileSync(join(modules, "gmemsim", f), "utf8").includes(debug.slice(0, 64)));
  assert.equal(carriers, ["build/node/debug.js"]);
});

test("every subpath imports and works from an ES module in the user's project", () => {
  writeFileSync(
    join(project, "use.mjs"),
    `import { Simulator, GmemError, TraceError, encodeTrace, decodeTrace, replayBinaryJson, replayTextJson } from "gmemsim";
import { inspect } from "node:util";
import { fuzzRun, traceArbitrary, gmemCommands } from "gmemsim/fuzz";
import { checkInvariants, checkSecurity } from "gmemsim/check";
import { defaultPolicy, overlapsRanges } from "gmemsim/policy";
import { debugCore } from "gmemsim/debug";
import flawed from "gmemsim/examples/policies/flawed.mjs";
const sim = new Simulator();
const vm = sim.createVm();
const g = vm.createGuestMemfd(1 << 20, ["MMAP", "INIT_SHARED"]);
try { g.allocate(1 << 20, 4096); } catch (e) { if (!(e instanceof GmemError)) throw e; }
const dbg = new Simulator({ core: debugCore() });
dbg.createVm().createGuestMemfd(1 << 20, []).allocate(0, 4096);
const report = fuzzRun({ seed: 1, ops: 2000, policy: flawed });
const trace = '{"op":"create_vm","as":"v","type":"default"}\\n{"op":"check_extension","cap":"GUEST_MEMFD"}';
const lines = (pieces) => [...pieces].map((b) => new TextDecoder().decode(b)).join("");
console.log(JSON.stringify({
  binary: decodeTrace(encodeTrace(trace)) === trace && lines(replayBinaryJson(new Simulator().host, encodeTrace(trace))),
  text: lines(replayTextJson(new Simulator().host, trace, 4096, undefined, true)),
  pages: sim.stats().host_pages,
  debugPages: dbg.stats().host_pages,
  invariants: checkInvariants(sim.host).length,
  security: checkSecurity(sim.host).length,
  policy: defaultPolicy.name,
  overlaps: [overlapsRanges([[2, 4], [8, 9]], 3, 5), overlapsRanges([[2, 4], [8, 9]], 4, 8)],
  arbitraries: typeof traceArbitrary === "function" && typeof gmemCommands === "function",
  flawCaught: report.failure !== undefined,
  traceError: inspect(new TraceError("a sentence")),
}));
`,
  );
  const r = node(["use.mjs"]);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const replayed = '{"i":0,"ret":0}\n{"i":1,"ret":0,"value":1}\n';
  assert.equal(out, { binary: replayed, text: replayed, pages: 0, debugPages: 1, invariants: 0, security: 0, policy: "default", overlaps: [true, false], arbitraries: true, flawCaught: true, traceError: "[TraceError: a sentence]" });
});

test("CommonJS: require('gmemsim') and its subpaths work on Node 20.19 and later (require of an ES module without top-level await)", () => {
  writeFileSync(
    join(project, "use.cjs"),
    `const { Simulator } = require("gmemsim");\nconst { fuzzRun } = require("gmemsim/fuzz");\nconst { checkInvariants } = require("gmemsim/check");\nconst { defaultPolicy } = require("gmemsim/policy");\n` +
      `if (typeof fuzzRun !== "function" || typeof checkInvariants !== "function" || defaultPolicy.name !== "default") throw new Error("a subpath is missing");\n` +
      `console.log(new Simulator().createVm().checkExtension("KVM_CAP_GUEST_MEMFD"));\n`,
  );
  const r = node(["use.cjs"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), "1");
});

test("the types of every subpath, and the README's fuzzing examples, check in the user's project (moduleResolution nodenext, strict), with the user's own fast-check", () => {
  writeFileSync(
    join(project, "use.ts"),
    `import { Simulator, type SimulatorOptions } from "gmemsim";
import { fuzzRun, traceArbitrary, checkTrace, type RunReport } from "gmemsim/fuzz";
import { checkInvariants } from "gmemsim/check";
import { defaultPolicy, type Policy } from "gmemsim/policy";
import { debugCore } from "gmemsim/debug";
import flawed from "gmemsim/examples/policies/flawed.mjs";
import fc from "fast-check";
const options: SimulatorOptions = { engine: "reference" };
const sim: Simulator = new Simulator(options);
const policy: Policy = defaultPolicy;
const report: RunReport = fuzzRun({ seed: 1, ops: 10, policy: flawed });
const bad: string[] = checkInvariants(sim.host);
fc.assert(fc.property(traceArbitrary({ maxLength: 5 }), (trace) => checkTrace(trace, { policy }) === null), { numRuns: 1 });
new Simulator({ core: debugCore() });
// @ts-expect-error: the engine is "wasm" or "reference"
new Simulator({ engine: 42 });
export { report, bad };
`,
  );
  writeFileSync(join(project, "policy.ts"), readFileSync(join(root, "examples/policies/no-sharing.ts"), "utf8"));
  // The README's fuzzing examples, verbatim, beside the user's fast-check.
  const examples = readmeFuzzExamples().map((code, k) => {
    writeFileSync(join(project, `readme-${k}.ts`), code + "\n");
    return `readme-${k}.ts`;
  });
  assert.ok(examples.length >= 2);
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ["use.ts", "policy.ts", ...examples] }));
  const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "."], { cwd: project, encoding: "utf8" });
  assert.is(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test("the installed CLI answers --version and --help, replays a trace, and says bench needs a clone", () => {
  const cli = join(modules, "gmemsim/bin/gmemsim.js");
  const v = node([cli, "--version"]);
  assert.is(v.stdout.trim(), pkg.version);
  assert.is(node([cli, "replay", "--help"]).status, 0);
  writeFileSync(join(project, "t.jsonl"), `{"op": "create_vm", "as": "vm", "type": "default"}\n{"op": "create_guest_memfd", "vm": "vm", "as": "g", "size": 4096, "flags": []}\n`);
  const r = node([cli, "replay", "t.jsonl", "--json"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `{"i":0,"ret":0}\n{"i":1,"ret":0}\n`);
  const b = node([cli, "bench", "--quick"]);
  assert.is(b.status, 3, b.stderr);
  assert.match(b.stderr, /gmemsim bench is development tooling: it runs from a clone of the repository/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
