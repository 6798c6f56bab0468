/**
 * The system-scoped design of the 2023 discussion (an extension, SPEC §2.3):
 * gmem made by an ioctl on /dev/kvm and owned by no VM (create_guest_memfd_system),
 * bound to VMs by a new ioctl (gmem_bind, gmem_unbind), or implicitly by a VM's
 * first memslot on it under "system+implicit". Each bound VM gets a GmemFile of
 * its own on the inode (its view, not an fd), with the rights the policy's
 * `bind` hook granted; that is all the core needs to share, zap and fault.
 */
import { GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP } from "../../uapi/constants.js";
import type { Host } from "../host.js";
import { GmemFile, SystemGmem, type Fd, type Lineage, type Vm } from "../objects.js";
import { guestRights, permList, type Perm } from "../perm.js";
import { fail, ok, type Result } from "../result.js";
import { invalidateView, systemFileView, vmView } from "../views.js";
import { IMPLICIT_PERM } from "../design.js";
import { askPolicy } from "../ask.js";
import { supportedGmemFlags } from "./vm.js";
import { setForeignMode } from "./foreign.js";

function notThisDesign(h: Host, op: string): Result {
  return fail("ENOTTY", `${op} is an ioctl of the system-scoped design; this host runs design "${h.design.name}"`);
}

