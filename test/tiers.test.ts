/**
 * The two tiers of the API have one semantics: seeded random traces run through
 * the batch tier (Simulator.apply, trace ops) and through the object tier (Vm,
 * GmemFile, Mapping handles, which throw GmemError) give the same result for
 * every op and the same final state.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { GmemError, Simulator, type GmemFile, type Mapping, type Vm } from "../src/index.js";
import { digestSnapshot } from "../src/core/digest.js";
import { traceArbitrary, systemTraceArbitrary, DEFAULT_WEIGHTS, SYSTEM_WEIGHTS } from "../src/fuzz/arbitraries.js";
import { toBits, wrap } from "../src/trace/numbers.js";
import type { Perm } from "../src/kvm/perm.js";

type Op = Record<string, any>;
type Handle = Vm | GmemFile | Mapping;
const NOT_IN_OBJECT_API = ["read", "pread", "ftruncate", "memfd"];
const weights = Object.fromEntries(Object.keys(DEFAULT_WEIGHTS).map((k) => [k, NOT_IN_OBJECT_API.includes(k) ? 0 : (DEFAULT_WEIGHTS as Record<string, number>)[k]]));

const systemWeights = Object.fromEntries(Object.keys(SYSTEM_WEIGHTS).map((k) => [k, NOT_IN_OBJECT_API.includes(k) ? 0 : (SYSTEM_WEIGHTS as Record<string, number>)[k]]));

const u64 = (x: unknown) => wrap(toBits("x", x as never), "u64");
const s64 = (x: unknown) => wrap(toBits("x", x as never), "s64");

/** Runs one trace op through the handles; null when the op cannot be said with them (the batch tier answers with a trace error). */
function viaObjects(sim: Simulator, names: Map<string, Handle>, op: Op): Record<string, unknown> | null {
  const get = <T extends Handle>(name: unknown, kind: string): T | null => {
    const h = names.get(name as string);
    return h && h.constructor.name === kind ? (h as T) : null;
  };
  const vm = (k = "vm") => get<Vm>(op[k], "Vm");
  const file = (k = "fd") => get<GmemFile>(op[k], "GmemFile");
  const map = (k = "map") => get<Mapping>(op[k], "Mapping");
  const bind = (h: Handle) => names.set(op.as, h);
  const attempt = (fn: () => Record<string, unknown> | void): Record<string, unknown> => {
    try {
      return { ret: 0, ...(fn() ?? {}) };
    } catch (e) {
      if (e instanceof GmemError) return { errno: e.errno };
      throw e;
    }
  };
  switch (op.op) {
    case "create_vm":
      if (names.has(op.as) || (op.type !== "default" && op.type !== "sw_protected")) return null;
      return attempt(() => void bind(sim.createVm(op.type)));
    case "destroy_vm":
      return vm() && attempt(() => vm()!.destroy());
    case "create_guest_memfd":
      if (names.has(op.as) || !vm()) return null;
      return attempt(() => void bind(vm()!.createGuestMemfd(u64(op.size), op.flags)));
    case "close":
      return file() && attempt(() => file()!.close());
    case "fstat":
      return file() && attempt(() => file()!.fstat());
    case "fallocate":
      return file() && attempt(() => file()!.fallocate(op.mode, s64(op.offset), s64(op.len)));
    case "set_user_memory_region2": {
      if (!vm() || (typeof op.guest_memfd === "string" && !file("guest_memfd"))) return null;
      let ua: bigint = 0n;
      // {"anon": NAME} on first use: the region goes where the next mapping would, and exists only if the op succeeds.
      let anonLen: bigint | null = null;
      if (typeof op.userspace_addr === "object") {
        const r = op.userspace_addr;
        const offset = BigInt(r.offset ?? 0);
        if (r.anon !== undefined && !names.has(r.anon)) {
          anonLen = u64(op.memory_size) + offset;
          if (anonLen < 4096n) anonLen = 4096n;
          ua = BigInt.asUintN(64, sim.host.nextMapAddress() + offset);
        } else {
          const m = get<Mapping>(r.anon ?? r.map, "Mapping");
          if (!m || !m.obj.alive) return null;
          ua = BigInt.asUintN(64, m.address + offset);
        }
      } else ua = u64(op.userspace_addr ?? 0);
      const gm = typeof op.guest_memfd === "string" ? file("guest_memfd")! : Number(wrap(toBits("g", op.guest_memfd ?? 0), "u32"));
      const r = attempt(() => vm()!.setUserMemoryRegion2({ slot: op.slot, flags: op.flags ?? 0, guestPhysAddr: u64(op.guest_phys_addr ?? 0), memorySize: u64(op.memory_size ?? 0), userspaceAddr: ua, guestMemfd: gm, guestMemfdOffset: u64(op.guest_memfd_offset ?? 0) }));
      if (anonLen !== null && !r.errno) names.set(op.userspace_addr.anon, sim.anonMap(anonLen));
      return r;
    }
    case "mmap": {
      if (names.has(op.as) && (names.get(op.as) as Mapping).obj?.alive !== false) return null;
      if (!file()) return null;
      return attempt(() => void bind(file()!.mmap(s64(op.offset), u64(op.len), op.prot, op.shared)));
    }
    case "munmap":
      return map() && map()!.obj.alive ? attempt(() => map()!.unmap()) : null;
    case "load":
    case "store": {
      const m = map();
      if (!m || !m.obj.alive || op.offset >= m.obj.npages * 4096) return null;
      const r = op.op === "load" ? m.load(op.offset) : m.store(op.offset, op.value);
      return r.signal ? { signal: r.signal } : { ret: 0, ...r };
    }
    case "vcpu_access":
      if (!vm()) return null;
      return attempt(() => {
        const r = vm()!.access(op.gpa, op.access, { value: op.value, private: op.private });
        if (r.errno || r.signal) throw Object.assign(new Error("exit"), { result: r });
        const { ret: _ret, ...rest } = r;
        return rest;
      });
    case "set_memory_attributes":
      if (!vm() || op.flags) return null;
      return attempt(() => vm()!.setMemoryAttributes(u64(op.address), u64(op.size), op.attributes));
    case "memory_failure":
      return file() && attempt(() => file()!.memoryFailure(s64(op.offset)));
    case "stats":
      if (op.vm !== undefined) return vm() && attempt(() => vm()!.stats());
      return attempt(() => sim.stats());
    case "anon_map":
      if (names.has(op.as) && (names.get(op.as) as Mapping).obj?.alive !== false) return null;
      return attempt(() => void bind(sim.anonMap(u64(op.len))));
    case "check_extension":
      return op.vm === undefined ? attempt(() => ({ value: sim.checkExtension(op.cap) })) : vm() && attempt(() => ({ value: vm()!.checkExtension(op.cap) }));
    case "gmem_link":
      if (names.has(op.as) || !file() || !vm()) return null;
      return attempt(() => void bind(file()!.link(vm()!, op.perm as Perm[], op.mode, { offset: op.offset, len: op.len })));
    case "move_enc_context_from":
      return vm() && vm("src") ? attempt(() => vm()!.moveEncContextFrom(vm("src")!)) : null;
    // The system-scoped design (SPEC §2.3).
    case "create_guest_memfd_system":
      if (names.has(op.as)) return null;
      return attempt(() => void bind(sim.createGuestMemfdSystem(u64(op.size), op.flags)));
    case "gmem_bind":
      return file() && vm() ? attempt(() => file()!.bind(vm()!, op.perm)) : null;
    case "gmem_unbind":
      return file() && vm() ? attempt(() => file()!.unbind(vm()!)) : null;
  }
  return null;
}

