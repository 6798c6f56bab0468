/**
 * gmemsim demo (npm start): a narrated tour of guest_memfd for newcomers, then a
 * high-volume run on the WebAssembly engine with its throughput and the
 * invariants checked.
 */
import { Simulator } from "../api/simulator.js";
import { checkInvariants } from "../check/checker.js";
import { digestSnapshot } from "../core/digest.js";
import { TypedBatch, TYPED_ALLOCATE, TYPED_CMD_WORDS, TYPED_PUNCH, TYPED_READ, TYPED_RES_WORDS, TYPED_WRITE } from "../api/typed.js";
import { DEFAULT_PORT } from "./serve.js";

const MiB = 1 << 20;
const hex = (n: number | bigint) => "0x" + n.toString(16);

function say(step: string, detail = ""): void {
  console.log(`\n${step}`);
  if (detail) console.log(`   ${detail}`);
}

function show(label: string, value: unknown): void {
  console.log(`   ${label.padEnd(38)} ${typeof value === "string" ? value : JSON.stringify(value)}`);
}

function tour(): void {
  console.log("gmemsim: a simulator of Linux KVM's guest_memfd (upstream 6.18, plus the 2023 inode/file design)");
  const sim = new Simulator();
  const vm = sim.createVm();
  say("1. A VM and a 16 MiB gmem file", "KVM_CREATE_GUEST_MEMFD with MMAP|INIT_SHARED: the host may map it, and host faults are allowed.");
  const g = vm.createGuestMemfd(16 * MiB, ["MMAP", "INIT_SHARED"]);
  show("fstat", g.fstat());
  show("pages allocated on the host", sim.stats().host_pages);

  say("2. Two memslots bound to two halves of the file", "slot 0: gpa 0 -> file [0, 8 MiB); slot 1: gpa 4 GiB -> file [8 MiB, 16 MiB).");
  vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: 8 * MiB, guestMemfd: g, guestMemfdOffset: 0 });
  vm.setUserMemoryRegion2({ slot: 1, flags: "GUEST_MEMFD", guestPhysAddr: 4n << 30n, memorySize: 8 * MiB, guestMemfd: g, guestMemfdOffset: 8 * MiB });
  try {
    vm.setUserMemoryRegion2({ slot: 2, flags: "GUEST_MEMFD", guestPhysAddr: 1n << 32n << 2n, memorySize: MiB, guestMemfd: g, guestMemfdOffset: 0 });
  } catch (e) {
    show("binding file [0, 1 MiB) again", (e as Error).message);
  }

  say("3. Allocate 1 MiB in each half", "fallocate(KEEP_SIZE): pages exist but are not yet zeroed (that happens on first use).");
  g.allocate(0, MiB);
  g.allocate(8 * MiB, MiB);
  show("pages allocated on the host", sim.stats().host_pages);

  say("4. The host maps the file and writes two pages");
  const m = g.mmap(0, 16 * MiB, "rw");
  m.store(4096, 0x5a);
  m.store(8 * MiB + 4096, 0xa5);
  show("host load at 4 KiB", m.load(4096));

  say("5. The guest reads them through its memslots", "Each first touch is a stage-2 fault that installs a 4 KiB SPTE.");
  show("guest read gpa 0x1000", vm.access(0x1000, "read"));
  show(`guest read gpa ${hex((4n << 30n) + 4096n)}`, vm.access((4n << 30n) + 4096n, "read"));
  show("guest read gpa 0x40000000 (no slot)", vm.access(0x40000000, "read"));
  show("VM counters", vm.stats());

  say("6. Punch a hole over the whole file", "PUNCH_HOLE|KEEP_SIZE zaps the SPTEs of every binding of the range, then frees the pages.");
  g.punchHole(0, 16 * MiB);
  show("VM counters after the punch", vm.stats());
  show("pages allocated on the host", sim.stats().host_pages);
  show("guest read gpa 0x1000 again", vm.access(0x1000, "read"));

  say("7. Share it with another VM (the 2023 inode/file design, an extension)", "gmem_link makes a file of VM B on the same inode, read-only; B binds it at a gfn of its own.");
  const vmB = sim.createVm();
  const gB = g.link(vmB, ["r"], "share");
  vmB.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 1n << 30n, memorySize: 16 * MiB, guestMemfd: gB });
  vm.access(0x2000, "write", { value: 7 });
  show("VM B reads gpa 0x40002000", vmB.access((1n << 30n) + 0x2000n, "read"));
  show("VM B writes there (no w right)", vmB.access((1n << 30n) + 0x2000n, "write", { value: 1 }));
  try {
    gB.punchHole(0, 4096);
  } catch (e) {
    show("VM B's file punches", (e as Error).message);
  }
  g.punchHole(0x2000, 4096);
  show("owner punches that page: SPTEs of A, B", `${vm.stats().sptes}, ${vmB.stats().sptes} (zaps ${vm.stats().zaps}, ${vmB.stats().zaps})`);

  say("8. Close the files", "The memslots stay (a memslot pins nothing); the last close of the inode frees its memory.");
  m.unmap();
  g.close();
  show("after the owner's close: pages", sim.stats().host_pages);
  show("VM B still reads gpa 0x40003000", vmB.access((1n << 30n) + 0x3000n, "read"));
  gB.close();
  show("after the last close: pages", sim.stats().host_pages);
  show("guest read gpa 0x1000", vm.access(0x1000, "read"));
  vm.destroy();
  vmB.destroy();
}

