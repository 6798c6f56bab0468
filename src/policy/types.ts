/**
 * The permission policy (SPEC §3): a plain object of pure functions, asked before
 * the engine acts. A policy sees read-only views (plain data, no simulator
 * references), so one policy object can serve many simulators and threads, and
 * so it can be fuzzed. The engine enforces whatever it decides; whether those
 * decisions are safe is what the security properties judge.
 */
import type { Perm } from "./perm.js";

export interface FileView {
  readonly id: number;
  readonly vm: number;
  readonly inode: number;
  readonly perm: readonly Perm[];
  /** May link (the owner, or a migration target after the move). */
  readonly owner: boolean;
  /** "system": the fd of the system-scoped design, or one VM's binding of it (vm is -1 for the fd itself). */
  readonly origin: "owner" | "share" | "donate" | "migrate" | "system";
  /** The file it was linked from, or null. */
  readonly parent: number | null;
  readonly migrating: boolean;
  /** Pages [start, end) it may reach. */
  readonly window: readonly [number, number];
  /** Pages it donated away: the windows of its donations merged (those that overlap or touch make one range), ascending, so that overlapsRanges() (src/ranges.ts) finds an overlap by binary search. */
  readonly donated: ReadonlyArray<readonly [number, number]>;
}

export interface VmView {
  readonly id: number;
  readonly type: number;
  readonly ctx: number;
  readonly contextMovedAway: boolean;
}

export interface LinkRequest {
  readonly source: FileView;
  readonly vm: VmView;
  readonly mode: "share" | "donate" | "migrate";
  readonly perm: readonly Perm[];
  /** Pages [start, end) of the inode. */
  readonly window: readonly [number, number];
}

export interface FallocateRequest {
  readonly file: FileView;
  readonly op: "alloc" | "punch";
  /** Pages [start, end). */
  readonly range: readonly [number, number];
}

/** A memslot binding a gmem file (KVM_SET_USER_MEMORY_REGION2), in either design. */
export interface BindRequest {
  readonly kind: "memslot";
  readonly file: FileView;
  readonly vm: VmView;
  readonly slot: number;
  readonly gfn: number;
  readonly npages: number;
  readonly pgoff: number;
}

export interface MigrateRequest {
  readonly target: VmView;
  readonly src: VmView;
  /** The target's migrating files. */
  readonly files: readonly FileView[];
}

/** Profile next: a KVM_SET_MEMORY_ATTRIBUTES2 through this file (it changes what every file of the inode sees). */
export interface ConvertRequest {
  readonly file: FileView;
  /** Pages [start, end). */
  readonly range: readonly [number, number];
  readonly toPrivate: boolean;
}

// ---- The system-scoped design and foreign contexts (an extension, SPEC §2.3) ----

/** What a guest fault does on a page prepared private under another VM's context. */
export type ForeignFault = "map" | "zero" | "refuse";

/** A system-design gmem fd, as policies see it. */
export interface SystemFileView {
  readonly id: number;
  readonly inode: number;
  /** GUEST_MEMFD_FLAG_* it was created with. */
  readonly flags: number;
  /** VMs bound now, with the rights each holds. */
  readonly bound: ReadonlyArray<{ readonly vm: number; readonly perm: readonly Perm[] }>;
  /** VMs that were bound and have been unbound. */
  readonly unbound: readonly number[];
}

/** gmem_bind (or, with implicit binding, a VM's first memslot on the file): may `vm` bind, with which rights. */
export interface VmBindRequest {
  readonly kind: "vm";
  readonly file: SystemFileView;
  readonly vm: VmView;
  /** Guest rights asked for (r, w, x). */
  readonly perm: readonly Perm[];
  /** Made by KVM_SET_USER_MEMORY_REGION2 (implicit binding), not by gmem_bind. */
  readonly implicit: boolean;
}

/** Asked once per file (create_guest_memfd, gmem_link, a system binding): what its faults on foreign pages do. */
export interface ForeignRequest {
  readonly file: FileView;
  readonly vm: VmView;
}

/** allow, optionally with the permissions to grant (link and VM bind), or deny with a reason. */
export type Decision = { allow: true; perm?: readonly Perm[] } | { allow: false; reason: string };

/** A named predicate over the state and the history; returns a description of a violation, or null (any falsy answer holds). */
export type PolicyProperty = (state: import("./facts.js").SecurityState) => string | null | undefined | false;

export interface Policy {
  readonly name: string;
  link?(req: LinkRequest): Decision;
  fallocate?(req: FallocateRequest): Decision;
  /** A memslot binding a file (kind "memslot"), or, in the system design, a VM binding a system fd (kind "vm"). */
  bind?(req: BindRequest | VmBindRequest): Decision;
  migrate?(req: MigrateRequest): Decision;
  /** May this file convert this range (profile next)? Without the hook, a file converts what it may punch. */
  convert?(req: ConvertRequest): Decision;
  /** What faults through a new file do on pages prepared under another context; absent: "map". */
  foreign?(req: ForeignRequest): ForeignFault;
  /** Properties of the policy's own, checked beside the built-in ones. */
  readonly properties?: Readonly<Record<string, PolicyProperty>>;
}
