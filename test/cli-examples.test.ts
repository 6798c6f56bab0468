/**
 * The example traces that ship (examples/**.jsonl) run as `gmemsim replay
 * --check` runs them: every line gets a result that is not a trace error, and
 * every expect holds, under the policy a "# policy: FILE" header names
 * (examples/policies/FILE), or the default one.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { Simulator } from "../src/api/simulator.js";
import { loadPolicy } from "../src/policy/load.js";
import { Replayer, expectMismatch, resultLine } from "../src/trace/replay.js";

const root = new URL("..", import.meta.url).pathname;
const examples = join(root, "examples");

function traces(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? traces(p) : f.endsWith(".jsonl") ? [p] : [];
  });
}

const files = traces(examples);

test("examples/ ships example traces", () => {
  assert.ok(files.length >= 2, `${files.length} traces`);
});

for (const file of files) {
  const name = relative(root, file);
  test(`${name} replays with every expect met and no trace error`, async () => {
    const text = readFileSync(file, "utf8");
    const named = /^# policy: (\S+)/m.exec(text);
    const policy = named ? await loadPolicy(join(examples, "policies", named[1])) : undefined;
    const sim = new Simulator({ policy });
    const rp = new Replayer(sim.host);
    let lines = 0;
    text.split("\n").forEach((line, n) => {
      const rec = rp.line(line, n + 1);
      if (!rec) return;
      // Results of batched core commands are filled in at the flush.
      sim.host.sync();
      lines++;
      assert.not.ok("error" in rec.result, `line ${n + 1}: ${JSON.stringify(resultLine(rec))}`);
      assert.equal(expectMismatch(rec), [], `line ${n + 1} (${rec.op}): expected ${JSON.stringify(rec.expect)}, got ${JSON.stringify(resultLine(rec))}`);
    });
    assert.ok(lines > 0, "the trace has ops");
  });
}

test.run();
