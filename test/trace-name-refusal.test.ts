/**
 * A name refused for what it is bound to (a reference to a name that names
 * nothing, an "as" that names a live object) comes back from the reader as the
 * trace error's sentence, not thrown (random traces hit these on a third of
 * their ops); the sentence, and which field's error wins, are as when thrown.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Simulator } from "../src/index.js";
import { readArgs } from "../src/trace/fields.js";
import { Names } from "../src/trace/names.js";
import { OP_DEFS } from "../src/trace/opdefs.js";
import { TraceError } from "../src/errors.js";

test("readArgs returns an unknown name's sentence for a reference of each kind, and an 'as' already live's, without throwing", () => {
  const names = new Names();
  const read = (op: string, line: Record<string, unknown>) => readArgs(op, OP_DEFS[op], line, names);
  assert.is(read("vcpu_access", { vm: "nope", gpa: 0, access: "read" }), 'vm: unknown name "nope"');
  assert.is(read("close", { fd: "g9" }), 'fd: unknown name "g9"');
  assert.is(read("load", { map: "m1", offset: 0 }), 'map: unknown name "m1"');
  assert.is(read("unpin", { pin: "p0" }), 'pin: unknown name "p0"');
  names.bind("m9", null, "map");
  assert.is(read("load", { map: "m9", offset: 0 }), 'map: map "m9" was never created');
  // An fd or a number: a name only when it is not a number.
  assert.is(read("set_user_memory_region2", { vm: "v", slot: 0, flags: 0, guest_phys_addr: 0, memory_size: 0, userspace_addr: 0, guest_memfd: "g" }), 'vm: unknown name "v"');
  const sim = new Simulator();
  sim.apply([{ op: "create_vm", as: "v0", type: "default" }]);
  // A map must be a live map: one unmapped, one never created (a failed mmap) and a name of something else.
  const maps = sim.apply([
    { op: "anon_map", as: "m0", len: 4096 },
    { op: "munmap", map: "m0" },
    { op: "load", map: "m0", offset: 0 },
    { op: "anon_map", as: "m1", len: 0 },
    { op: "load", map: "m1", offset: 0 },
    { op: "load", map: "v0", offset: 0 },
  ]) as Array<{ error?: string }>;
  assert.equal(maps.slice(2).filter((_, k) => k !== 1).map((r) => r.error), ['line 3: load: map: map "m0" has been unmapped', 'line 5: load: map: map "m1" was never created', 'line 6: load: map: "v0" is not a map']);
  const live = sim.apply([{ op: "create_vm", as: "v0", type: "default" }])[0] as { error?: string };
  assert.is(live.error, 'line 1: create_vm: as: "v0" already names a live object');
});

test("fields are still read in order: a malformed field before an unknown name is the error, thrown as before", () => {
  const names = new Names();
  const line = { vm: "v", slot: "not a number", flags: 0, guest_phys_addr: 0, memory_size: 0, userspace_addr: 0, guest_memfd: "g" };
  assert.throws(() => readArgs("set_user_memory_region2", OP_DEFS.set_user_memory_region2, { ...line, vm: 7 }, names), (e: unknown) => e instanceof TraceError && /^vm: expected a name/.test((e as Error).message));
  const sim = new Simulator();
  sim.apply([{ op: "create_vm", as: "v", type: "default" }]);
  const [r] = sim.apply([{ op: "set_user_memory_region2", ...line }]) as Array<{ error?: string }>;
  assert.match(r.error ?? "", /^line 1: set_user_memory_region2: slot: /);
  const [u] = sim.apply([{ op: "set_user_memory_region2", ...line, slot: 0 }]) as Array<{ error?: string }>;
  assert.is(u.error, 'line 1: set_user_memory_region2: guest_memfd: unknown name "g"');
  const [n] = sim.apply([{ op: "set_user_memory_region2", ...line, slot: 0, guest_memfd: "12" }]) as Array<{ error?: string; errno?: string }>;
  assert.is(n.error, undefined, "a number string is an fd number, not a name");
});

test.run();
