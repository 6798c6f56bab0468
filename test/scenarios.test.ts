/**
 * Scenario traces (test/scenarios/): each tells one story of the model and must
 * pass as `gmemsim replay --check` does: every expect matched, every engine
 * invariant and security property holding after every op, on both cores.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { stringifyJson } from "../src/trace/json.js";
import { Simulator, type SimulatorOptions } from "../src/api/simulator.js";
import { checkInvariants } from "../src/check/checker.js";
import { checkSecurity } from "../src/check/checker.js";
import { Replayer, expectMismatch, resultLine } from "../src/trace/replay.js";
import { readTraceFile, traceFiles } from "./helpers/traces.js";
import { replayArgs } from "../src/trace/replay-args.js";
import { spawnSync } from "node:child_process";

const DIR = new URL("./scenarios/", import.meta.url).pathname;

for (const engine of ["wasm", "reference"] as const) {
  for (const file of traceFiles(DIR)) {
    test(`scenario ${file} passes --check (${engine})`, () => {
      const text = readTraceFile(DIR, file);
      // The trace's own `# replay-args: --kernel NAME`, as replay honours it.
      const sim = new Simulator({ engine, ...(replayArgs(text) as Pick<SimulatorOptions, "kernel" | "design">) });
      const rp = new Replayer(sim.host);
      const lines = text.split("\n");
      let checked = 0;
      lines.forEach((text, n) => {
        const rec = rp.line(text, n + 1);
        if (!rec) return;
        sim.host.sync();
        assert.not.ok("error" in rec.result, `line ${n + 1}: ${stringifyJson(resultLine(rec))}`);
        assert.equal(expectMismatch(rec), [], `line ${n + 1} (${rec.op}): expected ${stringifyJson(rec.expect)}, got ${stringifyJson(resultLine(rec))}`);
        assert.equal(checkInvariants(sim.host), [], `invariants after line ${n + 1}`);
        assert.equal(checkSecurity(sim.host), [], `security properties after line ${n + 1}`);
        checked++;
      });
      assert.ok(checked > 0);
    });
  }
}

for (const file of traceFiles(DIR)) {
  test(`gmemsim replay ${file} --check exits 0, on both engines`, () => {
    for (const engine of ["wasm", "reference"]) {
      const p = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", DIR + file, "--check", "--engine", engine], { encoding: "utf8" });
      assert.is(p.status, 0, p.stderr);
      assert.match(p.stderr, /check: every expectation and invariant held/);
    }
  });
}

test.run();
