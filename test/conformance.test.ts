/**
 * The conformance traces (test/conformance/, every expectation checked on the
 * live 6.18.44 kernel) on the simulator, both engines: one test per rule block,
 * named by the block's comment, so a broken rule names itself.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { stringifyJson } from "../src/trace/json.js";
import { Simulator, type SimulatorOptions } from "../src/api/simulator.js";
import { checkInvariants } from "../src/check/checker.js";
import { expectMismatch, replayText, resultLine, type LineRecord } from "../src/trace/replay.js";
import { CONFORMANCE_DIR, readTraceFile, ruleBlocks, traceFiles } from "./helpers/traces.js";
import { replayArgs } from "../src/trace/replay-args.js";

for (const engine of ["wasm", "reference"] as const) {
  for (const file of traceFiles(CONFORMANCE_DIR)) {
    const text = readTraceFile(CONFORMANCE_DIR, file);
    const s = suite(`conformance ${file} (${engine})`);
    // The live kernel's build unless the trace names its profile (`# replay-args: --kernel NAME`).
    const sim = new Simulator({ engine, ...(replayArgs(text) as Pick<SimulatorOptions, "kernel" | "design">) });
    const byLine = new Map<number, LineRecord>();
    for (const batch of replayText(sim.host, text)) for (const r of batch) byLine.set(r.lineNo, r);
    for (const block of ruleBlocks(text)) {
      s(`${block.name} (lines ${block.from}-${block.to})`, () => {
        for (let n = block.from; n <= block.to; n++) {
          const r = byLine.get(n);
          if (!r || !r.expect) continue;
          assert.equal(expectMismatch(r), [], `line ${n} (${r.op}): expected ${stringifyJson(r.expect)}, got ${stringifyJson(resultLine(r))}`);
        }
      });
    }
    s("leaves a state that satisfies every engine invariant", () => {
      assert.equal(checkInvariants(sim.host), []);
    });
    s.run();
  }
}
