/**
 * The facts a policy's own properties read (Policy.properties): the core's
 * whole state as a snapshot, and the history the kernel layer recorded. Types
 * only, here with the policy API, so that a policy module is typed without the
 * kernel layer or the checker: the snapshot reader (src/check/snapshot.ts) and
 * the kernel layer (src/kvm/host.ts) make these, and hand on their names.
 */
import type { Perm } from "./perm.js";

// ---- the core's state, as the snapshot reader gives it (core-abi.ts, "Snapshot") ----

export interface SnapPage { pgoff: number; pfn: number; byte: number; flags: number; ctx: number }
export interface SnapInode { id: number; npages: number; kind: number; gmemFlags: number; pages: SnapPage[] }
export interface SnapFile { id: number; inode: number; vm: number; rights: number; bindings: Array<{ pgoff: number; npages: number; slot: number }>; blocked: Array<[number, number]> }
export interface SnapSlot { slot: number; base: number; npages: number; flags: number; file: number; pgoff: number; uaddr: number }
export interface SnapSpte { gfn: number; pfn: number; rights: number }
export interface SnapVm { id: number; slots: SnapSlot[]; sptes: SnapSpte[]; counters: { sptes: number; faults: number; zaps: number; exits: number }; ctx: number }
/** cow: a private map's inode of copied pages, by page of the map (core-abi.ts HOSTMAP_COW), or -1. */
export interface SnapMap { id: number; hva: number; npages: number; inode: number; pgoff: number; rights: number; file: number; cow: number }
export interface Snapshot {
  inodes: Map<number, SnapInode>;
  files: Map<number, SnapFile>;
  vms: Map<number, SnapVm>;
  maps: Map<number, SnapMap>;
  gmemPages: number;
  anonPages: number;
  nextPfn: number;
  freeDepth: number;
  /** Profile next: each inode's PRIVATE pgoff runs (absent: none private). */
  attrs: Map<number, Array<[number, number]>>;
  /** Frames detached from their inode while pinned (counted in gmemPages / anonPages). */
  detachedGmem: number;
  detachedAnon: number;
}

// ---- the history ----

/**
 * What the checkers need of the history: the facts the kernel layer
 * established, in order, as plain data recorded when the op ran (ids, windows
 * and rights as they were then), so that nothing done later (a close, a
 * release) changes what an earlier op is judged by. Only successful operations
 * are recorded.
 *  - link: `file` of `vm` was made on `inode` from `parent` (of `parentVm`).
 *  - fallocate: by a file with less than the owner's rights (the others cannot
 *    break a property).
 *  - move: move_enc_context_from; `promoted` are the target's files that took
 *    the owner's place, `revoked` the source's files on the moved inodes that
 *    lost every right.
 *  - inode: a gmem inode opened (its first file) or freed (its last file went).
 */
export type HostEvent =
  | { kind: "link"; file: number; vm: number; inode: number; parent: number; parentVm: number; mode: "share" | "donate" | "migrate"; perm: Perm[]; parentPerm: Perm[]; window: [number, number] }
  | { kind: "fallocate"; file: number; vm: number; inode: number; op: "alloc" | "punch"; range: [number, number] }
  | { kind: "move"; target: number; src: number; inodes: number[]; promoted: number[]; revoked: number[] }
  | { kind: "inode"; inode: number; open: boolean }
  // The system design (SPEC §2.3): `vm` bound to system fd `system` through its view `file` on `inode`;
  // and unbound, with the VMs still bound then (a donation, when there are any).
  | { kind: "bind"; file: number; vm: number; inode: number; system: number; perm: Perm[] }
  | { kind: "unbind"; file: number; vm: number; inode: number; system: number; others: number[] };

/** What a policy's own properties see: the whole state and the whole history. */
export interface SecurityState {
  readonly snapshot: Snapshot;
  readonly events: readonly HostEvent[];
}
