/** The host's file-view cache (src/kvm/views.ts): a view is made once per file state, never shown for another file, and a new host pays only for the slots it uses. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ViewCache } from "../src/kvm/views.js";
import type { GmemFile } from "../src/kvm/objects.js";
import { Simulator } from "../src/api/simulator.js";
import type { FileView, ForeignRequest, Policy } from "../src/policy/types.js";
import { defaultPolicy } from "../src/policy/default.js";

/** The fields a file's view is made from, for a file of a given id. */
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
  // Kept unfrozen: askPolicy() deeply freezes what any policy but gmemsim's own (which only reads) is shown.
  assert.ok(!Object.isFrozen(w));
});

test("a cached view is deeply frozen whenever a policy other than gmemsim's own sees it, the first time and after", () => {
  const seen: boolean[] = [];
  const frozen = (v: FileView) => Object.isFrozen(v) && Object.isFrozen(v.window) && Object.isFrozen(v.perm) && Object.isFrozen(v.donated) && v.donated.every((d) => Object.isFrozen(d));
  const policy: Policy = {
    name: "looker",
    fallocate(req) {
      seen.push(frozen(req.file));
      try {
        (req.file.window as unknown as number[])[1] = 0;
      } catch {
        // Strict mode: the write throws.
      }
      return { allow: true };
    },
  };
  const sim = new Simulator({ policy });
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(1 << 20);
  const lent = g.link(sim.createVm(), ["r", "w", "alloc"], "share", { offset: 0, len: 16 * 4096 });
  lent.allocate(0, 4096);
  lent.allocate(4096, 4096);
  assert.equal(seen, [true, true]);
  // The window the engine enforces is still the link's: a page past it is refused.
  assert.throws(() => lent.allocate(16 * 4096, 4096));
});

test("a file's view shows its donated windows as the file's own list: frozen for a policy, it still changes with the next donation, and the view shown before keeps what it showed", () => {
  const shown: FileView["donated"][] = [];
  const policy: Policy = {
    ...defaultPolicy,
    name: "looker",
    fallocate(req) {
      shown.push(req.file.donated);
      return defaultPolicy.fallocate!(req);
    },
  };
  const sim = new Simulator({ policy });
  const vm = sim.createVm();
  const g = vm.createGuestMemfd(1 << 20);
  const other = sim.createVm();
  g.link(other, ["r"], "donate", { offset: 0, len: 4096 });
  g.allocate(8 * 4096, 4096);
  g.link(other, ["r"], "donate", { offset: 4096, len: 4096 });
  g.allocate(9 * 4096, 4096);
  // The second window touches the first: the list holds them merged (src/ranges.ts), the first view still [0, 1).
  assert.equal(shown, [[[0, 1]], [[0, 2]]]);
  assert.ok(Object.isFrozen(shown[0]) && Object.isFrozen(shown[0][0]), "a policy other than gmemsim's own sees it frozen");
  // The kernel layer reads its own list, frozen or not: a fallocate into either window is refused.
  assert.throws(() => g.allocate(4096, 4096), /donated/);
  assert.throws(() => g.allocate(0, 4096), /donated/);
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

test("the foreign hook's request is deeply frozen for a policy of the caller's, and plain for gmemsim's own (which only reads)", () => {
  const seen: boolean[] = [];
  const record = (req: ForeignRequest) => {
    seen.push(Object.isFrozen(req.file) && Object.isFrozen(req.file.window) && Object.isFrozen(req.file.perm) && Object.isFrozen(req.vm));
    return "map" as const;
  };
  const sim = new Simulator({ policy: { name: "looker", foreign: record } });
  sim.createVm().createGuestMemfd(1 << 20);
  const own = defaultPolicy.foreign;
  defaultPolicy.foreign = record;
  try {
    new Simulator().createVm().createGuestMemfd(1 << 20);
  } finally {
    defaultPolicy.foreign = own;
  }
  assert.equal(seen, [true, false]);
});

test.run();
