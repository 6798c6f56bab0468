/**
 * Scale probes: traces that grow one kind of object (VMs bound to one fd,
 * windows donated by one file, memslots of one file, maps, pins, ...) to
 * GROWTH times as many, replayed at both sizes, unchecked and checked as
 * `replay --check` checks, in this process. Each op's cost should not grow
 * with how many objects of that kind exist, so the time at the larger size
 * should be about GROWTH times the smaller's; a probe whose time grows past
 * SUPERLINEAR times that has an op whose cost grows with the objects.
 *
 *   node bin/gmemsim.js bench --probes [--json] [--quick]
 *
 * Each probe's trace is checked as it is timed: a line that fails, or a check
 * that fails, stops the run (its figures would mean nothing).
 */
import { timeReplay } from "./check.js";
import { profileByName } from "../src/kvm/profile.js";
import { designByName } from "../src/kvm/design.js";

const P = 4096;
type Line = Record<string, unknown>;

interface Probe {
  name: string;
  /** What grows, in words. */
  what: string;
  kernel?: string;
  design?: string;
  lines(n: number): Line[];
}

const vm = (as: string, type = "default"): Line => ({ op: "create_vm", as, type });
const gmem = (v: string, as: string, pages: number, flags = ["MMAP", "INIT_SHARED"]): Line => ({ op: "create_guest_memfd", vm: v, as, size: pages * P, flags });
const slot = (v: string, id: number, gfn: number, pages: number, fd: string, pgoff = 0): Line => ({
  op: "set_user_memory_region2", vm: v, slot: id, flags: "GUEST_MEMFD", guest_phys_addr: gfn * P, memory_size: pages * P, guest_memfd: fd, guest_memfd_offset: pgoff * P,
});
const write = (v: string, gfn: number, value = 1): Line => ({ op: "vcpu_access", vm: v, gpa: gfn * P, access: "write", value });
const read = (v: string, gfn: number): Line => ({ op: "vcpu_access", vm: v, gpa: gfn * P, access: "read" });
const punch = (fd: string, page: number): Line => ({ op: "fallocate", fd, mode: 3, offset: page * P, len: P });
const times = (n: number, f: (k: number) => Line[]): Line[] => Array.from({ length: n }, (_, k) => f(k)).flat();

