/**
 * The security checker judges the facts recorded when each op ran, never the
 * objects as they are when it checks: a file closed later must not turn a
 * punch it was entitled to into a violation. And random fuzzing reaches the
 * sequence that showed it (link to migrate, move the context, punch, close).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Simulator } from "../src/api/simulator.js";
import { Checker, checkSecurity } from "../src/check/checker.js";
import { DEFAULT_SEQUENCE_WEIGHTS, sequenceArbitraries, traceArbitrary } from "../src/fuzz/arbitraries.js";

/** Migrate g1 of vm a to vm b as g2, move the context, punch through g2, close g2. */
const MIGRATE_PUNCH_CLOSE = [
  { op: "create_vm", as: "a", type: "default" },
  { op: "create_vm", as: "b", type: "default" },
  { op: "create_guest_memfd", vm: "a", as: "g1", size: 65536, flags: [] },
  { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g1" },
  { op: "fallocate", fd: "g1", mode: "KEEP_SIZE", offset: 0, len: 16384 },
  { op: "gmem_link", fd: "g1", vm: "b", as: "g2", perm: [], mode: "migrate" },
  { op: "set_user_memory_region2", vm: "b", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 65536, guest_memfd: "g2" },
  { op: "move_enc_context_from", vm: "b", src: "a" },
  { op: "fallocate", fd: "g2", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 4096 },
  { op: "close", fd: "g2" },
];

for (const engine of ["wasm", "reference"] as const) {
  test(`a punch by a migration target that took the owner's place stays legal after the target's file is closed (${engine})`, () => {
    const sim = new Simulator({ engine });
    const checker = new Checker(sim.host);
    for (const op of MIGRATE_PUNCH_CLOSE) {
      const [r] = sim.apply([op]);
      assert.is(r.ret, 0, `${op.op}: ${JSON.stringify(r)}`);
      const report = checker.step();
      assert.equal(report.security, [], `after ${op.op}`);
      assert.equal(report.invariants, [], `after ${op.op}`);
    }
    assert.equal(checkSecurity(sim.host), [], "the whole history, judged at the end");
    assert.equal(checker.full().security, []);
  });
}

test("gmemsim replay --check passes the migrate, punch, close trace", () => {
  const dir = mkdtempSync(join(tmpdir(), "gmemsim-history-"));
  const file = join(dir, "migrate-punch-close.jsonl");
  writeFileSync(file, MIGRATE_PUNCH_CLOSE.map((o) => JSON.stringify({ ...o, expect: { ret: 0 } })).join("\n") + "\n");
  const p = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", file, "--check"], { encoding: "utf8" });
  assert.is(p.status, 0, p.stderr);
  assert.match(p.stderr, /check: every expectation and invariant held/);
});

test("the history records plain data: nothing in it refers to a live object", () => {
  const sim = new Simulator();
  sim.apply(MIGRATE_PUNCH_CLOSE);
  const plain = (v: unknown): boolean =>
    v === null || ["number", "string", "boolean"].includes(typeof v) || (Array.isArray(v) ? v.every(plain) : typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype && Object.values(v as object).every(plain));
  assert.ok(sim.host.events.length >= 4);
  for (const e of sim.host.events) assert.ok(plain(e), `event ${JSON.stringify(e)} holds only plain data`);
  // What the move recorded is what held at the move: g2 (file 1) took the owner's place, g1 (file 0) lost its rights.
  assert.equal(sim.host.events.find((e) => e.kind === "move"), { kind: "move", target: 1, src: 0, inodes: [0], promoted: [1], revoked: [0] });
});

test("a punch without a granted right is still caught, at the op that did it (the check is not merely lenient)", async () => {
  const { default: flawed } = await import("../examples/policies/flawed.mjs" as string);
  const sim = new Simulator({ policy: flawed });
  const checker = new Checker(sim.host);
  const ops = [
    { op: "create_vm", as: "owner", type: "default" },
    { op: "create_vm", as: "guest", type: "default" },
    { op: "create_guest_memfd", vm: "owner", as: "g", size: 65536, flags: [] },
    { op: "gmem_link", fd: "g", vm: "guest", as: "lent", perm: ["r"], mode: "share" },
    { op: "fallocate", fd: "lent", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: 4096 },
  ];
  const reports = ops.map((op) => (sim.apply([op]), checker.step()));
  assert.equal(reports.slice(0, 4).map((r) => r.security.length), [0, 0, 0, 0]);
  assert.equal(reports[4].security.map((v) => v.rule), ["2 owner control"]);
});

test("random fuzzing traces reach link-migrate, move, punch and close, each succeeding, under the default policy", () => {
  let full = 0;
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 60, sequences: DEFAULT_SEQUENCE_WEIGHTS }), (trace) => {
      const sim = new Simulator({ engine: "reference" });
      const results = sim.apply(trace);
      // A full story: a migrate link, the move, a punch through the linked name and its close, all ret 0, in order.
      for (let k = 0; k < trace.length; k++) {
        const link = trace[k];
        if (link.op !== "gmem_link" || link.mode !== "migrate" || results[k].ret !== 0) continue;
        const rest = trace.slice(k + 1).map((op, j) => ({ op, r: results[k + 1 + j] }));
        const move = rest.findIndex(({ op, r }) => op.op === "move_enc_context_from" && op.vm === link.vm && r.ret === 0);
        const punch = rest.findIndex(({ op, r }, j) => j > move && op.op === "fallocate" && op.fd === link.as && Array.isArray(op.mode) && r.ret === 0);
        const close = rest.findIndex(({ op, r }, j) => j > punch && op.op === "close" && op.fd === link.as && r.ret === 0);
        if (move >= 0 && punch > move && close > punch) full++;
      }
    }),
    { numRuns: 400, seed: 5 },
  );
  assert.ok(full >= 10, `full migrate-punch-close stories: ${full}`);
  assert.ok(Object.keys(sequenceArbitraries).includes("migrate_punch_close"));
});

test.run();
