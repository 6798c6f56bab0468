/**
 * Hot lines and hot ops (src/trace/hot-lines.ts) skip the full reader only
 * where it would give the same result: each line below is run on the hot path
 * and, with an empty "expect" added (which no hot path takes), through the
 * full reader, on twin simulators; results and states must be identical.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/index.js";
import { digestSnapshot } from "../src/core/digest.js";

const SETUP = [
  '{"op":"create_vm","as":"a","type":"default"}',
  '{"op":"create_guest_memfd","vm":"a","as":"g","size":65536,"flags":["MMAP","INIT_SHARED"]}',
  '{"op":"set_user_memory_region2","vm":"a","slot":0,"flags":"GUEST_MEMFD","guest_phys_addr":0,"memory_size":65536,"guest_memfd":"g"}',
  '{"op":"create_guest_memfd","vm":"a","as":"gone","size":65536,"flags":0}',
  '{"op":"close","fd":"gone"}',
  '{"op":"anon_map","as":"m","len":4096}',
  '{"op":"create_vm","as":"dead","type":99}',
];

/** Hot-shaped lines, valid and not: every outcome the full reader can give. */
const LINES = [
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"write","value":7}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"read"}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"read","value":3}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"write"}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"write","value":256}',
  '{"op":"vcpu_access","vm":"a","gpa":9007199254740991,"access":"exec"}',
  '{"op":"vcpu_access","vm":"a","gpa":1048576,"access":"read"}',
  '{"op":"vcpu_access","vm":"nobody","gpa":0,"access":"read"}',
  '{"op":"vcpu_access","vm":"dead","gpa":0,"access":"read"}',
  '{"op":"vcpu_access","vm":"g","gpa":0,"access":"read"}',
  '{"op":"vcpu_access","vm":"a","gpa":0,"access":"read","private":true}',
  '{"op":"fallocate","fd":"g","mode":1,"offset":8192,"len":4096}',
  '{"op":"fallocate","fd":"g","mode":3,"offset":4096,"len":4096}',
  '{"op":"fallocate","fd":"g","mode":1,"offset":4097,"len":4096}',
  '{"op":"fallocate","fd":"g","mode":1,"offset":0,"len":0}',
  '{"op":"fallocate","fd":"g","mode":1,"offset":61440,"len":8192}',
  '{"op":"fallocate","fd":"g","mode":2147483648,"offset":0,"len":4096}',
  '{"op":"fallocate","fd":"g","mode":4294967297,"offset":0,"len":4096}',
  '{"op":"fallocate","fd":"gone","mode":1,"offset":0,"len":4096}',
  '{"op":"fallocate","fd":"a","mode":1,"offset":0,"len":4096}',
  '{"op":"fallocate","fd":"m","mode":1,"offset":0,"len":4096}',
  '{"op":"fallocate","fd":"g","mode":1,"offset":9007199254740991,"len":4096}',
  // Hot-looking lines the reader must refuse or read another way: each takes the full reader.
  '{"op":"vcpu_access","vm":"a","gpa":1234567890123456,"access":"read"}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"reads"}',
  '{"op":"vcpu_access","vm":"\\u0061","gpa":4096,"access":"read"}',
  '{"op":"fallocate","fd":"g","mode":1,"offset":-4096,"len":4096}',
  '{"op":"fallocate","fd":"g","mode":1,"offset":4096,"len":4096.0}',
];

/** Hot-looking lines that are no JSON (or give a key twice): the exact reader refuses them, whatever the hot reader makes of them. */
const BROKEN = [
  '{"op":"vcpu_access","vm":"a","gpa":04096,"access":"read"}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"write","value":07}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"write","value":}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"read"}x',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"read"',
  '{"op":"fallocate","fd":"g","mode":01,"offset":0,"len":4096}',
  '{"op":"fallocate","fd":"g","mode":1,"offset":4096,"len":4096,"len":0}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"read","gpa":0}',
];

function twins(): [Simulator, Simulator] {
  const s = [new Simulator({ engine: "reference" }), new Simulator({ engine: "reference" })] as [Simulator, Simulator];
  for (const sim of s) sim.apply(SETUP);
  return s;
}

/** The same line with an empty "expect", which changes no result and which no hot path takes. */
const slow = (line: string) => '{"expect":{},' + line.slice(1);

test("a hot JSONL line gives the full reader's result and state, errors and their sentences included", () => {
  const [hot, full] = twins();
  for (const line of LINES) {
    const [h] = hot.apply([line]);
    const [f] = full.apply([slow(line)]);
    assert.equal({ ...h, message: h.message }, { ...f, message: f.message }, line);
    assert.is(digestSnapshot(hot.snapshot()), digestSnapshot(full.snapshot()), line);
  }
});

test("a hot-looking line that is no JSON is refused as invalid JSON, and changes nothing", () => {
  const [sim] = twins();
  const before = digestSnapshot(sim.snapshot());
  for (const line of BROKEN) {
    const [r] = sim.apply([line]);
    assert.match(String(r.error), /^line 1: invalid JSON: /, line);
  }
  assert.is(digestSnapshot(sim.snapshot()), before);
});

test("a hot op object gives the full reader's result and state", () => {
  const [hot, full] = twins();
  const extra = [{ op: "vcpu_access", vm: "a", gpa: -4096, access: "read" }, { op: "vcpu_access", vm: "a", gpa: 0, access: "read", private: false }, { op: "vcpu_access", vm: "a", gpa: 0.5, access: "read" }];
  for (const op of [...LINES.map((l) => JSON.parse(l) as object), ...extra]) {
    const [h] = hot.apply([op]);
    const [f] = full.apply([slow(JSON.stringify(op))]);
    assert.equal({ ...h, message: h.message }, { ...f, message: f.message }, JSON.stringify(op));
    assert.is(digestSnapshot(hot.snapshot()), digestSnapshot(full.snapshot()), JSON.stringify(op));
  }
});

test.run();
