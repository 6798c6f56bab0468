/**
 * JavaScript bytes per object at scale: what a user holds for each VM, gmem
 * file (with its inode) and host mapping made through the public API, handles
 * included, measured on the heap after full garbage collections (the figure
 * `gmemsim bench --tiers` prints). Per object, a VM, a file or a mapping stays
 * under 500 bytes, beside what the core keeps in linear memory.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { jsBytesPerObject } from "../bench/tiers.js";

const LIMIT = 500;

test("a VM, a gmem file with its inode and a mapping each hold under 500 bytes of JavaScript (5,000 of each, handles kept)", () => {
  // The first run also pays for compiling the creation paths once. Of the next two, the smaller figure per kind:
  // code the optimizer finishes on its own thread lands on the heap during whichever step it happens to end in.
  jsBytesPerObject(1000);
  const [a, b] = [jsBytesPerObject(5000), jsBytesPerObject(5000)];
  const m = { vm: Math.min(a.vm, b.vm), gmem_file: Math.min(a.gmem_file, b.gmem_file), mapping: Math.min(a.mapping, b.mapping) };
  assert.ok(m.vm < LIMIT, `a VM holds ${m.vm.toFixed(0)} B of JavaScript (limit ${LIMIT})`);
  assert.ok(m.gmem_file < LIMIT, `a gmem file with its inode holds ${m.gmem_file.toFixed(0)} B of JavaScript (limit ${LIMIT})`);
  assert.ok(m.mapping < LIMIT, `a mapping holds ${m.mapping.toFixed(0)} B of JavaScript (limit ${LIMIT})`);
});

test.run();