/** A tiny deterministic generator (xorshift32), so that runs are repeatable. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/**
 * The high-volume run, through the fastest public tier (TypedBatch): the ops
 * go as typed commands, 4,096 a call. Every result is read: a command the
 * tier calls malformed would be a bug of this demo.
 */
export function volume(ops: number, seed: number, engine: "wasm" | "reference" = "wasm") {
  const sim = new Simulator({ engine });
  const nvm = 64;
  const filePages = 1 << 18; // 1 GiB per VM
  const typed = new TypedBatch(sim);
  const handles = Array.from({ length: nvm }, () => {
    const vm = sim.createVm();
    const g = vm.createGuestMemfd(filePages * 4096, ["MMAP", "INIT_SHARED"]);
    vm.setUserMemoryRegion2({ slot: 0, flags: "GUEST_MEMFD", guestPhysAddr: 0, memorySize: filePages * 4096, guestMemfd: g });
    return { vm: typed.handle(vm), g: typed.handle(g) };
  });
  const rand = rng(seed);
  const hot = 4096; // pages each VM works over, so that punches meet populated pages
  const batch = 4096;
  const cmds = new Float64Array(batch * TYPED_CMD_WORDS);
  const out = new Float64Array(batch * TYPED_RES_WORDS);
  let guestAccesses = 0;
  const t0 = performance.now();
  for (let done = 0; done < ops; ) {
    const n = Math.min(batch, ops - done);
    for (let k = 0; k < n; k++) {
      const { vm, g } = handles[(rand() * nvm) | 0];
      const page = (rand() * hot) | 0;
      const r = rand();
      const c = k * TYPED_CMD_WORDS;
      if (r < 0.45) {
        cmds[c] = r < 0.3 ? TYPED_READ : TYPED_WRITE;
        cmds[c + 1] = vm;
        cmds[c + 2] = page * 4096;
        cmds[c + 3] = r < 0.3 ? 0 : page & 0xff;
        guestAccesses++;
      } else {
        cmds[c] = r < 0.75 ? TYPED_ALLOCATE : TYPED_PUNCH;
        cmds[c + 1] = g;
        cmds[c + 2] = (r < 0.97 ? page : page & ~511) * 4096;
        cmds[c + 3] = r < 0.97 ? 4096 : 2 * MiB;
      }
    }
    typed.run(cmds.subarray(0, n * TYPED_CMD_WORDS), out);
    for (let k = 0; k < n; k++) if (out[k * TYPED_RES_WORDS] === -1) throw new Error(`demo: typed command ${done + k} is malformed: ${typed.message(k)}`);
    done += n;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { sim, seconds, guestAccesses, digest: digestSnapshot(sim.snapshot()) };
}

export interface DemoOptions {
  ops: number;
  seed: number;
  quick?: boolean;
}

export async function demoCommand(values: DemoOptions): Promise<number> {
  tour();
  const ops = values.quick ? 100_000 : values.ops;
  const seed = values.seed;
  console.log(`\n9. High volume: ${ops.toLocaleString("en-US")} random operations over 64 VMs, each with a 1 GiB gmem file bound in one memslot`);
  console.log("   (guest reads and writes, single-page allocate and punch, 2 MiB punches), on the WebAssembly engine,");
  console.log("   through the typed tier (TypedBatch: the ops as numbers, 4,096 a call).");
  const run = volume(ops, seed);
  const stats = run.sim.stats();
  const bad = checkInvariants(run.sim.host);
  console.log(`   ${ops.toLocaleString("en-US")} ops in ${run.seconds.toFixed(2)} s: ${Math.round(ops / run.seconds).toLocaleString("en-US")} ops/s`);
  console.log(`   pages allocated at the end: ${stats.host_pages.toLocaleString("en-US")}; state digest ${run.digest}`);
  console.log(bad.length ? `   INVARIANTS FAILED:\n     ${bad.join("\n     ")}` : "   invariants checked on the final state: no stale SPTE, no overlapping binding, pages accounted for.");
  const prefix = Math.min(ops, 20_000);
  const a = volume(prefix, seed, "wasm");
  const b = volume(prefix, seed, "reference");
  const agree = a.digest === b.digest;
  console.log(`   the first ${prefix.toLocaleString("en-US")} ops replayed on the reference model end in the ${agree ? "same" : "DIFFERENT"} state (digest ${b.digest}).`);
  console.log(`\nSee it drawn, op by op: gmemsim serve (npx gmemsim serve), then open http://127.0.0.1:${DEFAULT_PORT}/`);
  return bad.length || !agree ? 1 : 0;
}