export const PROBES: readonly Probe[] = [
  {
    name: "donations",
    what: "one-page windows donated by one file, each followed by a fallocate of that file beside it",
    lines: (n) => [vm("a"), vm("b"), gmem("a", "g", 2 * n, ["MMAP"]), slot("a", 0, 0, 2 * n, "g"),
      ...times(n, (k) => [{ op: "gmem_link", fd: "g", vm: "b", as: `d${k}`, perm: ["r"], offset: 2 * k * P, len: P, mode: "donate" }, { op: "fallocate", fd: "g", mode: 1, offset: (2 * k + 1) * P, len: P }])],
  },
  {
    name: "shares",
    what: "VMs given a one-page share of one inode, each bound and written, then each page punched by the owner",
    lines: (n) => [vm("o"), gmem("o", "g", n),
      ...times(n, (k) => [vm(`v${k}`), { op: "gmem_link", fd: "g", vm: `v${k}`, as: `f${k}`, perm: ["r", "w"], mode: "share", offset: k * P, len: P }, slot(`v${k}`, 0, 0, 1, `f${k}`, k), write(`v${k}`, 0)]),
      ...times(n, (k) => [punch("g", k)])],
  },
  {
    name: "system-binds",
    what: "VMs bound to one system gmem fd, each with a memslot and a read, then each unbound",
    design: "system",
    lines: (n) => [{ op: "create_guest_memfd_system", as: "s", size: n * P, flags: ["MMAP", "INIT_SHARED"] },
      ...times(n, (k) => [vm(`v${k}`), { op: "gmem_bind", fd: "s", vm: `v${k}` }, slot(`v${k}`, 0, 0, 1, "s", k), read(`v${k}`, 0)]),
      ...times(n, (k) => [{ op: "gmem_unbind", fd: "s", vm: `v${k}` }])],
  },
  {
    name: "vm-attributes",
    what: "one-page PRIVATE ranges of a sw_protected VM, every other page, each with an access, then each cleared",
    kernel: "6.18+swprot",
    lines: (n) => [vm("a", "sw_protected"), gmem("a", "g", 2 * n, ["MMAP"]), slot("a", 0, 0, 2 * n, "g"),
      ...times(n, (k) => [{ op: "set_memory_attributes", vm: "a", address: 2 * k * P, size: P, attributes: "PRIVATE" }, write("a", 2 * k)]),
      ...times(n, (k) => [{ op: "set_memory_attributes", vm: "a", address: 2 * k * P, size: P, attributes: 0 }])],
  },
  {
    name: "files",
    what: "gmem files of one VM, each bound in a memslot of its own and written, then each closed",
    lines: (n) => [vm("a"), ...times(n, (k) => [gmem("a", `g${k}`, 1), slot("a", k, k, 1, `g${k}`), write("a", k)]), ...times(n, (k) => [{ op: "close", fd: `g${k}` }])],
  },
  {
    name: "bindings",
    what: "one-page memslots binding the pages of one file, each written, then each page punched",
    lines: (n) => [vm("a"), gmem("a", "g", n), ...times(n, (k) => [slot("a", k, 2 * k, 1, "g", k), write("a", 2 * k)]), ...times(n, (k) => [punch("g", k)])],
  },
  {
    name: "maps",
    what: "one-page shared maps of one gmem file, a store through each, then punches and unmaps",
    lines: (n) => [vm("o"), gmem("o", "g", n),
      ...times(n, (k) => [{ op: "mmap", fd: "g", as: `m${k}`, offset: k * P, len: P, prot: "rw", shared: true }, { op: "store", map: `m${k}`, offset: 0, value: 2 }]),
      ...times(n, (k) => [punch("g", k)]), ...times(n, (k) => [{ op: "munmap", map: `m${k}` }])],
  },
  {
    name: "private-maps",
    what: "one-page private maps of one memfd, a store through each (a copy), then punches of the file",
    lines: (n) => [{ op: "memfd", as: "f", size: n * P },
      ...times(n, (k) => [{ op: "mmap", fd: "f", as: `m${k}`, offset: k * P, len: P, prot: "rw", shared: false }, { op: "store", map: `m${k}`, offset: 0, value: 6 }]),
      ...times(n, (k) => [punch("f", k)])],
  },
  {
    name: "pins",
    what: "one-page pins of one shared map of a gmem file (references under profile next), punches, then unpins",
    kernel: "next",
    lines: (n) => [vm("a"), gmem("a", "g", n), { op: "mmap", fd: "g", as: "m", offset: 0, len: n * P, prot: "rw", shared: true },
      ...times(n, (k) => [{ op: "pin", as: `p${k}`, map: "m", offset: k * P, len: P }]), ...times(n, (k) => [punch("g", k)]), ...times(n, (k) => [{ op: "unpin", pin: `p${k}` }])],
  },
  {
    name: "migrations",
    what: "source VMs each migrating its file to a target VM (link, memslot, move_enc_context_from, a read)",
    lines: (n) => times(n, (k) => [vm(`s${k}`), vm(`t${k}`), gmem(`s${k}`, `g${k}`, 1), slot(`s${k}`, 0, 0, 1, `g${k}`), write(`s${k}`, 0),
      { op: "gmem_link", fd: `g${k}`, vm: `t${k}`, as: `h${k}`, perm: ["r", "w"], mode: "migrate" }, slot(`t${k}`, 0, 0, 1, `h${k}`),
      { op: "move_enc_context_from", vm: `t${k}`, src: `s${k}` }, read(`t${k}`, 0)]),
  },
];

