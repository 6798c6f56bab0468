/**
 * The trace ops of SPEC §5: each reads its fields (with the C types of the
 * kernel's structs) and calls the operation. Ops that pass a struct to an ioctl
 * read missing fields as 0; every other op needs its fields, unless optional.
 */
import { TraceError } from "../errors.js";
import type { Host } from "../kvm/host.js";
import type { Fd, HostMap } from "../kvm/objects.js";
import type { Result } from "../kvm/result.js";
import * as fal from "../kvm/ops/fallocate.js";
import * as gm from "../kvm/ops/gmem.js";
import * as gu from "../kvm/ops/guest.js";
import * as ms from "../kvm/ops/memslot.js";
import * as mm from "../kvm/ops/mmap.js";
import * as vmo from "../kvm/ops/vm.js";
import * as lk from "../kvm/ops/link.js";
import { isPerm, type Perm } from "../kvm/perm.js";
import type { Json } from "./json.js";
import type { Names } from "./names.js";
import { toBits, toCap, toFlags, toProt, toVmType, wrap, type CType } from "./numbers.js";

type Line = { [k: string]: Json };

export class Fields {
  constructor(
    readonly line: Line,
    /** Struct ops: a missing field is 0, as in a zeroed C struct. */
    readonly zeroed: boolean,
  ) {}

  has(k: string): boolean {
    return this.line[k] !== undefined;
  }

  raw(k: string): Json {
    const v = this.line[k];
    if (v === undefined) throw new TraceError(`missing field "${k}"`);
    return v;
  }

  num(k: string, type: CType): bigint {
    if (!this.has(k) && this.zeroed) return 0n;
    return wrap(toBits(k, this.raw(k)), type);
  }

  flags(k: string, family: string): bigint {
    if (!this.has(k) && this.zeroed) return 0n;
    return toFlags(k, family, this.raw(k));
  }

  str(k: string): string {
    const v = this.raw(k);
    if (typeof v !== "string") throw new TraceError(`${k}: expected a string`);
    return v;
  }

  bool(k: string, dflt?: boolean): boolean {
    if (!this.has(k) && dflt !== undefined) return dflt;
    const v = this.raw(k);
    if (typeof v !== "boolean") throw new TraceError(`${k}: expected true or false`);
    return v;
  }

  byte(k: string): number {
    const v = this.raw(k);
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) throw new TraceError(`${k}: expected a byte value from 0 to 255`);
    return v;
  }
}

export interface OpContext {
  host: Host;
  names: Names;
  f: Fields;
}

/** write/pwrite: the byte that fills what is written (0 when absent). */
const fillByte = (f: Fields): number => (f.has("value") ? f.byte("value") : 0);

/** A map offset must lie inside the page-rounded mapping. */
function mapOffset(map: HostMap, f: Fields): number {
  const off = BigInt.asIntN(64, toBits("offset", f.raw("offset")));
  if (off < 0n || off >= BigInt(map.npages) * 4096n) throw new TraceError(`offset: ${off} is outside the ${map.npages}-page mapping`);
  return Number(off);
}

/** A userspace_addr: a number, or {"anon": NAME} / {"map": NAME} with an optional offset. */
function userspaceAddr(c: OpContext, memorySize: bigint): bigint {
  const { f, names, host } = c;
  if (!f.has("userspace_addr")) return 0n;
  const v = f.raw("userspace_addr");
  if (v === null || typeof v !== "object" || Array.isArray(v) || !("anon" in v || "map" in v)) return f.num("userspace_addr", "u64");
  const region = v as Line;
  const offset = region.offset === undefined ? 0n : wrap(toBits("userspace_addr.offset", region.offset), "u64");
  if ("map" in region) return BigInt.asUintN(64, names.map("userspace_addr.map", region.map).address + offset);
  const name = region.anon;
  if (typeof name !== "string") throw new TraceError("userspace_addr.anon: expected a name");
  if (!names.has(name)) {
    // Created on first use: at least a page, and long enough for the memslot.
    let len = memorySize + offset;
    if (len < 4096n) len = 4096n;
    const [, map] = mm.anonMap(host, len);
    names.bind(name, map, "map");
  }
  return BigInt.asUintN(64, names.map("userspace_addr.anon", name).address + offset);
}

