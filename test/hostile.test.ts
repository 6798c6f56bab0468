/**
 * Hostile input, as a property: random traces whose lines are valid ops,
 * mutated ops (Object.prototype names, misspelt fields, integers past 2^64,
 * fractions, deep nesting, overlong numbers, truncation) and junk, thrown at
 * replay (the CLI's reader) and at apply (JSON lines and op objects) on both
 * engines. Every counted line gets exactly one result, nothing throws, and a
 * line that fails (a trace error, or an errno) leaves the state digest unchanged.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Simulator } from "../src/index.js";
import { Host } from "../src/kvm/host.js";
import { makeCore } from "../src/api/simulator.js";
import { replayText } from "../src/trace/replay.js";
import { digestSnapshot } from "../src/core/digest.js";
import { opArbitrary, setupArbitrary } from "../src/fuzz/arbitraries.js";

const RUNS = Number(process.env.GMEMSIM_HOSTILE_RUNS ?? 150);

const PROTO_NAMES = ["__proto__", "toString", "valueOf", "constructor", "hasOwnProperty", "isPrototypeOf", "__defineGetter__"];
/** Raw JSON texts of values no field should accept as they are. */
const hostileValue = fc.oneof(
  fc.constantFrom(...PROTO_NAMES).map((s) => JSON.stringify(s)),
  fc.constantFrom(
    "18446744073709551616",
    "-18446744073709551617",
    "340282366920938463463374607431768211456",
    "9".repeat(60),
    '"0x1ffffffffffffffff"',
    '"' + "0".repeat(50) + '1"',
    "1.5",
    "1e400",
    "-0",
    "true",
    "null",
    "[]",
    "{}",
    '""',
    '"-"',
    '"0x"',
    '{"anon":"toString"}',
    '{"map":"__proto__"}',
    '{"__proto__":{"anon":"a0"}}',
    '{"anon":"a1","map":"m0"}',
    '{"anon":18446744073709551616}',
    '["KEEP_SIZE","valueOf"]',
    '["r","constructor"]',
    "[".repeat(40) + "]".repeat(40),
    "[".repeat(3000) + "]".repeat(3000),
  ),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map(String),
);
const hostileKey = fc.oneof(fc.constantFrom(...PROTO_NAMES, "expekt", "guest_memfd_ofset", "sizee", "", "op ", "expect"), fc.string({ maxLength: 6 }));

type Entry = [string, string];
const entriesOf = (op: Record<string, unknown>): Entry[] => Object.entries(op).map(([k, v]) => [k, JSON.stringify(v)]);
const text = (entries: Entry[]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;

/** One trace line: a valid op, a mutated one, or junk. */
const hostileLine = fc.oneof(
  { weight: 6, arbitrary: opArbitrary().map((op) => JSON.stringify(op)) },
  {
    weight: 3,
    arbitrary: fc.tuple(opArbitrary(), fc.nat(), hostileValue).map(([op, k, v]) => {
      const e = entriesOf(op);
      e[k % e.length][1] = v;
      return text(e);
    }),
  },
  { weight: 2, arbitrary: fc.tuple(opArbitrary(), hostileKey, hostileValue).map(([op, k, v]) => text([...entriesOf(op), [k, v]])) },
  { weight: 1, arbitrary: fc.tuple(opArbitrary(), fc.constantFrom(...PROTO_NAMES, "crate_vm", "")).map(([op, name]) => text([...entriesOf(op).filter(([k]) => k !== "op"), ["op", JSON.stringify(name)]])) },
  { weight: 1, arbitrary: fc.tuple(opArbitrary(), fc.nat()).map(([op, n]) => { const t = JSON.stringify(op); return t.slice(0, n % t.length); }) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 20 }).map((s) => s.replace(/\n/g, " ")), fc.constantFrom("[1,2]", "42", '"op"', "null", "{", '{"op":"stats"} x', "{}")) },
);

const counted = (line: string) => line.trim() !== "" && !line.trim().startsWith("#");

/** A failure changes nothing; a guest access's exit is a result, not a failure (it counts an exit). */
const failed = (op: unknown, r: Record<string, unknown>) => "error" in r || (r.errno !== undefined && op !== "vcpu_access");

const traceArb = fc.tuple(setupArbitrary, fc.array(hostileLine, { minLength: 10, maxLength: 40 })).map(([setup, body]) => [...setup.map((op) => JSON.stringify(op)), ...body]);

for (const engine of ["wasm", "reference"] as const) {
  test(`[${engine}] hostile lines through apply: one result per counted line, nothing throws, a failed line leaves the state digest unchanged`, () => {
    let failures = 0;
    let lines = 0;
    fc.assert(
      fc.property(traceArb, (trace) => {
        const asText = new Simulator({ engine });
        const asObjects = new Simulator({ engine });
        for (const line of trace) {
          lines++;
          // As a JSON line.
          const before = digestSnapshot(asText.snapshot());
          const out = asText.apply([line]);
          assert.is(out.length, counted(line) ? 1 : 0, line);
          const obj = safeParse(line);
          if (out.length && failed(opName(obj), out[0])) {
            failures++;
            assert.is(digestSnapshot(asText.snapshot()), before, `${line} -> ${JSON.stringify(out[0])}`);
          }
          // As an op object (JSON.parse makes "__proto__" an own key, as a hostile caller could).
          if (obj === undefined) continue;
          const beforeObj = digestSnapshot(asObjects.snapshot());
          const [r] = asObjects.apply([obj as object]);
          assert.ok(r, line);
          if (failed(opName(obj), r)) assert.is(digestSnapshot(asObjects.snapshot()), beforeObj, `${line} -> ${JSON.stringify(r)}`);
        }
      }),
      { numRuns: RUNS, seed: 10 },
    );
    assert.ok(failures > lines / 10, `${failures} failed lines of ${lines}: the generator reaches failures`);
  });

  test(`[${engine}] hostile traces through replay: exactly one result per counted line, in order, and the run goes on`, () => {
    fc.assert(
      fc.property(traceArb, (trace) => {
        const host = new Host(makeCore(engine));
        const recs = [...replayText(host, trace.join("\n"), 7)].flat();
        assert.equal(recs.map((r) => r.i), trace.filter(counted).map((_, i) => i));
        assert.equal(recs.map((r) => r.lineNo), trace.flatMap((l, n) => (counted(l) ? [n + 1] : [])));
      }),
      { numRuns: RUNS, seed: 11 },
    );
  });
}

const opName = (obj: unknown) => (obj !== null && typeof obj === "object" && Object.hasOwn(obj, "op") ? (obj as { op: unknown }).op : undefined);

function safeParse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

test.run();
