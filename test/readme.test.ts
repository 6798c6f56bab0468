/**
 * The README's API example is run as written, and every claim its comments make
 * (`expr; // { ... }`, and the caught error's `e.field value` pairs) is checked,
 * so that the first code a newcomer reads stays true.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readmeFuzzExamples } from "./helpers/readme.js";
import * as gmemsim from "../src/index.js";

const root = new URL("..", import.meta.url).pathname;
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const section = readme.slice(readme.indexOf("## The API"));
const code = section.slice(section.indexOf("```ts\n") + 6, section.indexOf("\n```", section.indexOf("```ts\n")));

/** The object or array literal a comment starts with (balanced brackets), or null. */
function leadingLiteral(comment: string): string | null {
  const open = comment[0];
  if (open !== "{" && open !== "[") return null;
  let depth = 0;
  for (let k = 0; k < comment.length; k++) {
    if (comment[k] === "{" || comment[k] === "[") depth++;
    if (comment[k] === "}" || comment[k] === "]") depth--;
    if (depth === 0) return comment.slice(0, k + 1);
  }
  return null;
}

test("the README's API example runs, and each value its comments claim is what it returns", () => {
  const claims: Array<{ expr: string; literal: string }> = [];
  const errorClaims: Array<[string, string]> = [];
  const lines = code.split("\n").map((line) => {
    if (line.startsWith("import ")) return `const { ${/\{(.*)\}/.exec(line)![1]} } = gmemsim;`;
    const m = /^(?!const |let )(.*?);\s*\/\/\s*(.*)$/.exec(line);
    const literal = m && leadingLiteral(m[2]);
    if (m && literal) {
      claims.push({ expr: m[1], literal });
      return `__claim(${claims.length - 1}, () => (${m[1]}));`;
    }
    for (const [, field, value] of line.matchAll(/e\.(\w+) ("[^"]*"|\d+)/g)) errorClaims.push([field, value]);
    return line.replace("} catch (e) {", "} catch (e) { __caught(e);");
  });
  const seen: unknown[] = [];
  let caught: unknown = null;
  new Function("gmemsim", "__claim", "__caught", lines.join("\n"))(
    gmemsim,
    (k: number, fn: () => unknown) => (seen[k] = JSON.parse(JSON.stringify(fn() ?? null))),
    (e: unknown) => (caught = e),
  );
  assert.ok(claims.length >= 3, `found ${claims.length} claims`);
  claims.forEach((c, k) => assert.equal(seen[k], new Function(`return (${c.literal});`)(), `README claims ${c.expr} gives ${c.literal}`));
  assert.instance(caught, gmemsim.GmemError);
  assert.ok(errorClaims.length >= 4);
  for (const [field, value] of errorClaims) assert.equal((caught as Record<string, unknown>)[field], JSON.parse(value), `README claims e.${field} is ${value}`);
});


test("the fuzzing guide's example report is what the flawed policy's run says", async () => {
  const line = /fuzz: FAILED after ([\d,]+) ops \(seed (\d+)\)\. Shrunk from (\d+) to (\d+) ops/.exec(readme);
  assert.ok(line, "the README shows a fuzz report");
  // gmemsim fuzz runs the coverage-guided loop.
  const { guidedRun } = await import("../src/fuzz/guided.js");
  const { loadPolicy } = await import("../src/policy/load.js");
  const r = guidedRun({ seed: Number(line![2]), ops: 10_000, policy: await loadPolicy("examples/policies/flawed.mjs") });
  assert.is(r.ops, Number(line![1].replace(/,/g, "")), "ops before the failure");
  assert.is(r.failure!.originalLength, Number(line![3]), "length before shrinking");
  assert.is(r.failure!.trace.length, Number(line![4]), "length after shrinking");
  assert.ok(readme.replace(/\n/g, "").includes(JSON.stringify(r.failure!.failure.op)), "the op the README names is the one that failed");
});

test("the fuzzing guide's examples, run verbatim, catch the shipped flawed policy after the number of tests their comments say", () => {
  const examples = readmeFuzzExamples();
  assert.is(examples.length, 2);
  // Inside the checkout, so that "gmemsim/..." resolves to this package by its own name (its exports map, its build).
  const dir = mkdtempSync(join(root, ".scratch-readme-"));
  try {
    examples.forEach((code, k) => {
      const file = join(dir, `example-${k}.mjs`);
      writeFileSync(file, code + "\n");
      const claimed = /Throws "Property failed after (\d+) tests"/.exec(code);
      assert.ok(claimed, `example ${k} says what it throws`);
      const r = spawnSync(process.execPath, [file], { encoding: "utf8", cwd: root });
      assert.is(r.status, 1, `example ${k} throws: ${r.stderr.slice(0, 400)}`);
      const actual = /Property failed after (\d+) tests/.exec(r.stderr)?.[1];
      assert.is(actual, claimed![1], `example ${k}: the README's comment should say "Property failed after ${actual} tests" (the generator changed)`);
      assert.match(r.stderr, /Counterexample: .*"PUNCH_HOLE"/, `example ${k} shows the punch that breaks owner control`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
