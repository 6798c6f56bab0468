/**
 * Live-kernel timings for `gmemsim bench`: runs the kernel oracle's timing
 * mode (`gmem-oracle --bench NAME SCALE`, oracle/bench.c) in a child process
 * and reads the one JSON object it prints.
 *
 * The C side times the same workloads as bench/workloads.ts, with the same
 * op counts per unit of scale (a loop of `count * scale` runs ceil(count *
 * scale) times, as in TypeScript, so fractional scales work), using CLOCK_MONOTONIC around the loop only
 * (setup excluded). Where the kernel's run differs from the TypeScript
 * workload, the result carries a note saying how.
 *
 * Node only.
 */
import { spawn } from "node:child_process";
import { buildOracle, kernelAvailability } from "./driver.js";

export interface KernelBenchResult {
  /** Operations counted as bench/workloads.ts counts them. */
  ops: number;
  /** Nanoseconds per operation, timed around the workload's loop on the live kernel. */
  nsPerOp: number;
  /**
   * Workloads with guest accesses: the oracle's own cost of one guest access
   * (KVM_SET_REGS, KVM_RUN, the report page's MMIO exit) on a page that is
   * already allocated and mapped, measured after the loop. Every guest access
   * in nsPerOp pays at least this.
   */
  guestAccessFloorNs?: number;
  /** How the kernel's run differs from the TypeScript workload, when it does. */
  note?: string;
}

/**
 * The oracle's name for each workload of bench/workloads.ts (by its `name`).
 * The oracle's short names are accepted as they are too.
 */
export const KERNEL_WORKLOADS: Readonly<Record<string, string>> = {
  "single-page churn (allocate, guest touch, punch)": "single-page-churn",
  "2 MiB allocate and punch": "2mib-allocate-punch",
  "memslot churn (bind, fault, delete)": "memslot-churn",
  "sparse 1 TiB file: 1,000 scattered pages, bound, punched whole": "sparse-1tib",
  "many VMs, one gmem file each, guest traffic": "many-vms",
  "fuzz-like mix": "fuzz-mix",
};

/** Workloads with no kernel figure, and why. */
export const KERNEL_UNSUPPORTED: Readonly<Record<string, string>> = {
  "the same, as a JSONL trace replayed (parsing included)":
    "the kernel has no trace parser of its own: its cost of the same operations is the sparse 1 TiB row",
};

/** The oracle's extra timings, not workloads of bench/workloads.ts. */
const EXTRA = new Set(["guest-access-floor", "page-allocate-punch"]);

function oracleName(name: string): string | undefined {
  if (name in KERNEL_WORKLOADS) return KERNEL_WORKLOADS[name];
  if (Object.values(KERNEL_WORKLOADS).includes(name) || EXTRA.has(name)) return name;
  return undefined;
}

/**
 * Time workload `name` (a bench/workloads.ts name or the oracle's short
 * name) at `scale` on the live kernel. Resolves to null when the kernel is
 * not available (kernelAvailability()) or the workload has no kernel
 * counterpart (KERNEL_UNSUPPORTED). Rejects if the oracle fails: a failed
 * operation in the timed loop is an error, never a figure.
 */
export async function kernelBench(name: string, scale: number): Promise<KernelBenchResult | null> {
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1000) {
    throw new RangeError(`kernelBench: scale must be a number in (0, 1000], not ${scale}`);
  }
  if (name in KERNEL_UNSUPPORTED) return null;
  const id = oracleName(name);
  if (id === undefined) throw new Error(`kernelBench: no kernel timing for workload ${JSON.stringify(name)}`);
  if (!kernelAvailability().ok) return null;
  const bin = buildOracle();
  const { stdout } = await run(bin, ["--bench", id, String(scale)]);
  let res: { name?: unknown; ops?: unknown; ns?: unknown; guest_access_floor_ns?: unknown; note?: unknown };
  try {
    res = JSON.parse(stdout.trim());
  } catch {
    throw new Error(`kernel oracle --bench ${id} printed no JSON object: ${JSON.stringify(stdout)}`);
  }
  if (typeof res.ops !== "number" || typeof res.ns !== "number" || res.ops <= 0) {
    throw new Error(`kernel oracle --bench ${id} printed a malformed result: ${stdout.trim()}`);
  }
  const out: KernelBenchResult = { ops: res.ops, nsPerOp: res.ns / res.ops };
  if (typeof res.guest_access_floor_ns === "number") out.guestAccessFloorNs = res.guest_access_floor_ns;
  if (typeof res.note === "string") out.note = res.note;
  return out;
}

function run(bin: string, args: string[]): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(new Error(`cannot run the kernel oracle ${bin}: ${e.message}`)));
    child.on("close", (code, signal) => {
      const stderr = Buffer.concat(err).toString("utf8").trim();
      if (code !== 0) {
        const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        reject(new Error(`kernel oracle ${args.join(" ")} ${how}${stderr ? `: ${stderr}` : ""}`));
        return;
      }
      resolve({ stdout: Buffer.concat(out).toString("utf8") });
    });
  });
}
