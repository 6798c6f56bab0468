/**
 * The same conformance traces on the real kernel, through the C oracle, compared
 * with the simulator op by op (parsed result objects, not text). Without
 * /dev/kvm these tests are skipped, loudly, never passed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { stringifyJson } from "../src/trace/json.js";
import { Simulator } from "../src/api/simulator.js";
import { kernelAvailability, runOnKernel } from "../src/oracle/driver.js";
import { replayText, resultLine } from "../src/trace/replay.js";
import { CONFORMANCE_DIR, readTraceFile, traceFiles } from "./helpers/traces.js";

const avail = kernelAvailability();
if (!avail.ok) console.log(`SKIPPED: kernel conformance: ${avail.reason}`);

for (const file of traceFiles(CONFORMANCE_DIR)) {
  const name = `${file} gives the same result as the live kernel for every op`;
  if (!avail.ok) {
    test.skip(name, () => {});
    continue;
  }
  test(name, async () => {
    const text = readTraceFile(CONFORMANCE_DIR, file);
    const kernel = await runOnKernel(text);
    const sim = new Simulator();
    const mine = [...replayText(sim.host, text)].flat();
    assert.is(kernel.length, mine.length, "one result per counted line on both");
    let compared = 0;
    for (let k = 0; k < mine.length; k++) {
      const kr = kernel[k] as Record<string, unknown>;
      if ("unsupported" in kr) continue;
      compared++;
      assert.equal(resultLine(mine[k]), kr, `${file} line ${mine[k].lineNo} (${mine[k].op}): gmemsim ${stringifyJson(resultLine(mine[k]))}, kernel ${stringifyJson(kr)}`);
    }
    assert.ok(compared > 0, "compared at least one op");
  });
}

test.run();