function bothTiers(design: "vm" | "system") {
  let compared = 0;
  const arb = design === "vm" ? traceArbitrary({ maxLength: 40, weights }) : systemTraceArbitrary({ maxLength: 40, weights: systemWeights });
  fc.assert(
    fc.property(arb, (trace) => {
      const batch = new Simulator({ engine: "wasm", design });
      const objects = new Simulator({ engine: "wasm", design });
      const names = new Map<string, Handle>();
      for (const op of trace as Op[]) {
        let mine: Record<string, unknown> | null;
        try {
          mine = viaObjects(objects, names, op);
        } catch (e) {
          const exit = (e as { result?: Record<string, unknown> }).result;
          if (!exit) throw e;
          mine = exit;
        }
        if (mine === null) continue;
        const [theirs] = batch.apply([op]);
        const { i: _i, ...rest } = theirs;
        assert.equal(mine, rest, `${JSON.stringify(op)}: object API ${JSON.stringify(mine)}, batch API ${JSON.stringify(rest)}`);
        compared++;
      }
      assert.is(digestSnapshot(objects.snapshot()), digestSnapshot(batch.snapshot()), "final state");
    }),
    { numRuns: design === "vm" ? 1500 : 400, seed: 31 },
  );
  return compared;
}

test("seeded traces give the same results and state through the object API and the batch API", () => {
  const compared = bothTiers("vm");
  assert.ok(compared > 20_000, `compared ${compared} ops`);
});

test("design system: seeded traces give the same results and state through the object API (createGuestMemfdSystem, bind, unbind) and the batch API", () => {
  const compared = bothTiers("system");
  assert.ok(compared > 5_000, `compared ${compared} ops`);
});

test.run();