/** The larger size over the smaller. */
export const GROWTH = 8;
/** Time at GROWTH times the objects over GROWTH times the time at 1x, past which a probe is called superlinear. */
export const SUPERLINEAR = 1.5;

export interface ProbeRow {
  name: string;
  what: string;
  sizes: [number, number];
  unchecked_s: [number, number];
  checked_s: [number, number];
  /** Each mode's time at the larger size over GROWTH times its time at the smaller (1: linear). */
  unchecked_growth: number;
  checked_growth: number;
}

/** Replays a probe's trace, unchecked or checked op by op (bench/check.ts); every line must succeed. */
function timeProbe(p: Probe, text: string, checked: boolean): number {
  return timeReplay(text, checked ? "checked" : "unchecked", {
    profile: p.kernel ? profileByName(p.kernel) : undefined,
    design: p.design ? designByName(p.design) : undefined,
    allSucceed: true,
    what: `bench --probes: ${p.name}`,
  });
}

/** A probe's trace at n objects as JSONL, its profile and design in a `# replay-args:` line (scripts/probe-trace.mjs). */
export function probeTraceText(name: string, n: number): string {
  const p = PROBES.find((q) => q.name === name);
  if (!p) throw new Error(`bench --probes: no probe named ${name}`);
  const args = `${p.kernel ? ` --kernel ${p.kernel}` : ""}${p.design ? ` --design ${p.design}` : ""}`;
  return `${args ? `# replay-args:${args}\n` : ""}${linesText(p.lines(n))}`;
}

const linesText = (lines: readonly Line[]) => lines.map((l) => JSON.stringify(l)).join("\n") + "\n";

/** Every probe at `small` and GROWTH x `small` objects, each mode the best of `runs`. */
export function measureProbes(small: number, runs: number): ProbeRow[] {
  return PROBES.map((p) => {
    const sizes: [number, number] = [small, small * GROWTH];
    const texts = sizes.map((n) => linesText(p.lines(n)));
    // Warm the JIT on the smaller trace first, so that neither size is timed cold.
    timeProbe(p, texts[0], false);
    timeProbe(p, texts[0], true);
    const best = (text: string, checked: boolean) => Math.min(...Array.from({ length: runs }, () => timeProbe(p, text, checked)));
    const unchecked = texts.map((t) => best(t, false)) as [number, number];
    const checked = texts.map((t) => best(t, true)) as [number, number];
    return {
      name: p.name,
      what: p.what,
      sizes,
      unchecked_s: unchecked,
      checked_s: checked,
      unchecked_growth: unchecked[1] / (GROWTH * unchecked[0]),
      checked_growth: checked[1] / (GROWTH * checked[0]),
    };
  });
}

const ms = (s: number) => (s * 1000).toFixed(1);

/** The figures as lines for people. */
export function probeLines(rows: readonly ProbeRow[]): string[] {
  const lines = [`scale probes: each trace at ${rows[0]?.sizes[0]} and ${rows[0]?.sizes[1]} objects of one kind, replayed unchecked and with --check; growth = time at ${GROWTH}x over ${GROWTH} times the time at 1x (1: linear; past ${SUPERLINEAR}: an op's cost grows with the objects)`];
  for (const r of rows) {
    const flag = (g: number) => (g > SUPERLINEAR ? "  SUPERLINEAR" : "");
    lines.push(`  ${r.name}: ${r.what}`);
    lines.push(`    unchecked ${ms(r.unchecked_s[0])} -> ${ms(r.unchecked_s[1])} ms, growth ${r.unchecked_growth.toFixed(2)}${flag(r.unchecked_growth)}; checked ${ms(r.checked_s[0])} -> ${ms(r.checked_s[1])} ms, growth ${r.checked_growth.toFixed(2)}${flag(r.checked_growth)}`);
  }
  return lines;
}
