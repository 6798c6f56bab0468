/** Trace reading (SPEC §5): one result per counted line, errors with line numbers, C number rules, names. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/index.js";
import { replayText, resultLine } from "../src/trace/replay.js";
import { toBits, wrap } from "../src/trace/numbers.js";

function run(text: string) {
  const sim = new Simulator({ engine: "reference" });
  return [...replayText(sim.host, text)].flat();
}

test("blank and # lines are skipped; every other line gets exactly one result, counted from 0", () => {
  const recs = run('# a comment\n\n{"op":"create_vm","as":"v","type":"default"}\n   # indented comment\nnot json\n{"op":"nope"}\n');
  assert.equal(recs.map((r) => r.i), [0, 1, 2]);
  assert.equal(resultLine(recs[0]), { i: 0, ret: 0 });
});

test("a malformed line is an error naming its line number and what is wrong, and the run goes on", () => {
  const recs = run('{"op":"create_vm","as":"v","type":"default"}\n{"op": "create_vm", "as": \n{"op":"create_vm","as":"w"}\n{"op":"fallocate","fd":"nobody","mode":1,"offset":0,"len":4096}\n{"op":"fallocate","fd":"v","mode":1,"offset":1.5,"len":4096}\n{"op":"store","map":"v","offset":0,"value":256}\n{"op":"create_vm","as":"v","type":"default"}\n{"op":"check_extension","cap":"KVM_CAP_GUEST_MEMFD"}');
  const errors = recs.map((r) => (resultLine(r) as { error?: string }).error);
  assert.match(errors[1]!, /^line 2: invalid JSON/);
  assert.match(errors[2]!, /^line 3: create_vm: missing field "type"/);
  assert.match(errors[3]!, /^line 4: fallocate: fd: unknown name "nobody"/);
  assert.match(errors[4]!, /^line 5: fallocate: offset: 1.5 is not an integer/);
  assert.match(errors[5]!, /^line 6: store: map: "v" is not a map/);
  assert.match(errors[6]!, /^line 7: create_vm: as: "v" already names a live object/);
  assert.equal(resultLine(recs[7]), { i: 7, ret: 0, value: 1 });
});

test("numbers follow strtoull(..., 0) and wrap to the field's C type", () => {
  assert.is(toBits("x", "0x7ffffffffffff000"), 0x7ffffffffffff000n);
  assert.is(toBits("x", "010"), 8n);
  assert.is(wrap(toBits("x", "-1"), "u32"), 0xffffffffn);
  assert.is(wrap(toBits("x", "-4096"), "s64"), -4096n);
  assert.is(wrap(toBits("x", 18446744073709551615n), "s64"), -1n);
  assert.throws(() => toBits("len", "18446744073709551616"), /does not fit in 64 bits/);
  assert.throws(() => toBits("len", true), /boolean/);
  assert.throws(() => toBits("len", "12abc"), /strtoull/);
});

test("a dead name acts as fd -1 (EBADF); a dead map is a trace error; a dead name may be bound again", () => {
  const recs = run(
    [
      '{"op":"create_vm","as":"v","type":"default"}',
      '{"op":"create_guest_memfd","vm":"v","as":"g","size":4097,"flags":0}',
      '{"op":"fstat","fd":"g"}',
      '{"op":"create_guest_memfd","vm":"v","as":"g","size":65536,"flags":["MMAP","INIT_SHARED"]}',
      '{"op":"mmap","fd":"g","as":"m","offset":0,"len":4096,"prot":"rw","shared":true}',
      '{"op":"munmap","map":"m"}',
      '{"op":"load","map":"m","offset":0}',
      '{"op":"destroy_vm","vm":"v"}',
      '{"op":"create_guest_memfd","vm":"v","as":"h","size":4096,"flags":0}',
      '{"op":"fallocate","fd":"g","mode":"KEEP_SIZE","offset":0,"len":4096}',
    ].join("\n"),
  );
  const lines = recs.map(resultLine);
  assert.equal(lines[1], { i: 1, errno: "EINVAL" });
  assert.equal(lines[2], { i: 2, errno: "EBADF" });
  assert.equal(lines[3], { i: 3, ret: 0 });
  assert.match((lines[6] as unknown as { error: string }).error, /map "m" has been unmapped/);
  assert.equal(lines[8], { i: 8, errno: "EBADF" });
  assert.equal(lines[9], { i: 9, ret: 0 }, "the gmem file pins its VM, so fallocate still works");
});

test("flags accept numbers, names with or without prefix, and arrays OR-ed", () => {
  const recs = run(
    [
      '{"op":"create_vm","as":"v","type":"default"}',
      '{"op":"create_guest_memfd","vm":"v","as":"a","size":4096,"flags":["GUEST_MEMFD_FLAG_MMAP", 2]}',
      '{"op":"create_guest_memfd","vm":"v","as":"b","size":4096,"flags":"MAPPABLE"}',
    ].join("\n"),
  );
  assert.equal(resultLine(recs[1]), { i: 1, ret: 0 });
  assert.match((resultLine(recs[2]) as unknown as { error: string }).error, /unknown flag "MAPPABLE"/);
});

test.run();
