/**
 * gmemsim bench [--json] [--quick]: the standard workloads of SPEC §6, each
 * validated first (engine and reference model end in the same state), then timed
 * on both in this process. Figures are ratios measured side by side, never
 * pass/fail.
 */
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { Simulator } from "../src/api/simulator.js";
import { digestSnapshot } from "../src/core/digest.js";
import type { Host } from "../src/kvm/host.js";
import type { GmemFile, Vm } from "../src/kvm/objects.js";
import * as fal from "../src/kvm/ops/fallocate.js";
import * as gm from "../src/kvm/ops/gmem.js";
import * as gu from "../src/kvm/ops/guest.js";
import * as ms from "../src/kvm/ops/memslot.js";
import * as vmo from "../src/kvm/ops/vm.js";
import { renderTable } from "../src/cli/table.js";
import { replayText } from "../src/trace/replay.js";
import { kernelBench } from "../src/oracle/bench.js";
import { benchTiers, tiersLines } from "./tiers.js";

/** The sparse 1 TiB story as a trace: a 1 TiB file, 1,000 scattered pages allocated and touched, bound, punched whole. */
export function sparseTiBTrace(): string {
  const lines = [
    { op: "create_vm", as: "vm", type: "default" },
    { op: "create_guest_memfd", vm: "vm", as: "g", size: "0x10000000000", flags: ["MMAP", "INIT_SHARED"] },
    { op: "set_user_memory_region2", vm: "vm", slot: 0, flags: "GUEST_MEMFD", guest_phys_addr: 0, memory_size: "0x10000000000", guest_memfd: "g" },
  ];
  for (let k = 0; k < 1000; k++) {
    const off = (k * 268_435 + 17) * 4096;
    lines.push({ op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: off, len: 4096 } as never);
    lines.push({ op: "vcpu_access", vm: "vm", gpa: off, access: "read" } as never);
  }
  lines.push({ op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 0, len: "0x10000000000" } as never);
  lines.push({ op: "stats", vm: "vm" } as never);
  return lines.map((l) => JSON.stringify(l)).join("\n");
}

const SPARSE_TRACE = sparseTiBTrace();

const KEEP = 1;
const PUNCH = 3;
const TiB = 1n << 40n;

interface Workload {
  name: string;
  /** Runs the workload on a fresh host; returns the number of operations. */
  run(host: Host, scale: number): number;
}

function vmWithFile(host: Host, size: bigint, flags = 3): { vm: Vm; file: GmemFile } {
  const [, vm] = vmo.createVm(host, 0n);
  const [, file] = gm.createGuestMemfd(host, vm!, size, BigInt(flags));
  return { vm: vm!, file: file! };
}

function bind(host: Host, vm: Vm, file: GmemFile, slot: number, gpa: bigint, size: bigint, offset = 0n): void {
  const r = ms.setUserMemoryRegion2(host, vm, { slot, flags: 4, guestPhysAddr: gpa, memorySize: size, userspaceAddr: 0n, guestMemfd: file, guestMemfdOffset: offset });
  if (r.errno) throw new Error(`bench setup: bind failed: ${r.errno}`);
}

