/**
 * A policy is foreign code: every call to it goes through one wrapper
 * (src/kvm/ask.ts). Its requests are deeply frozen; a throw or a garbage answer
 * is a deny (EPERM) whose reason says so; a call back into its simulator is
 * refused (EDEADLK, or an error line) and changes nothing.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GmemError, Simulator, type Decision, type Policy } from "../src/index.js";
import { digestSnapshot } from "../src/core/digest.js";

function errnoOf(fn: () => unknown): { errno: string; message: string } | null {
  try {
    fn();
    return null;
  } catch (e) {
    assert.instance(e, GmemError, String(e));
    return { errno: (e as GmemError).errno, message: (e as GmemError).message };
  }
}

test("policy requests are deeply frozen: a policy that writes to req.window cannot widen what the engine enforces", () => {
  const seen: boolean[] = [];
  const policy: Policy = {
    name: "widener",
    link(req) {
      seen.push(Object.isFrozen(req), Object.isFrozen(req.window), Object.isFrozen(req.perm), Object.isFrozen(req.source), Object.isFrozen(req.source.window));
      try {
        (req.window as [number, number])[1] = 256;
      } catch {
        // Strict mode: the write throws; either way the engine keeps its own copy.
      }
      return { allow: true };
    },
  };
  const sim = new Simulator({ policy });
  const a = sim.createVm();
  const b = sim.createVm();
  const g = a.createGuestMemfd(1 << 20);
  const linked = g.link(b, ["r", "w", "alloc"], "share", { offset: 0, len: 4096 });
  assert.equal(seen, [true, true, true, true, true]);
  linked.allocate(0, 4096);
  const e = errnoOf(() => linked.allocate(4096, 4096));
  assert.is(e?.errno, "EINVAL", "the window is still one page");
  assert.match(e!.message, /outside the file's window \[0, 1\)/);
});

test("a policy that throws is a policy error: EPERM with the reason, nothing changed, and a trace goes on", () => {
  for (const engine of ["wasm", "reference"] as const) {
    const policy: Policy = {
      name: "thrower",
      fallocate() {
        throw new Error("boom");
      },
    };
    const sim = new Simulator({ engine, policy });
    const out = sim.apply([
      { op: "create_vm", as: "v", type: "default" },
      { op: "create_guest_memfd", vm: "v", as: "g", size: 65536, flags: 0 },
      { op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 0, len: 4096 },
      { op: "fstat", fd: "g" },
    ]);
    assert.equal(out.map(({ i: _, ...r }) => r), [{ ret: 0 }, { ret: 0 }, { errno: "EPERM" }, { ret: 0, size: 65536, blocks: 0 }]);
    assert.match((out[2] as { message?: string }).message!, /policy thrower: policy error: fallocate\(\) threw: boom/);
    assert.equal(sim.stats(), { host_pages: 0 });
  }
});

test("a garbage decision is a deny with the reason, never an allow", () => {
  const answers: unknown[] = [undefined, null, "allow", { allow: "yes" }, { allow: 1 }, { allow: true, perm: "rw" }, { allow: true, perm: ["r", "sudo"] }, { allow: false }];
  const reasons = [/returned nothing/, /returned object instead/, /returned string/, /"allow" is neither/, /"allow" is neither/, /perm is not an array/, /perm is not an array/, /"deny" without a reason/];
  answers.forEach((answer, n) => {
    const policy: Policy = { name: "garbage", link: () => answer as Decision, fallocate: () => answer as Decision };
    const sim = new Simulator({ policy });
    const a = sim.createVm();
    const b = sim.createVm();
    const g = a.createGuestMemfd(1 << 20);
    const before = digestSnapshot(sim.snapshot());
    for (const call of [() => g.link(b, ["r"], "share"), () => g.allocate(0, 4096)]) {
      const e = errnoOf(call);
      assert.is(e?.errno, "EPERM", `answer ${JSON.stringify(answer)}`);
      assert.match(e!.message, reasons[n]);
    }
    assert.is(digestSnapshot(sim.snapshot()), before);
  });
});

test("a policy that calls back into its simulator gets a clear error (EDEADLK, or an error line from apply) and changes nothing", () => {
  for (const engine of ["wasm", "reference"] as const) {
    const got: unknown[] = [];
    let sim: Simulator;
    const policy: Policy = {
      name: "meddler",
      fallocate() {
        got.push(sim.apply([{ op: "create_vm", as: "x", type: "default" }])[0]);
        got.push(errnoOf(() => sim.createVm()));
        got.push(errnoOf(() => sim.stats()));
        return { allow: true };
      },
    };
    sim = new Simulator({ engine, policy });
    const plain = new Simulator({ engine });
    for (const s of [sim, plain]) {
      const g = s.createVm().createGuestMemfd(1 << 20);
      g.allocate(0, 8192);
    }
    assert.is(digestSnapshot(sim.snapshot()), digestSnapshot(plain.snapshot()), "the callbacks changed nothing");
    assert.match((got[0] as { error: string }).error, /create_vm: called from inside policy meddler's fallocate\(\) decision: a policy must not call back into its simulator/);
    assert.is((got[1] as { errno: string }).errno, "EDEADLK");
    assert.match((got[2] as { message: string }).message, /stats: EDEADLK: called from inside policy meddler/);
    assert.equal(sim.apply([{ op: "fstat", fd: "x" }]).map((r) => (r as { error?: string }).error), ['line 1: fstat: fd: unknown name "x"']);
  }
});

test.run();
