/**
 * isRecord() (src/trace/fields.ts) on a proxy whose getPrototypeOf trap
 * throws: no plain object, so apply() gives that op its error line (apply()
 * never throws) and runs the ops around it, where the trap's throw escaped
 * apply() before.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/index.js";

test("an op object that is a proxy whose getPrototypeOf trap throws gets an error line, and the ops around it run", () => {
  const sim = new Simulator();
  const hostile = new Proxy({ op: "stats" }, {
    getPrototypeOf() {
      throw new Error("no prototype for you");
    },
  });
  let out: ReturnType<Simulator["apply"]> = [];
  assert.not.throws(() => {
    out = sim.apply([{ op: "create_vm", as: "a", type: "default" }, hostile, { op: "stats", vm: "a" }]);
  });
  assert.is(out.length, 3);
  assert.ok(!("error" in out[0]), JSON.stringify(out[0]));
  assert.match(String(out[1].error), /^line 2: expected an op object/);
  assert.is(out[2].sptes, 0, JSON.stringify(out[2]));
  assert.equal(out.map((r) => r.i), [0, 1, 2]);
});

test.run();
