/**
 * Strict trace input (SPEC §5): every op reads its fields from one declaration
 * (src/trace/opdefs.ts); a field it does not take is an error naming it, with a
 * suggestion; Object.prototype names are plain names; hostile JSON is bounded.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { Simulator } from "../src/index.js";
import { OP_DEFS } from "../src/trace/opdefs.js";
import { OPS } from "../src/trace/ops.js";
import { MAX_DEPTH, MAX_NUMBER_CHARS } from "../src/trace/json.js";
import { digestSnapshot } from "../src/core/digest.js";

const SETUP = [
  { op: "create_vm", as: "a", type: "default" },
  { op: "create_vm", as: "b", type: "default" },
  { op: "create_guest_memfd", vm: "a", as: "g", size: 2097152, flags: ["MMAP", "INIT_SHARED"] },
  { op: "anon_map", as: "m", len: 65536 },
];

function sim(engine: "wasm" | "reference" = "reference") {
  const s = new Simulator({ engine });
  for (const r of s.apply(SETUP)) assert.is(r.ret, 0, JSON.stringify(r));
  return s;
}

const errorOf = (r: object) => (r as { error?: string }).error ?? "";

test('a field the op does not take is a trace error naming it, with the nearest known field: "guest_memfd_ofset" is never read as 0', () => {
  const s = sim();
  const before = digestSnapshot(s.snapshot());
  const [r] = s.apply([{ op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", memory_size: 4096, guest_memfd: "g", guest_memfd_ofset: 8192 }]);
  assert.match(errorOf(r), /guest_memfd_ofset: unknown field of set_user_memory_region2 \(did you mean guest_memfd_offset\?\)/);
  assert.is(digestSnapshot(s.snapshot()), before, "nothing ran");
  const [far] = s.apply([{ op: "fstat", fd: "g", zzzzzzzz: 1 }]);
  assert.match(errorOf(far), /zzzzzzzz: unknown field of fstat$/, "no suggestion when nothing is near");
});

test('every op takes "expect"; a misspelt "expekt" is an unknown field, never a check switched off', () => {
  const s = sim();
  for (const name of Object.keys(OP_DEFS)) {
    const [r] = s.apply([{ op: name, expekt: { ret: 0 } }]);
    assert.match(errorOf(r), new RegExp(`expekt: unknown field of ${name} \\(did you mean expect\\?\\)`));
  }
  const [ok] = s.apply([{ op: "fstat", fd: "g", expect: { ret: 0 } }]);
  assert.is(ok.ret, 0);
  const [bad] = s.apply([{ op: "fstat", fd: "g", expect: 0 }]);
  assert.match(errorOf(bad), /expect: expected a result object, got 0/);
});

test("__proto__ and Object.prototype names are plain unknown names: as ops, fields, flags and object names", () => {
  const s = sim();
  const before = digestSnapshot(s.snapshot());
  const lines = [
    '{"op":"toString"}',
    '{"op":"__proto__"}',
    '{"op":"hasOwnProperty","fd":"g"}',
    '{"op":"fstat","__proto__":{"fd":"g"}}',
    '{"op":"fstat","fd":"g","constructor":1}',
    '{"op":"create_guest_memfd","vm":"a","as":"h","size":4096,"flags":"valueOf"}',
    '{"op":"fallocate","fd":"toString","mode":1,"offset":0,"len":4096}',
    '{"op":"check_extension","cap":"toString"}',
    '{"__proto__":{"op":"fstat","fd":"g"}}',
  ];
  const out = s.apply(lines);
  assert.is(out.length, lines.length);
  const errors = out.map(errorOf);
  assert.match(errors[0], /unknown op "toString"/);
  assert.match(errors[1], /unknown op "__proto__"/);
  assert.match(errors[2], /unknown op "hasOwnProperty"/);
  assert.match(errors[3], /__proto__: unknown field of fstat/);
  assert.match(errors[4], /constructor: unknown field of fstat/);
  assert.match(errors[5], /flags: unknown flag "valueOf"/);
  assert.match(errors[6], /fd: unknown name "toString"/);
  assert.match(errors[7], /cap: unknown capability "toString"/);
  assert.match(errors[8], /missing "op"/);
  assert.is(digestSnapshot(s.snapshot()), before);
});

test("a key given twice is an error, not a silent last-one-wins", () => {
  const s = sim();
  const [r] = s.apply(['{"op":"fstat","fd":"nobody","fd":"g"}']);
  assert.match(errorOf(r), /invalid JSON: duplicate key "fd" at column 29/);
});

test("struct padding the kernel ignores (reserved, pad1, pad2) may be given and is ignored", () => {
  const s = sim();
  const out = s.apply([
    { op: "create_guest_memfd", vm: "a", as: "h", size: 4096, reserved: [0, 0, 0, 0, 0, 0] },
    { op: "set_user_memory_region2", vm: "b", slot: 3, guest_phys_addr: 0, memory_size: 4096, userspace_addr: { map: "m" }, pad1: 0, pad2: [] },
    { op: "fstat", fd: "g", pad1: 0 },
  ]);
  assert.equal(out.slice(0, 2).map((r) => r.ret), [0, 0]);
  assert.match(errorOf(out[2]), /pad1: unknown field of fstat/);
});

test("nesting deeper than MAX_DEPTH and number literals longer than MAX_NUMBER_CHARS are errors that say so, and the run goes on", () => {
  const s = sim();
  const deep = (n: number) => `{"op":"fstat","fd":"g","x":${"[".repeat(n - 1)}${"]".repeat(n - 1)}}`;
  const out = s.apply([
    "[".repeat(5000) + "]".repeat(5000),
    deep(MAX_DEPTH),
    deep(MAX_DEPTH + 1),
    `{"op":"fstat","fd":${"9".repeat(MAX_NUMBER_CHARS + 1)}}`,
    `{"op":"fallocate","fd":"g","mode":1,"offset":"${"0".repeat(MAX_NUMBER_CHARS + 1)}","len":4096}`,
    { op: "fstat", fd: "g" },
  ]);
  assert.match(errorOf(out[0]), new RegExp(`invalid JSON: nesting deeper than ${MAX_DEPTH} levels`));
  assert.match(errorOf(out[1]), /x: unknown field of fstat/, "the limit itself parses");
  assert.match(errorOf(out[2]), /nesting deeper/);
  assert.match(errorOf(out[3]), new RegExp(`a number longer than ${MAX_NUMBER_CHARS} characters`));
  assert.match(errorOf(out[4]), new RegExp(`offset: a number string longer than ${MAX_NUMBER_CHARS} characters`));
  const { i: _, ...last } = out[5];
  assert.equal(last, { ret: 0, size: 2097152, blocks: 0 });
});

test("a trace error creates nothing and binds no name: the same name can be created afterwards", () => {
  const s = sim();
  const before = digestSnapshot(s.snapshot());
  const out = s.apply([
    { op: "create_guest_memfd", vm: "a", as: "x", size: "lots", flags: 0 },
    { op: "gmem_link", fd: "g", vm: "b", as: "y", perm: ["rw"], mode: "share" },
    { op: "mmap", fd: "g", as: "z", offset: 0, len: 4096, prot: "rwq", shared: true },
    { op: "fstat", fd: "x" },
  ]);
  assert.equal(out.map((r) => errorOf(r) !== ""), [true, true, true, true]);
  assert.match(errorOf(out[3]), /unknown name "x"/, "no placeholder was bound");
  assert.is(digestSnapshot(s.snapshot()), before);
});

test("a set_user_memory_region2 that fails creates no {anon: NAME} region; one that succeeds creates it where its memslot points", () => {
  for (const engine of ["wasm", "reference"] as const) {
    const s = sim(engine);
    const before = digestSnapshot(s.snapshot());
    const failed = s.apply([
      { op: "set_user_memory_region2", vm: "a", slot: 0, guest_phys_addr: 1, memory_size: 4096, userspace_addr: { anon: "r" } },
      { op: "set_user_memory_region2", vm: "a", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 4096, guest_memfd: 7, userspace_addr: { anon: "r" } },
      { op: "store", map: "r", offset: 0, value: 1 },
    ]);
    assert.equal(failed.map((r) => r.errno ?? errorOf(r)), ["EINVAL", "EBADF", 'line 3: store: map: unknown name "r"']);
    assert.is(digestSnapshot(s.snapshot()), before, `${engine}: the failed ops changed nothing`);
    const ok = s.apply([
      { op: "set_user_memory_region2", vm: "a", slot: 0, guest_phys_addr: 0, memory_size: 8192, userspace_addr: { anon: "r", offset: 4096 } },
      { op: "store", map: "r", offset: 8192, value: 9 },
      { op: "vcpu_access", vm: "a", gpa: 4096, access: "read" },
    ]);
    assert.equal(ok.map(({ i: _, ...r }) => r), [{ ret: 0 }, { ret: 0 }, { ret: 0, value: 9 }], engine);
  }
});

test("the op declaration is plain data with no runtime import, and every op in it has a runner, a doc, errnos and an example that runs", () => {
  const src = readFileSync(new URL("../src/trace/opdefs.ts", import.meta.url), "utf8");
  assert.equal(src.match(/^import (?!type ).*$/gm), null, "opdefs.ts imports nothing at run time");
  assert.equal(Object.keys(OPS).sort(), Object.keys(OP_DEFS).sort());
  for (const [name, def] of Object.entries(OP_DEFS)) {
    assert.ok(def.doc.length > 10, name);
    assert.ok(Array.isArray(def.errnos), name);
    assert.is(def.example.op, name);
    const s = sim();
    const [r] = s.apply([def.example as object]);
    assert.is(errorOf(r), "", `${name}'s example: ${JSON.stringify(r)}`);
    for (const [field, f] of Object.entries(def.fields)) assert.ok(f.doc.length > 2, `${name}.${field}`);
  }
});

test.run();
