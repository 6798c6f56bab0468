/**
 * Proxies as op objects and field values: isRecord() (src/trace/fields.ts)
 * and show() (src/trace/json.ts) never let a trap's throw, or a revoked
 * proxy's, escape apply() (which never throws): such an op gets its error
 * line and the ops around it run.
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

test("a revoked proxy as an op object, or as a field's value, gets an error line that names it, and the ops around it run", () => {
  const sim = new Simulator();
  const { proxy, revoke } = Proxy.revocable({ op: "stats" }, {});
  revoke();
  let out: ReturnType<Simulator["apply"]> = [];
  assert.not.throws(() => {
    out = sim.apply([{ op: "create_vm", as: "a", type: "default" }, proxy, { op: "stats", vm: proxy }, { op: "stats", vm: "a" }]);
  });
  assert.is(out.length, 4);
  assert.match(String(out[1].error), /^line 2: expected an op object/);
  assert.match(String(out[2].error), /^line 3: stats: vm: expected a name, got an unreadable object/);
  assert.is(out[3].sptes, 0, JSON.stringify(out[3]));
});

test.run();
