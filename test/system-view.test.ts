/**
 * A system fd's view as policies see it (SystemFileView: the VMs bound with
 * their rights, the VMs unbound) is kept as bindings change
 * (SystemGmem.boundList, unboundList), not walked per request: after every op
 * of random runs of binds, unbinds, memslots, closes, destroys and moves it
 * equals the view walked from the fd's map of views, under gmemsim's own
 * policy (lists changed in place) and under a policy of the caller's (shown
 * the lists frozen; what it was shown never changes after).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Simulator } from "../src/api/simulator.js";
import { SystemGmem } from "../src/kvm/objects.js";
import { permList } from "../src/kvm/perm.js";
import { systemFileView } from "../src/kvm/views.js";
import { defaultSystemPolicy } from "../src/policy/system.js";
import type { Policy, SystemFileView } from "../src/policy/types.js";

const VMS = ["a", "b", "c", "d"];
const vm = fc.constantFrom(...VMS);
const op = fc.oneof(
  vm.chain((v) => fc.subarray(["r", "w", "x"], { minLength: 1 }).map((perm) => ({ op: "gmem_bind", fd: "g", vm: v, perm }))),
  vm.map((v) => ({ op: "gmem_unbind", fd: "g", vm: v })),
  vm.map((v) => ({ op: "set_user_memory_region2", vm: v, slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 4096, guest_memfd: "g" })),
  vm.map((v) => ({ op: "destroy_vm", vm: v })),
  fc.tuple(vm, vm).map(([v, src]) => ({ op: "move_enc_context_from", vm: v, src })),
  fc.constant({ op: "mmap", fd: "g", as: "m", offset: 0, len: 4096, prot: "rw", shared: true }),
  fc.constant({ op: "close", fd: "g" }),
);

/** The view as it was made before: walked from the fd's map of views and its set of unbound VMs. */
function walked(s: SystemGmem): Pick<SystemFileView, "bound" | "unbound"> {
  return { bound: [...s.views].map(([v, f]) => ({ vm: v.id, perm: permList(f.perm) })), unbound: [...s.unbound].map((v) => v.id) };
}

function runs(policy: Policy): void {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const shown: Array<{ view: SystemFileView["bound"] | SystemFileView["unbound"]; json: string }> = [];
      const looking: Policy = {
        ...policy,
        bind(req) {
          if (req.kind === "vm") for (const l of [req.file.bound, req.file.unbound]) shown.push({ view: l, json: JSON.stringify(l) });
          return policy.bind!(req);
        },
      };
      const sim = new Simulator({ engine: "reference", design: "system", policy: policy === defaultSystemPolicy ? undefined : looking });
      sim.apply([{ op: "create_guest_memfd_system", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] }, ...VMS.map((as) => ({ op: "create_vm", as, type: "default" }))]);
      for (const o of ops) {
        sim.apply([o]);
        for (const inode of sim.host.inodes) {
          if (!(inode.holder instanceof SystemGmem)) continue;
          const v = systemFileView(inode.holder);
          assert.equal({ bound: v.bound, unbound: v.unbound }, walked(inode.holder), `after ${JSON.stringify(o)}`);
        }
      }
      for (const s of shown) assert.is(JSON.stringify(s.view), s.json, "a list a policy was shown is never changed after");
    }),
    { numRuns: 400, seed: 20261203 },
  );
}

test("under gmemsim's own system policy, the fd's lists equal the walked view after every op", () => {
  runs(defaultSystemPolicy);
});

test("under a policy of the caller's, shown the lists frozen, they equal the walked view and what it was shown stays as it was", () => {
  runs({ ...defaultSystemPolicy, name: "caller's" });
});

test("a move from a bound VM revokes its view's rights: the fd's list shows them gone, as the walked view does", () => {
  const sim = new Simulator({ engine: "reference", design: "system" });
  sim.apply([
    { op: "create_guest_memfd_system", as: "g", size: 65536, flags: ["MMAP", "INIT_SHARED"] },
    { op: "create_vm", as: "a", type: "default" },
    { op: "create_vm", as: "b", type: "default" },
    { op: "gmem_bind", fd: "g", vm: "a" },
    { op: "gmem_bind", fd: "g", vm: "b" },
    ...["a", "b"].map((v) => ({ op: "set_user_memory_region2", vm: v, slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: 4096, guest_memfd: "g" })),
  ]);
  const [moved] = sim.apply([{ op: "move_enc_context_from", vm: "b", src: "a" }]);
  assert.is(moved.ret, 0);
  const s = [...sim.host.inodes].map((i) => i.holder).find((h): h is SystemGmem => h instanceof SystemGmem)!;
  const v = systemFileView(s);
  assert.equal({ bound: v.bound, unbound: v.unbound }, walked(s));
  assert.equal(v.bound.map((b) => b.perm), [[], ["r", "w", "x"]], "a's rights went with the move; b keeps its own");
});

test.run();
