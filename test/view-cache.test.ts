/** The host's file-view cache (src/kvm/views.ts): a view is made once per file state, never shown for another file, and a new host pays only for the slots it uses. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ViewCache } from "../src/kvm/views.js";
import type { GmemFile } from "../src/kvm/objects.js";

/** The fields makeFileView() reads, for a file of a given id. */
function file(id: number, window: [number, number] = [0, 16]): GmemFile {
  return { id, vm: { id: 1 }, inode: { id: 2 }, perm: new Set(["r", "w"]), owner: true, origin: "create", parent: null, migrating: false, window, donated: [] } as unknown as GmemFile;
}

test("a file's view is made once and reused until the file changes (drop), then remade from the file", () => {
  const c = new ViewCache();
  const f = file(3);
  const v = c.get(f);
  assert.is(c.get(f), v);
  assert.equal(v.window, [0, 16]);
  (f as unknown as { window: [number, number] }).window = [4, 8];
  c.drop(f);
  const w = c.get(f);
  assert.is.not(w, v);
  assert.equal(w.window, [4, 8]);
  assert.ok(Object.isFrozen(w) && Object.isFrozen(w.window) && Object.isFrozen(w.perm));
});

test("files sharing a slot (ids 5 and 1029) or far past the first slots each get their own view", () => {
  const c = new ViewCache();
  const a = file(5, [0, 1]);
  const b = file(1029, [0, 2]);
  const far = file(900, [0, 3]);
  assert.is(c.get(a).id, 5);
  assert.is(c.get(far).id, 900);
  assert.is(c.get(b).id, 1029);
  assert.equal(c.get(a).window, [0, 1]);
  assert.equal(c.get(b).window, [0, 2]);
  assert.equal(c.get(far).window, [0, 3]);
  // Dropping a file that no longer holds its slot leaves the slot's holder alone.
  const held = c.get(a);
  c.drop(b);
  assert.is(c.get(a), held);
});

test("a new cache holds only the slots its files use, not all of them", () => {
  const c = new ViewCache();
  c.get(file(2));
  c.get(file(6));
  const files = (c as unknown as { files: unknown[] }).files;
  assert.is(files.length, 7);
});

test.run();
