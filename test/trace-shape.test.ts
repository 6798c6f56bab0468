/**
 * The trace reader copies each op's template of fields at a copy site of its
 * own (src/trace/shape.ts): every site makes the same plain copy.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyAt, shapeSite } from "../src/trace/shape.js";
import { prepare } from "../src/trace/fields.js";
import { OP_DEFS } from "../src/trace/opdefs.js";

test("every copy site makes a fresh plain object with the template's keys, in order, and its values", () => {
  const t = { op: undefined, vm: "v0", gpa: 8, access: undefined };
  for (let site = 0; site < 20; site++) {
    const c = copyAt(site, t);
    assert.is.not(c, t);
    assert.is(Object.getPrototypeOf(c), Object.prototype);
    assert.equal(Object.keys(c), ["op", "vm", "gpa", "access"]);
    assert.equal(c, t);
  }
});

test("op declarations take copy sites in turn, so that no site copies every op's template", () => {
  const sites = new Set(Object.values(OP_DEFS).map((d) => prepare(d).site));
  assert.ok(sites.size >= 8, `only ${sites.size} copy sites for ${Object.keys(OP_DEFS).length} ops`);
});

test("shapeSite() hands out every copy site once before it hands out one again", () => {
  const turn = Array.from({ length: 16 }, () => shapeSite());
  assert.equal([...turn].sort((a, b) => a - b), Array.from({ length: 16 }, (_, k) => k));
  assert.is(shapeSite(), turn[0]);
});

test.run();