/** KVM_CREATE_GUEST_MEMFD on /dev/kvm: kvm_gmem_create()'s flag and size rules, in its order, with no VM to ask. */
export function createGuestMemfdSystem(h: Host, size: bigint, flags: bigint): [Result, SystemGmem | null] {
  if (!h.design.system) return [notThisDesign(h, "create_guest_memfd_system"), null];
  const supported = BigInt(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  if (flags & ~supported)
    return [fail("EINVAL", `flags 0x${flags.toString(16)} has bits outside the supported set 0x${supported.toString(16)}`), null];
  const ssize = BigInt.asIntN(64, size);
  if (ssize <= 0n || ssize % 4096n !== 0n) return [fail("EINVAL", `size ${ssize} must be positive as a loff_t and a multiple of 4096`), null];
  return [ok(), h.newSystemGmem(ssize, Number(flags))];
}

/**
 * Whether vm may bind fd, and with which rights: the kernel's rules, then the
 * policy's. INIT_SHARED is refused where create_guest_memfd refuses it
 * upstream for the VM (kvm_gmem_get_supported_flags(): a VM with private
 * memory, unless the profile converts in place).
 */
function bindDecision(h: Host, fd: SystemGmem, vm: Vm, perm: readonly Perm[], implicit: boolean): Result | Set<Perm> {
  if (fd.views.has(vm)) return fail("EEXIST", `vm ${vm.id} is already bound to this guest_memfd`);
  if (fd.inode.flags & GUEST_MEMFD_FLAG_INIT_SHARED && !(supportedGmemFlags(h.profile, vm) & GUEST_MEMFD_FLAG_INIT_SHARED))
    return fail("EINVAL", `a guest_memfd created with INIT_SHARED cannot be bound to a VM with private memory (profile ${h.profile.name} does not convert in place)`);
  const d = askPolicy(h, "bind", { kind: "vm", file: systemFileView(fd), vm: vmView(vm), perm: [...perm], implicit });
  if (!d.allow) return fail("EPERM", `policy ${h.policy.name}: ${d.reason}`);
  return new Set<Perm>(d.perm ?? perm);
}

/** The lineage of a VM's binding of a system fd. */
const systemLineage = (fd: SystemGmem): Lineage => ({ origin: "system", parent: null, window: null, system: fd });

/** Makes vm's view of fd: a GmemFile of vm on the inode, with the granted guest rights. */
function attach(h: Host, fd: SystemGmem, vm: Vm, granted: Set<Perm>): GmemFile {
  const file = h.newFile(fd.inode, vm, guestRights(granted), systemLineage(fd));
  file.perm = granted;
  file.owner = false;
  fd.addView(vm, file);
  invalidateView(h, fd);
  setForeignMode(h, file);
  h.events.push({ kind: "bind", file: file.id, vm: vm.id, inode: fd.inode.id, system: fd.id, perm: permList(granted) });
  return file;
}

function systemFd(h: Host, op: string, fd: Fd | null, vm: Vm | null): Result | SystemGmem {
  if (!h.design.system) return notThisDesign(h, op);
  if (!fd || !fd.fdOpen) return fail("EBADF", "fd is not open");
  if (!vm || !vm.fdOpen) return fail("EBADF", "vm is not an open VM fd");
  if (!(fd instanceof SystemGmem)) return fail("EINVAL", `fd is a ${fd instanceof GmemFile ? "VM-owned guest_memfd" : `${fd.kind} fd`}, not a system guest_memfd`);
  return fd;
}

/** gmem_bind {fd, vm, perm?}: vm may use fd in its memslots, with the rights the policy grants (default r, w, x). */
export function gmemBind(h: Host, fd: Fd | null, vm: Vm | null, perm: readonly Perm[] | undefined): Result {
  const s = systemFd(h, "gmem_bind", fd, vm);
  if (!(s instanceof SystemGmem)) return s;
  const asked = perm ?? IMPLICIT_PERM;
  const bad = asked.find((p) => p !== "r" && p !== "w" && p !== "x");
  if (bad) return fail("EINVAL", `perm "${bad}": a binding grants guest rights only (r, w, x); fallocate goes through the fd`);
  const d = bindDecision(h, s, vm!, asked, false);
  if (!(d instanceof Set)) return d;
  attach(h, s, vm!, d);
  return ok();
}

/**
 * gmem_unbind {fd, vm}: as closing a bound file does upstream (kvm_gmem_release()):
 * vm's bindings of the file are dropped and their SPTEs zapped, its memslots stay
 * without a file; other VMs' bindings are untouched.
 */
export function gmemUnbind(h: Host, fd: Fd | null, vm: Vm | null): Result {
  const s = systemFd(h, "gmem_unbind", fd, vm);
  if (!(s instanceof SystemGmem)) return s;
  const view = s.views.get(vm!);
  if (!view) return fail("EINVAL", `vm ${vm!.id} is not bound to this guest_memfd`);
  s.noteUnbound(vm!);
  invalidateView(h, s);
  h.dropView(view);
  // The VMs still bound, in binding order, from the fd's own list (walking the map of views cost several times more).
  const bound = s.boundList;
  const others = new Array<number>(bound.length);
  for (let k = 0; k < bound.length; k++) others[k] = bound[k].vm;
  h.events.push({ kind: "unbind", file: view.id, vm: vm!.id, inode: s.inode.id, system: s.id, others });
  return ok();
}

/**
 * The file a memslot of vm binds when it names a system fd: vm's view of it. An
 * unbound VM is EINVAL, unless binding is implicit: then a detached view (id -1,
 * unknown to the core) stands in for the checks, and attachView() makes it real
 * once the memslot is sure to be created, so that a refused memslot binds nothing.
 */
export function memslotView(h: Host, vm: Vm, fd: SystemGmem): Result | GmemFile {
  const view = fd.views.get(vm);
  if (view) return view;
  if (!h.design.implicitBind) return fail("EINVAL", `vm ${vm.id} is not bound to this system guest_memfd (gmem_bind first)`);
  const d = bindDecision(h, fd, vm, IMPLICIT_PERM, true);
  if (!(d instanceof Set)) return d;
  const detached = new GmemFile(-1, fd.inode, vm, systemLineage(fd));
  detached.perm = d;
  detached.owner = false;
  return detached;
}

/** The real view for a memslot's file: a detached one (implicit bind) is attached now. */
export function attachView(h: Host, file: GmemFile): GmemFile {
  return file.id >= 0 || !file.system ? file : attach(h, file.system, file.vm, new Set(file.perm));
}
