/**
 * The trace ops' runners (SPEC §5): each takes its arguments as read and
 * converted by fields.ts from the op's declaration in opdefs.ts, and calls the
 * operation. One entry per op; its fields, types and defaults live in opdefs.ts.
 */
import { TraceError } from "../errors.js";
import type { Host } from "../kvm/host.js";
import type { Fd, HostMap, Pin, Vm } from "../kvm/objects.js";
import type { Result } from "../kvm/result.js";
import * as fal from "../kvm/ops/fallocate.js";
import * as gm from "../kvm/ops/gmem.js";
import * as gu from "../kvm/ops/guest.js";
import * as ms from "../kvm/ops/memslot.js";
import * as mm from "../kvm/ops/mmap.js";
import * as vmo from "../kvm/ops/vm.js";
import * as lk from "../kvm/ops/link.js";
import * as at from "../kvm/ops/attributes.js";
import * as sy from "../kvm/ops/system.js";
import type { Perm } from "../kvm/perm.js";
import type { Bytes } from "../kvm/bytes.js";
import type { Args, UserspaceAddr } from "./fields.js";
import type { Names } from "./names.js";

export interface OpContext {
  host: Host;
  names: Names;
}

/** A map offset (an s64: a number where exact, else a bigint) must lie inside the page-rounded mapping. */
function mapOffset(map: HostMap, off: Bytes): number {
  if (off < 0 || Number(off) >= map.npages * 4096) throw new TraceError(`offset: ${off} is outside the ${map.npages}-page mapping`);
  return Number(off);
}

/** Binds the new object's name: a failed create binds a dead name (SPEC §5: it acts as fd -1). */
function create(c: OpContext, a: Args, kind: "vm" | "fd" | "map" | "pin", [r, obj]: [Result, Fd | HostMap | Pin | null]): Result {
  c.names.bind(a.as as string, obj, kind);
  return r;
}

const vm = (a: Args, k = "vm") => a[k] as Vm | null;
const fd = (a: Args, k = "fd") => a[k] as Fd | null;
const num = (a: Args, k: string) => a[k] as bigint;
/** An int field of an op that takes numbers (OpDef.numbers): a number where exact, else a bigint. */
const bytes = (a: Args, k: string) => a[k] as Bytes;

/**
 * set_user_memory_region2 with an {"anon": NAME} that names no region yet: the
 * region is placed where the next mapping goes, and created only if the memslot
 * op succeeds, so that a failed op creates nothing.
 */
function setRegion(c: OpContext, a: Args): Result {
  const ua = a.userspace_addr as UserspaceAddr;
  const size = num(a, "memory_size");
  let addr: bigint;
  if ("addr" in ua) addr = ua.addr;
  else if ("map" in ua) addr = BigInt.asUintN(64, ua.map.address + ua.offset);
  else addr = BigInt.asUintN(64, (ua.existing ? ua.existing.address : c.host.nextMapAddress()) + ua.offset);
  const r = ms.setUserMemoryRegion2(c.host, vm(a), {
    slot: Number(num(a, "slot")),
    flags: Number(num(a, "flags")),
    guestPhysAddr: num(a, "guest_phys_addr"),
    memorySize: size,
    userspaceAddr: addr,
    guestMemfd: a.guest_memfd as ms.RegionArgs["guestMemfd"],
    guestMemfdOffset: num(a, "guest_memfd_offset"),
  });
  if (!r.errno && "anon" in ua && !ua.existing) {
    // At least a page, and long enough for the memslot.
    let len = size + ua.offset;
    if (len < 4096n) len = 4096n;
    const [, map] = mm.anonMap(c.host, len);
    // The memslot fits below the address-space limit, so its region does too.
    if (map) c.names.bind(ua.anon, map, "map");
  }
  return r;
}