export const WORKLOADS: Workload[] = [
  {
    name: "single-page churn (allocate, guest touch, punch)",
    run(host, scale) {
      const { vm, file } = vmWithFile(host, 1n << 30n);
      bind(host, vm, file, 0, 0n, 1n << 30n);
      const n = 20_000 * scale;
      for (let k = 0; k < n; k++) {
        const off = ((k * 7919) & 0x3ffff) * 4096;
        fal.fallocate(host, file, KEEP, off, 4096);
        gu.vcpuAccess(host, vm, off, "write", false, k & 0xff);
        fal.fallocate(host, file, PUNCH, off, 4096);
      }
      return 3 * n;
    },
  },
  {
    name: "2 MiB allocate and punch",
    run(host, scale) {
      const { file } = vmWithFile(host, 1n << 30n);
      const n = 200 * scale;
      for (let k = 0; k < n; k++) {
        const off = (k % 512) * 2 ** 21;
        fal.fallocate(host, file, KEEP, off, 2 ** 21);
        fal.fallocate(host, file, PUNCH, off, 2 ** 21);
      }
      return 2 * n;
    },
  },
  {
    name: "memslot churn (bind, fault, delete)",
    run(host, scale) {
      const { vm, file } = vmWithFile(host, 1n << 30n);
      const n = 5_000 * scale;
      for (let k = 0; k < n; k++) {
        const slot = k % 64;
        const gpa = BigInt(slot) << 24n;
        bind(host, vm, file, slot, gpa, 1n << 24n, gpa);
        gu.vcpuAccess(host, vm, gpa, "read", false, 0);
        ms.setUserMemoryRegion2(host, vm, { slot, flags: 4, guestPhysAddr: gpa, memorySize: 0n, userspaceAddr: 0n, guestMemfd: file, guestMemfdOffset: gpa });
      }
      return 3 * n;
    },
  },
  {
    name: "sparse 1 TiB file: 1,000 scattered pages, bound, punched whole",
    run(host, scale) {
      let ops = 0;
      for (let rep = 0; rep < scale; rep++) {
        const { vm, file } = vmWithFile(host, TiB);
        bind(host, vm, file, 0, 0n, TiB);
        for (let k = 0; k < 1000; k++) {
          const off = (k * 268_435 + 17) * 4096;
          fal.fallocate(host, file, KEEP, off, 4096);
          gu.vcpuAccess(host, vm, off, "read", false, 0);
        }
        fal.fallocate(host, file, PUNCH, 0n, TiB);
        gm.close(host, file);
        vmo.destroyVm(host, vm);
        ops += 2006;
      }
      return ops;
    },
  },
  {
    name: "the same, as a JSONL trace replayed (parsing included)",
    run(host, scale) {
      let ops = 0;
      for (let rep = 0; rep < scale; rep++) {
        for (const batch of replayText(host, SPARSE_TRACE)) ops += batch.length;
      }
      return ops;
    },
  },
  {
    name: "many VMs, one gmem file each, guest traffic",
    run(host, scale) {
      const vms = Array.from({ length: 256 }, (_, k) => {
        const w = vmWithFile(host, 1n << 30n);
        bind(host, w.vm, w.file, 0, 0n, 1n << 30n);
        return w;
      });
      const n = 40_000 * scale;
      for (let k = 0; k < n; k++) {
        const w = vms[(k * 31) & 255];
        gu.vcpuAccess(host, w.vm, ((k * 13) & 4095) * 4096, k & 1 ? "write" : "read", false, k & 0xff);
      }
      return n;
    },
  },
  {
    name: "fuzz-like mix",
    run(host, scale) {
      const vms = Array.from({ length: 8 }, () => {
        const w = vmWithFile(host, 1n << 28n);
        bind(host, w.vm, w.file, 0, 0n, 1n << 28n);
        return w;
      });
      let x = 12345;
      const n = 50_000 * scale;
      for (let k = 0; k < n; k++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const w = vms[x & 7];
        const off = ((x >>> 3) & 1023) * 4096;
        const r = (x >>> 13) & 7;
        if (r < 3) gu.vcpuAccess(host, w.vm, off, r & 1 ? "write" : "read", false, x & 0xff);
        else if (r < 5) fal.fallocate(host, w.file, KEEP, off, 4096);
        else if (r < 7) fal.fallocate(host, w.file, PUNCH, off, 4096);
        else fal.fallocate(host, w.file, PUNCH, off - (off % 2 ** 21), 2 ** 21);
      }
      return n;
    },
  },
];

function time(engine: "wasm" | "reference", w: Workload, scale: number) {
  const sim = new Simulator({ engine });
  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const ops = w.run(sim.host, scale);
  sim.host.sync();
  const ns = Number(process.hrtime.bigint() - t0);
  const rssGrowth = Math.max(0, process.memoryUsage().rss - rss0);
  return { ops, ns, nsPerOp: ns / ops, bytes: sim.host.core.memoryBytes(), rssGrowth, digest: digestSnapshot(sim.snapshot()) };
}

/**
 * The machine's CPU time so far, all cores (Linux's /proc/stat, in ticks): all
 * of it, and what the hypervisor gave other guests while this one waited
 * ("steal"); null where there is no /proc/stat.
 */
function cpuTicks(): { total: number; steal: number } | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return null;
  }
}

/** The share of the machine's CPU time that went to steal since `t0` (percent), or null. */
function stealSince(t0: { total: number; steal: number } | null): number | null {
  const t1 = cpuTicks();
  if (!t0 || !t1 || t1.total <= t0.total) return null;
  return (100 * (t1.steal - t0.steal)) / (t1.total - t0.total);
}

