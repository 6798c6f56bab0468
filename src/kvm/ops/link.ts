/**
 * The inode/file design of the 2023 KVM discussion, an extension of upstream:
 * memory is shared, donated or migrated by making a new gmem file of another VM
 * on the same inode (gmem_link), each file with its own permissions and window;
 * intra-host migration hands the encryption context over once the target's
 * bindings mirror the source's (move_enc_context_from, after
 * KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM).
 */
import * as A from "../../abi/core-abi.js";
import type { Host } from "../host.js";
import { GmemFile, type Fd, type Vm, type Inode } from "../objects.js";
import { ALL_PERMS, guestRights, permList, type Perm } from "../perm.js";
import { fail, ok, type Result } from "../result.js";
import { fileView, invalidateView, vmView } from "../views.js";
import { askPolicy } from "../ask.js";
import { setForeignMode } from "./foreign.js";
import { addRange } from "../../ranges.js";

export type LinkMode = "share" | "donate" | "migrate";

export function gmemLink(h: Host, fd: Fd | null, vm: Vm | null, perm: Perm[], offset: bigint | undefined, len: bigint | undefined, mode: LinkMode): [Result, GmemFile | null] {
  if (h.design.system) return [fail("ENOTTY", `gmem_link is an ioctl of the inode/file design; this host runs design "${h.design.name}" (gmem_bind shares there)`), null];
  if (!fd || !fd.fdOpen) return [fail("EBADF", "fd is not open"), null];
  if (!vm || !vm.fdOpen) return [fail("EBADF", "vm is not an open VM fd"), null];
  if (!(fd instanceof GmemFile)) return [fail("EINVAL", `fd is a ${fd.kind} fd, not a guest_memfd`), null];
  const size = fd.inode.size;
  const off = offset ?? 0n;
  const length = len ?? size - off;
  if (off < 0n || length <= 0n || off & 4095n || length & 4095n || off + length > size)
    return [fail("EINVAL", `the window [${off}, +${length}) must be page-aligned, non-empty and inside the inode (size ${size})`), null];
  const window: [number, number] = [Number(off >> 12n), Number((off + length) >> 12n)];
  if (window[0] < fd.window[0] || window[1] > fd.window[1])
    return [fail("EINVAL", `the window lies outside the source file's window [${fd.window[0]}, ${fd.window[1]}) (pages)`), null];
  const d = askPolicy(h, "link", { source: fileView(h, fd), vm: vmView(vm), mode, perm: [...perm], window: [window[0], window[1]] });
  if (!d.allow) return [fail("EPERM", `policy ${h.policy.name}: ${d.reason}`), null];
  const granted = mode === "migrate" ? new Set<Perm>() : new Set<Perm>(d.perm ?? perm);
  const file = h.newFile(fd.inode, vm, mode === "migrate" ? 0 : guestRights(granted), { origin: mode, parent: fd, window, system: null });
  file.perm = granted;
  file.owner = false;
  file.migrating = mode === "migrate";
  setForeignMode(h, file);
  h.events.push({ kind: "link", file: file.id, vm: vm.id, inode: fd.inode.id, parent: fd.id, parentVm: fd.vm.id, mode, perm: permList(granted), parentPerm: permList(fd.perm), window: [window[0], window[1]] });
  if (mode === "donate") {
    // The window leaves the donor for good: its SPTEs there go, its maps fault there.
    fd.donated = addRange(fd.donated, window[0], window[1]);
    invalidateView(h, fd);
    h.core.push(A.OP_FILE_BLOCK, fd.id, window[0], window[1]);
  }
  return [ok(), file];
}

/** Does `src` have a twin of the target's memslot: same id, gfn range and inode offset on the same inode? */
function hasTwin(src: Vm, slotId: number, base: number, npages: number, inode: Inode, pgoff: number): boolean {
  const s = src.slot(slotId);
  return !!s && s.baseGfn === base && s.npages === npages && s.file?.inode === inode && s.pgoff === pgoff;
}

export function moveEncContextFrom(h: Host, target: Vm | null, src: Vm | null): Result {
  if (!target || !target.fdOpen) return fail("EBADF", "vm is not an open VM fd");
  if (!src || !src.fdOpen) return fail("EBADF", "src is not an open VM fd");
  if (target === src) return fail("EINVAL", "a VM cannot take its own encryption context");
  if (src.contextMovedAway) return fail("EINVAL", "src no longer has an encryption context");
  // sev_vm_move_enc_context_from(): a target already running under its own context is EINVAL
  // (its private pages would stay mapped under a key it no longer has).
  h.sync();
  if (target.ranPrivate) return fail("EINVAL", "the target already runs private memory under its own encryption context");
  // The same for a target that took a context by an earlier move: it is a confidential guest already, and the pages
  // it maps were prepared under the context it would give up.
  if (target.tookContext) return fail("EINVAL", "the target already took an encryption context from another VM");
  const migrating = new Set<GmemFile>();
  for (const slot of target.slots) {
    const f = slot.file;
    // The system design has no migrating files: every binding of a system fd must have its twin.
    if (!f || !(f.migrating || f.system)) continue;
    migrating.add(f);
    if (!hasTwin(src, slot.id, slot.baseGfn, slot.npages, f.inode, slot.pgoff))
      return fail("EINVAL", `slot ${slot.id} of the target (gfns [${slot.baseGfn}, +${slot.npages}), inode offset page ${slot.pgoff}) has no identical binding in src`);
  }
  const d = askPolicy(h, "migrate", { target: vmView(target), src: vmView(src), files: [...migrating].map((f) => fileView(h, f)) });
  if (!d.allow) return fail("EPERM", `policy ${h.policy.name}: ${d.reason}`);
  const inodes = [...new Set([...migrating].map((f) => f.inode))];
  target.ctx = src.ctx;
  target.tookContext = true;
  src.ctx = 0;
  src.contextMovedAway = true;
  h.core.push(A.OP_VM_SET_CTX, target.id, target.ctx);
  h.core.push(A.OP_VM_SET_CTX, src.id, 0);
  h.core.push(A.OP_ZAP_GFNS, src.id, 0, 2 ** 52);
  const promoted = [...migrating].map((f) => f.id);
  const revoked: number[] = [];
  for (const f of migrating) {
    if (!f.migrating) continue;
    // The target's file takes the owner's place: every right, and the right to link.
    f.migrating = false;
    f.owner = true;
    f.perm = new Set(ALL_PERMS);
    invalidateView(h, f);
    h.core.push(A.OP_FILE_SET_RIGHTS, f.id, A.RIGHTS_ALL);
  }
  for (const inode of inodes) {
    for (const f of inode.files) {
      if (f.vm !== src) continue;
      f.perm = new Set();
      f.owner = false;
      f.system?.viewPermChanged(f);
      revoked.push(f.id);
      invalidateView(h, f);
      h.core.push(A.OP_FILE_SET_RIGHTS, f.id, 0);
    }
  }
  h.events.push({ kind: "move", target: target.id, src: src.id, inodes: inodes.map((i) => i.id), promoted, revoked });
  return ok();
}
