/**
 * The op reference that ships (docs/ops.md) is generated from the declaration
 * the trace reader uses (src/trace/opdefs.ts): it is exactly what the generator
 * makes of the current declaration, it documents every op, field, errno and
 * example, and the README and the package point to it.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { EXPECT_FIELD, OP_DEFS } from "../src/trace/opdefs.js";
// @ts-expect-error: a plain ES module of the build scripts, without types
import { renderOps } from "../scripts/ops-doc.mjs";

const root = new URL("..", import.meta.url).pathname;
const doc = readFileSync(`${root}docs/ops.md`, "utf8");

test("docs/ops.md is what the generator makes of the current op declaration", () => {
  assert.is(doc, renderOps(OP_DEFS, EXPECT_FIELD), "run npm run build to regenerate docs/ops.md");
});

test("the op reference documents every op, each of its fields, its errnos and its example", () => {
  for (const [name, def] of Object.entries(OP_DEFS)) {
    const start = doc.indexOf(`\n### ${name}\n`);
    assert.ok(start >= 0, `a section for ${name}`);
    const end = doc.indexOf("\n### ", start + 5);
    const section = doc.slice(start, end < 0 ? undefined : end);
    assert.ok(section.includes(def.doc), `${name}: its doc`);
    for (const field of Object.keys(def.fields)) assert.ok(section.includes(`| \`${field}\` |`), `${name}: field ${field}`);
    for (const errno of def.errnos) assert.ok(section.includes(`\`${errno}\``), `${name}: errno ${errno}`);
    assert.ok(section.includes(JSON.stringify(def.example)), `${name}: its example`);
    assert.is(def.example.op, name, `${name}: the example is of this op`);
  }
});

test("the README links the op reference and the package exports it", () => {
  const readme = readFileSync(`${root}README.md`, "utf8");
  assert.ok(readme.includes("(docs/ops.md)"), "README links docs/ops.md");
  const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8"));
  assert.is(pkg.exports["./docs/ops.md"], "./docs/ops.md");
  assert.ok(pkg.files.includes("docs/"));
});

test.run();
