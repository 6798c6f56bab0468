/**
 * The command line: every subcommand answers --help from the one declaration
 * (src/cli/commands.ts), `help CMD`, --version, "did you mean", refusals of
 * absurd flag values that name the flag and the value, fuzz --out checked
 * before the run, colours that respect NO_COLOR, a progress line that fits
 * the terminal, tables, and TypeScript policies.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { COMMANDS } from "../src/cli/commands.js";
import { progressLine, redraw } from "../src/cli/progress.js";
import { colorEnabled } from "../src/cli/style.js";
import { renderTable } from "../src/cli/table.js";

const root = new URL("..", import.meta.url).pathname;
const bin = join(root, "bin/gmemsim.js");
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const dir = mkdtempSync(join(tmpdir(), "gmemsim-cli-"));
const ESC = /\x1b\[/;

function run(args: string[], o: SpawnSyncOptions = {}) {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...(o.env ?? {}) };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: root, timeout: 60_000, ...o, env });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

test("every subcommand answers --help with its arguments and every declared flag, and exits 0", () => {
  for (const c of COMMANDS) {
    const r = run([c.name, "--help"]);
    assert.is(r.code, 0, `${c.name} --help: ${r.err}`);
    assert.match(r.out, new RegExp(`^Usage: gmemsim ${c.name} `), c.name);
    for (const a of c.args) assert.ok(r.out.includes(a.name), `${c.name} --help shows ${a.name}`);
    for (const f of c.flags) assert.ok(r.out.includes(f.flags.split(" ")[0]), `${c.name} --help shows ${f.flags}`);
  }
});

test("gmemsim help CMD prints what CMD --help prints", () => {
  for (const c of COMMANDS) assert.is(run(["help", c.name]).out, run([c.name, "--help"]).out, c.name);
});

test("a bare gmemsim and gmemsim --help list every subcommand and exit 0; --version prints the package's version", () => {
  const bare = run([]);
  assert.is(bare.code, 0);
  assert.is(bare.out, run(["--help"]).out);
  for (const c of COMMANDS) assert.ok(bare.out.includes(`${c.name} `), c.name);
  const v = run(["--version"]);
  assert.is(v.code, 0);
  assert.is(v.out.trim(), version);
});

test("a misspelt subcommand or flag is a usage error (exit 2) with a did-you-mean", () => {
  const cmd = run(["repaly", "x.jsonl"]);
  assert.is(cmd.code, 2);
  assert.match(cmd.err, /unknown command 'repaly'/);
  assert.match(cmd.err, /Did you mean replay\?/);
  const help = run(["help", "fuz"]);
  assert.is(help.code, 2);
  assert.match(help.err, /unknown command 'fuz'\n\(Did you mean fuzz\?\)/);
  const flag = run(["replay", "--jsn", "x.jsonl"]);
  assert.is(flag.code, 2);
  assert.match(flag.err, /unknown option '--jsn'/);
  assert.match(flag.err, /Did you mean --json\?/);
});

test("absurd flag values are refused before any work, with a sentence naming the flag and the value", () => {
  const cases: Array<[string[], string, string]> = [
    [["fuzz", "--workers", "0"], "--workers", "0"],
    [["fuzz", "--workers", "1e9"], "--workers", "1e9"],
    [["fuzz", "--ops", "-5"], "--ops", "-5"],
    [["fuzz", "--ops", "abc"], "--ops", "abc"],
    [["fuzz", "--seed", "1.5"], "--seed", "1.5"],
    [["fuzz", "--seconds", "0"], "--seconds", "0"],
    [["fuzz", "--against", "gpu"], "--against", "gpu"],
    [["fuzz", "--kernel", "5.4"], "--kernel", "5.4"],
    [["serve", "--port", "65536"], "--port", "65536"],
    [["serve", "--port", "http"], "--port", "http"],
    [["demo", "--ops", "0"], "--ops", "0"],
    [["replay", "--engine", "gpu", "x.jsonl"], "--engine", "gpu"],
    [["replay", "--policy", "no-such-policy.mjs", "x.jsonl"], "--policy", "no-such-policy.mjs"],
    [["fuzz", "--seeds", "5..2"], "--seeds", "5..2"],
    [["worker", "--queue", "redis://127.0.0.1:1", "--lock-seconds", "0.5"], "--lock-seconds", "0.5"],
  ];
  for (const [args, flag, value] of cases) {
    const r = run(args);
    assert.is(r.code, 2, `${args.join(" ")}: exit ${r.code}, ${r.err}`);
    assert.ok(r.err.includes(flag) && r.err.includes(`'${value}'`), `${args.join(" ")} names ${flag} and ${value}: ${r.err}`);
    assert.not.match(r.err, /\n\s+at /, `${args.join(" ")}: no stack trace`);
    assert.is(r.out, "", `${args.join(" ")}: nothing ran`);
  }
});

test("fuzz --out that cannot be written fails before the campaign starts, and leaves nothing behind", () => {
  const proc = run(["fuzz", "--ops", "1000000000", "--out", "/proc/gmemsim-out/x"]);
  assert.is(proc.code, 2, proc.err);
  assert.match(proc.err, /option '--out <DIR>' argument '\/proc\/gmemsim-out\/x' is invalid/);
  assert.not.match(proc.err, /ops\/s/, "no progress: the campaign never started");
  // A path below a regular file.
  const file = join(dir, "a-file");
  writeFileSync(file, "");
  const under = run(["fuzz", "--ops", "10", "--out", join(file, "sub")]);
  assert.is(under.code, 2, under.err);
  // The default (fuzz-out in the working directory) is checked too.
  const dflt = run(["fuzz", "--ops", "10"], { cwd: "/proc" });
  assert.is(dflt.code, 2, dflt.err);
  assert.match(dflt.err, /option '--out <DIR>' default 'fuzz-out' is invalid/);
  // A writable --out that a passing run does not need is left as it was: not created.
  const fresh = join(dir, "fresh", "deeper");
  const ok = run(["fuzz", "--ops", "200", "--seed", "1", "--out", fresh]);
  assert.is(ok.code, 0, ok.err);
  assert.not.ok(existsSync(join(dir, "fresh")), "the check removes the directories it made");
});

test("fuzz --mix is refused without --against kernel, and an unknown mix is refused, naming the mixes", () => {
  const r = run(["fuzz", "--mix", "memfd", "--ops", "10"]);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /--mix memfd applies to --against kernel/);
  assert.is(r.out, "");
  const u = run(["fuzz", "--against", "kernel", "--mix", "shmem", "--ops", "10"]);
  assert.is(u.code, 2, u.err);
  assert.match(u.err, /'shmem' is invalid\. Allowed choices are default, memfd, gmem, memslots, lifecycle/);
});

test("fuzz --against kernel under a profile other than the live kernel's build is refused: the two would differ by design", () => {
  const r = run(["fuzz", "--against", "kernel", "--kernel", "next", "--ops", "10"]);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /--against kernel compares with the live kernel, which is the 6\.18 build: --kernel next/);
  assert.is(r.out, "");
});

test("flags of one mode given to another are refused: bench --vms without --scale", () => {
  const r = run(["bench", "--vms", "4"]);
  assert.is(r.code, 2);
  assert.match(r.err, /--vms applies to bench --scale only/);
});

test("colours: off on a pipe, on with FORCE_COLOR, and NO_COLOR wins over both", () => {
  assert.not.match(run(["--help"]).out, ESC, "a pipe gets no escape codes");
  assert.match(run(["--help"], { env: { FORCE_COLOR: "1" } }).out, ESC);
  assert.match(run(["fuzz", "--ops", "x"], { env: { FORCE_COLOR: "1" } }).err, ESC);
  assert.not.match(run(["--help"], { env: { FORCE_COLOR: "1", NO_COLOR: "1" } }).out, ESC);
  assert.not.match(run(["fuzz", "--ops", "x"], { env: { FORCE_COLOR: "1", NO_COLOR: "" } }).err, ESC, "NO_COLOR set to anything, even empty");
  assert.is(colorEnabled({ isTTY: true }, {}), true);
  assert.is(colorEnabled({ isTTY: true }, { TERM: "dumb" }), false);
  assert.is(colorEnabled({ isTTY: false }, {}), false);
});

test("the progress line never exceeds the terminal's width, whatever the width and the text", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 400 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.string({ maxLength: 300 }), (columns, frac, text) => {
      const line = progressLine(frac, text, columns);
      const again = redraw(text, { columns } as NodeJS.WriteStream).replace("\r\x1b[2K", "");
      return [...line].length <= Math.max(1, columns - 1) && [...again].length <= Math.max(1, columns - 1);
    }),
  );
  assert.match(progressLine(0.5, "fuzz: 10 ops", 80), /^\[#+\.+\]  50% fuzz: 10 ops$/, "a bar when there is room");
  assert.is(progressLine(0.5, "fuzz: 10 ops", 20), " 50% fuzz: 10 ops", "text alone when there is not");
});

test("tables align every column: each line of a rendered table has the same width", () => {
  const t = renderTable([{ title: "case" }, { title: "ops/s", align: "right" }], [["a long case name", 12345], ["b", 5]]);
  // uvu sets FORCE_COLOR in its own process, so the header may be bold here: measure the text without escapes.
  const lines = stripVTControlCharacters(t).split("\n");
  assert.is(lines.length, 4);
  assert.is(new Set(lines.map((l) => l.length)).size, 1, t);
  assert.match(lines[3], /\|\s+5 $/, "numbers right-aligned");
});

test("--policy FILE.ts is compiled on the fly (esbuild) and runs; a TypeScript error names its line", () => {
  const ok = run(["fuzz", "--policy", "examples/policies/no-sharing.ts", "--ops", "2000", "--seed", "1"]);
  assert.is(ok.code, 0, ok.err);
  assert.match(ok.out, /policy no-sharing/);
  const bad = join(dir, "broken.ts");
  writeFileSync(bad, "const policy: Policy = {\n  name: 'broken',\n  link( => 1,\n};\nexport default policy;\n");
  const r = run(["replay", "--policy", bad, "test/policy/flawed-punch.jsonl"]);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /broken\.ts does not compile: .* \(line 3, column \d+\)/);
});

test("the README's command-line section shows every subcommand of the declaration", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Command line"), readme.indexOf("\n## ", readme.indexOf("## Command line") + 5));
  for (const c of COMMANDS) assert.ok(section.includes(`gmemsim ${c.name}`), `README shows gmemsim ${c.name}`);
});

test("the playground serves the op reference at /ops.md, and its page links it", async () => {
  const { startServer } = await import("../src/cli/serve.js");
  const pg = await startServer(0);
  try {
    const res = await fetch(`${pg.url}ops.md`);
    assert.is(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/markdown/);
    assert.is(await res.text(), readFileSync(join(root, "docs/ops.md"), "utf8"));
    assert.match(await (await fetch(pg.url)).text(), /href="\/ops\.md"/);
  } finally {
    await pg.close();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
