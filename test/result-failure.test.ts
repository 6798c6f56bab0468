/** A failure Result is, to every reader of result lines, exactly {errno}; its sentence is readable but never enumerated. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fail, messageOf, type Result } from "../src/kvm/result.js";
import { stringifyJson } from "../src/trace/json.js";

test("a failure deep-equals {errno} and serialises as {errno} alone", () => {
  const r = fail("EINVAL", "offset 4097 is not a multiple of 4096");
  assert.equal(r, { errno: "EINVAL" });
  assert.is(JSON.stringify(r), '{"errno":"EINVAL"}');
  assert.is(stringifyJson(r), stringifyJson({ errno: "EINVAL" }));
  assert.equal(Object.keys(r), ["errno"]);
  assert.equal(Object.entries(r), [["errno", "EINVAL"]]);
  const seen: string[] = [];
  for (const k in r) seen.push(k);
  assert.equal(seen, ["errno"]);
  assert.is(r.constructor, Object);
});

test("a failure's sentence is read back by messageOf() and .message, one per failure", () => {
  const a = fail("EINVAL", "first sentence");
  const b = fail("EBADF", "second sentence");
  assert.is(messageOf(a), "first sentence");
  assert.is((b as { message?: string }).message, "second sentence");
  assert.is(messageOf(a), "first sentence");
  assert.not.ok(Object.prototype.propertyIsEnumerable.call(a, "message"));
  assert.is(messageOf({ errno: "EINVAL" } as Result), undefined);
});

test("a failure's sentence cannot be overwritten through .message", () => {
  const r = fail("EINVAL", "kept");
  assert.throws(() => {
    (r as { message?: string }).message = "changed";
  });
  assert.is(messageOf(r), "kept");
});

test.run();