function create<T extends object>(c: OpContext, kind: "vm" | "fd" | "map", run: () => [Result, T | null]): Result {
  const as = c.f.str("as");
  c.names.checkFree(as);
  const [r, obj] = run();
  c.names.bind(as, obj as never, kind);
  return r;
}

export const OPS: Record<string, { zeroed?: boolean; run: (c: OpContext) => Result }> = {
  create_vm: {
    run: (c) =>
      create(c, "vm", () => {
        return vmo.createVm(c.host, toVmType("type", c.f.raw("type")));
      }),
  },
  destroy_vm: { run: (c) => vmo.destroyVm(c.host, c.names.vm("vm", c.f.raw("vm"))) },
  check_extension: {
    run: (c) => vmo.checkExtension(c.host, c.f.has("vm") ? c.names.vm("vm", c.f.raw("vm")) : undefined, toCap("cap", c.f.raw("cap"))),
  },
  create_guest_memfd: {
    zeroed: true,
    run: (c) =>
      create(c, "fd", () => gm.createGuestMemfd(c.host, c.names.vm("vm", c.f.raw("vm")), c.f.num("size", "u64"), c.f.flags("flags", "gmem"))),
  },
  fstat: { run: (c) => gm.fstat(c.host, c.names.fd("fd", c.f.raw("fd"))) },
  read: { run: (c) => gm.readWrite(c.host, c.names.fd("fd", c.f.raw("fd")), c.f.has("len") ? c.f.num("len", "u64") : 4096n, false) },
  write: { run: (c) => gm.readWrite(c.host, c.names.fd("fd", c.f.raw("fd")), c.f.has("len") ? c.f.num("len", "u64") : 4096n, true, fillByte(c.f)) },
  pread: {
    run: (c) => gm.preadPwrite(c.host, c.names.fd("fd", c.f.raw("fd")), c.f.has("len") ? c.f.num("len", "u64") : 4096n, c.f.has("offset") ? c.f.num("offset", "s64") : 0n, false),
  },
  pwrite: {
    run: (c) => gm.preadPwrite(c.host, c.names.fd("fd", c.f.raw("fd")), c.f.has("len") ? c.f.num("len", "u64") : 4096n, c.f.has("offset") ? c.f.num("offset", "s64") : 0n, true, fillByte(c.f)),
  },
  ftruncate: { run: (c) => gm.ftruncate(c.host, c.names.fd("fd", c.f.raw("fd")), c.f.num("size", "s64")) },
  close: { run: (c) => gm.close(c.host, c.names.fd("fd", c.f.raw("fd"))) },
  fallocate: {
    run: (c) =>
      fal.fallocate(
        c.host,
        c.names.fd("fd", c.f.raw("fd")),
        Number(wrap(toFlags("mode", "falloc", c.f.raw("mode")), "int")),
        c.f.num("offset", "s64"),
        c.f.num("len", "s64"),
      ),
  },
  set_user_memory_region2: {
    zeroed: true,
    run: (c) => {
      const f = c.f;
      const vm = c.names.vm("vm", f.raw("vm"));
      const size = f.num("memory_size", "u64");
      let guestMemfd: ms.RegionArgs["guestMemfd"] = 0;
      if (f.has("guest_memfd")) {
        const g = f.raw("guest_memfd");
        guestMemfd = typeof g === "string" && !/^\s*[+-]?\d/.test(g) ? c.names.fd("guest_memfd", g) : Number(wrap(toBits("guest_memfd", g), "u32"));
      }
      const slot = Number(f.num("slot", "u32"));
      const flags = Number(f.flags("flags", "memslot") & 0xffffffffn);
      const guestPhysAddr = f.num("guest_phys_addr", "u64");
      const guestMemfdOffset = f.num("guest_memfd_offset", "u64");
      // Last, so that a malformed field above creates no anon region.
      const userspaceAddr_ = userspaceAddr(c, size);
      return ms.setUserMemoryRegion2(c.host, vm, {
        slot,
        flags,
        guestPhysAddr,
        memorySize: size,
        userspaceAddr: userspaceAddr_,
        guestMemfd,
        guestMemfdOffset,
      });
    },
  },
  anon_map: { run: (c) => create(c, "map", () => mm.anonMap(c.host, c.f.num("len", "u64"))) },
  memfd: { run: (c) => create(c, "fd", () => mm.memfdCreate(c.host, c.f.num("size", "u64"))) },
  mmap: {
    run: (c) =>
      create(c, "map", () =>
        mm.mmap(c.host, c.names.fd("fd", c.f.raw("fd")), c.f.num("offset", "s64"), c.f.num("len", "u64"), toProt("prot", c.f.raw("prot")), c.f.bool("shared")),
      ),
  },
  munmap: { run: (c) => mm.munmap(c.host, c.names.map("map", c.f.raw("map"))) },
  load: {
    run: (c) => {
      const map = c.names.map("map", c.f.raw("map"));
      return mm.hostAccess(c.host, map, mapOffset(map, c.f), false, 0);
    },
  },
  store: {
    run: (c) => {
      const map = c.names.map("map", c.f.raw("map"));
      return mm.hostAccess(c.host, map, mapOffset(map, c.f), true, c.f.byte("value"));
    },
  },
  vcpu_access: {
    run: (c) => {
      const f = c.f;
      const access = f.str("access");
      if (access !== "read" && access !== "write" && access !== "exec") throw new TraceError(`access: "${access}" is not read, write or exec`);
      const vm = c.names.vm("vm", f.raw("vm"));
      const gpa = f.num("gpa", "u64");
      const value = access === "write" ? f.byte("value") : 0;
      return gu.vcpuAccess(c.host, vm, gpa, access, f.bool("private", false), value);
    },
  },
  set_memory_attributes: {
    zeroed: true,
    run: (c) =>
      gu.setMemoryAttributes(c.host, c.names.vm("vm", c.f.raw("vm")), c.f.num("address", "u64"), c.f.num("size", "u64"), c.f.flags("attributes", "attributes"), c.f.num("flags", "u64")),
  },
  memory_failure: { run: (c) => gu.memoryFailure(c.host, c.names.fd("fd", c.f.raw("fd")), c.f.num("offset", "s64")) },
  gmem_link: {
    run: (c) =>
      create(c, "fd", () => {
        const f = c.f;
        const mode = f.str("mode");
        if (mode !== "share" && mode !== "donate" && mode !== "migrate") throw new TraceError(`mode: "${mode}" is not share, donate or migrate`);
        const raw = f.raw("perm");
        if (!Array.isArray(raw) || !raw.every(isPerm)) throw new TraceError('perm: expected an array of "r", "w", "x", "alloc", "punch"');
        return lk.gmemLink(c.host, c.names.fd("fd", f.raw("fd")), c.names.vm("vm", f.raw("vm")), raw as Perm[], f.has("offset") ? f.num("offset", "s64") : undefined, f.has("len") ? f.num("len", "s64") : undefined, mode);
      }),
  },
  move_enc_context_from: { run: (c) => lk.moveEncContextFrom(c.host, c.names.vm("vm", c.f.raw("vm")), c.names.vm("src", c.f.raw("src"))) },
  stats: {
    run: (c) => (c.f.has("fd") ? gu.inodeStats(c.host, c.names.fd("fd", c.f.raw("fd"))) : gu.stats(c.host, c.f.has("vm") ? c.names.vm("vm", c.f.raw("vm")) : undefined)),
  },
};