export const OPS: Readonly<Record<string, (c: OpContext, a: Args) => Result>> = {
  create_vm: (c, a) => create(c, a, "vm", vmo.createVm(c.host, num(a, "type"))),
  destroy_vm: (c, a) => vmo.destroyVm(c.host, vm(a)),
  check_extension: (c, a) => vmo.checkExtension(c.host, a.vm === undefined ? undefined : vm(a), num(a, "cap")),
  create_guest_memfd: (c, a) => create(c, a, "fd", gm.createGuestMemfd(c.host, vm(a), num(a, "size"), num(a, "flags"))),
  fstat: (c, a) => gm.fstat(c.host, fd(a)),
  read: (c, a) => gm.readWrite(c.host, fd(a), num(a, "len"), false),
  write: (c, a) => gm.readWrite(c.host, fd(a), num(a, "len"), true, a.value as number),
  pread: (c, a) => gm.preadPwrite(c.host, fd(a), num(a, "len"), num(a, "offset"), false),
  pwrite: (c, a) => gm.preadPwrite(c.host, fd(a), num(a, "len"), num(a, "offset"), true, a.value as number),
  ftruncate: (c, a) => gm.ftruncate(c.host, fd(a), num(a, "size")),
  close: (c, a) => gm.close(c.host, fd(a)),
  fallocate: (c, a) => fal.fallocate(c.host, fd(a), Number(bytes(a, "mode")), bytes(a, "offset"), bytes(a, "len")),
  set_user_memory_region2: setRegion,
  anon_map: (c, a) => create(c, a, "map", mm.anonMap(c.host, num(a, "len"))),
  memfd: (c, a) => create(c, a, "fd", mm.memfdCreate(c.host, num(a, "size"))),
  mmap: (c, a) => create(c, a, "map", mm.mmap(c.host, fd(a), num(a, "offset"), num(a, "len"), a.prot as number, a.shared as boolean)),
  munmap: (c, a) => mm.munmap(c.host, a.map as HostMap),
  load: (c, a) => {
    const map = a.map as HostMap;
    return mm.hostAccess(c.host, map, mapOffset(map, bytes(a, "offset")), false, 0);
  },
  store: (c, a) => {
    const map = a.map as HostMap;
    return mm.hostAccess(c.host, map, mapOffset(map, bytes(a, "offset")), true, a.value as number);
  },
  vcpu_access: (c, a) => {
    const access = a.access as gu.Access;
    if (access === "write" && a.value === undefined) throw new TraceError('missing field "value" (a write stores a byte)');
    // Omitted: as the kernel derives it; given, it must agree (a trace error otherwise).
    return gu.vcpuAccess(c.host, vm(a), bytes(a, "gpa"), access, a.private as boolean | undefined, access === "write" ? (a.value as number) : 0);
  },
  set_memory_attributes: (c, a) => gu.setMemoryAttributes(c.host, vm(a), num(a, "address"), num(a, "size"), num(a, "attributes"), num(a, "flags")),
  memory_failure: (c, a) => gu.memoryFailure(c.host, fd(a), num(a, "offset")),
  gmem_link: (c, a) =>
    create(c, a, "fd", lk.gmemLink(c.host, fd(a), vm(a), a.perm as Perm[], a.offset as bigint | undefined, a.len as bigint | undefined, a.mode as lk.LinkMode)),
  move_enc_context_from: (c, a) => lk.moveEncContextFrom(c.host, vm(a), vm(a, "src")),
  // ---- profile next: in-place conversion and pins (SPEC-next.md §2.1, §2.2) ----
  set_memory_attributes2: (c, a) => {
    if (a.offset !== undefined && a.address !== undefined) throw new TraceError("offset and address are one field of the struct (a union): give one of them");
    return at.setMemoryAttributes2(c.host, fd(a), {
      offset: (a.offset ?? a.address ?? 0n) as bigint,
      size: num(a, "size"),
      attributes: num(a, "attributes"),
      flags: num(a, "flags"),
      reserved: (a.reserved as bigint[] | undefined) ?? [],
    });
  },
  pin: (c, a) => create(c, a, "pin", at.pin(c.host, a.map as HostMap, num(a, "offset"), num(a, "len"))),
  unpin: (c, a) => at.unpin(c.host, a.pin as Pin),
  // ---- The system-scoped design (SPEC §2.3, an extension) ----
  create_guest_memfd_system: (c, a) => create(c, a, "fd", sy.createGuestMemfdSystem(c.host, num(a, "size"), num(a, "flags"))),
  gmem_bind: (c, a) => sy.gmemBind(c.host, fd(a), vm(a), a.perm as Perm[] | undefined),
  gmem_unbind: (c, a) => sy.gmemUnbind(c.host, fd(a), vm(a)),
  stats: (c, a) => (a.fd !== undefined ? gu.inodeStats(c.host, fd(a)) : gu.stats(c.host, a.vm === undefined ? undefined : vm(a))),
};