function context() {
  let commit = "unknown";
  const cores = cpus().length;
  try {
    commit = execSync("git rev-parse --short HEAD", { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {}
  return { node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores, load: loadavg()[0], commit };
}

/** The flags of gmemsim bench (declared in src/cli/commands.ts). */
export interface WorkloadOptions {
  json?: boolean;
  quick?: boolean;
  /** Only the tiers table (bench/tiers.ts). */
  tiers?: boolean;
}

export async function runBench(values: WorkloadOptions): Promise<number> {
  const scale = values.quick ? 1 : 5;
  const before = context();
  const ticks = cpuTicks();
  // The public tiers beside the core alone, the plain-JS model and the C limit (bench/tiers.ts).
  const tiers = await benchTiers(values.quick ? 20_000 : 100_000, 3);
  // The steal over the tiers' run: a shared machine's other guests slow every path, and not alike.
  const ctx = { ...before, steal: stealSince(ticks) };
  if (values.tiers) {
    if (values.json) console.log(JSON.stringify({ context: ctx, tiers }));
    else console.log(tiersLines(tiers, ctx).join("\n"));
    return 0;
  }
  const rows = [];
  for (const w of WORKLOADS) {
    // Validate before timing: both cores must end in the same state.
    const e0 = time("wasm", w, 1);
    const r0 = time("reference", w, 1);
    if (e0.digest !== r0.digest) {
      console.error(`bench: "${w.name}": engine and reference disagree (state ${e0.digest} vs ${r0.digest}); not timing it`);
      return 1;
    }
    // Best of three, alternating, so that neither core pays the other's JIT warm-up or garbage.
    let e = time("wasm", w, scale);
    let r = time("reference", w, scale);
    for (let k = 0; k < 2; k++) {
      const e2 = time("wasm", w, scale);
      const r2 = time("reference", w, scale);
      if (e2.ns < e.ns) e = e2;
      if (r2.ns < r.ns) r = r2;
    }
    // The kernel is timed by the C oracle on the same workload (scale 1: ns/op does not depend on it).
    const k = await kernelBench(w.name, values.quick ? 0.2 : 1);
    rows.push({
      name: w.name,
      ops: e.ops,
      engine_ns_per_op: e.nsPerOp,
      reference_ns_per_op: r.nsPerOp,
      kernel_ns_per_op: k?.nsPerOp ?? null,
      kernel_guest_access_floor_ns: k?.guestAccessFloorNs ?? null,
      kernel_note: k?.note ?? null,
      engine_peak_bytes: e.bytes,
      engine_ms: e.ns / 1e6,
      reference_ms: r.ns / 1e6,
      engine_rss_growth_bytes: e.rssGrowth,
    });
  }
  if (values.json) {
    console.log(JSON.stringify({ context: ctx, workloads: rows, tiers }));
    return 0;
  }
  console.log(tiersLines(tiers, ctx).join("\n"));
  console.log("");
  console.log(`gmemsim bench  (node ${ctx.node}, ${ctx.cpu}, commit ${ctx.commit}${values.quick ? ", quick" : ""})`);
  let logSum = 0;
  const table = rows.map((r) => {
    const ratio = r.reference_ns_per_op / r.engine_ns_per_op;
    logSum += Math.log(ratio);
    return [r.name, r.ops, r.engine_ns_per_op.toFixed(1), r.reference_ns_per_op.toFixed(1), ratio.toFixed(1) + "x", r.engine_ms.toFixed(1), r.reference_ms.toFixed(1), (r.engine_peak_bytes / 2 ** 20).toFixed(1), (r.engine_rss_growth_bytes / 2 ** 20).toFixed(1)];
  });
  const right = (title: string) => ({ title, align: "right" as const });
  console.log(renderTable([{ title: "workload" }, ...["ops", "engine ns/op", "ref ns/op", "speed-up", "engine ms", "ref ms", "engine MiB", "RSS +MiB"].map(right)], table));
  console.log(`geometric mean speed-up of the engine over the reference model: ${Math.exp(logSum / rows.length).toFixed(1)}x`);
  const kernelRows = rows.filter((r) => r.kernel_ns_per_op !== null);
  if (!kernelRows.length) console.log("kernel: no figures (the live kernel is not available here)");
  for (const r of kernelRows) {
    const floor = r.kernel_guest_access_floor_ns ? `; of it, each guest access pays a ${(r.kernel_guest_access_floor_ns / 1000).toFixed(0)} µs floor of vCPU entry and exit on this host` : "";
    console.log(`kernel: ${r.name}: ${r.kernel_ns_per_op!.toFixed(0)} ns/op, ${(r.kernel_ns_per_op! / r.engine_ns_per_op).toFixed(0)}x the engine's time${floor}${r.kernel_note ? ` [${r.kernel_note}]` : ""}`);
  }
  return 0;
}
