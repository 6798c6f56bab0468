/** resultJson() writes exactly what stringifyJson(resultLine(rec)) writes, for every line of random traces and for hand-picked shapes. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { traceArbitrary } from "../src/fuzz/arbitraries.js";
import { replayText, resultLine, type LineRecord } from "../src/trace/replay.js";
import { resultJson } from "../src/trace/result-json.js";
import { stringifyJson } from "../src/trace/json.js";
import { Host } from "../src/kvm/host.js";
import { EngineCore } from "../src/core/engine.js";

test("resultJson is stringifyJson(resultLine(rec)) on every line of random traces", () => {
  let lines = 0;
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 48 }), (trace) => {
      const host = new Host(new EngineCore());
      for (const batch of replayText(host, trace.map((o) => JSON.stringify(o)).join("\n")))
        for (const rec of batch) {
          lines++;
          assert.is(resultJson(rec), stringifyJson(resultLine(rec)));
        }
    }),
    { numRuns: 500, seed: 5 },
  );
  assert.ok(lines > 5000);
});

test("resultJson falls back to stringifyJson for every shape it does not write itself", () => {
  const rec = (result: object): LineRecord => ({ i: 7, lineNo: 9, op: "x", result: result as LineRecord["result"] });
  for (const r of [{ ret: 0 }, { ret: 0, value: 255 }, { ret: 0, value: -0 }, { ret: 0, value: 2 ** 60 }, { ret: 0, value: 2n ** 62n }, { ret: 0, value: 1.5 }, { ret: 1 }, { value: 3, ret: 0 }, { ret: 0, size: 4096, blocks: 8 }, { errno: "EINVAL" }, { error: "line 9: bad" }, {}])
    assert.is(resultJson(rec(r)), stringifyJson(resultLine(rec(r))), stringifyJson(r));
});

test.run();
