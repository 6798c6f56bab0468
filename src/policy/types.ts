/**
 * The permission policy (SPEC §3): a plain object of pure functions, asked before
 * the engine acts. A policy sees read-only views (plain data, no simulator
 * references), so one policy object can serve many simulators and threads, and
 * so it can be fuzzed. The engine enforces whatever it decides; whether those
 * decisions are safe is what the security properties judge.
 */
import type { Perm } from "../kvm/perm.js";

export interface FileView {
  readonly id: number;
  readonly vm: number;
  readonly inode: number;
  readonly perm: readonly Perm[];
  /** May link (the owner, or a migration target after the move). */
  readonly owner: boolean;
  readonly origin: "owner" | "share" | "donate" | "migrate";
  /** The file it was linked from, or null. */
  readonly parent: number | null;
  readonly migrating: boolean;
  /** Pages [start, end) it may reach. */
  readonly window: readonly [number, number];
  /** Windows it donated away. */
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

export interface BindRequest {
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

/** allow, optionally with the permissions to grant (link only), or deny with a reason. */
export type Decision = { allow: true; perm?: readonly Perm[] } | { allow: false; reason: string };

/** A named predicate over the state and the history; returns a description of a violation, or null. */
export type PolicyProperty = (state: import("../check/security.js").SecurityState) => string | null;

export interface Policy {
  readonly name: string;
  link?(req: LinkRequest): Decision;
  fallocate?(req: FallocateRequest): Decision;
  bind?(req: BindRequest): Decision;
  migrate?(req: MigrateRequest): Decision;
  /** May this file convert this range (profile next)? Without the hook, a file converts what it may punch. */
  convert?(req: ConvertRequest): Decision;
  /** Properties of the policy's own, checked beside the built-in ones. */
  readonly properties?: Readonly<Record<string, PolicyProperty>>;
}
