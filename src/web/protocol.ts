/**
 * The playground's messages between the page and its simulator worker, and the
 * plain-data picture of the state (a Scene) that the worker builds from the
 * core's snapshot plus the kernel layer's recorded facts, and the page draws.
 */

export type PolicyChoice = { kind: "default" } | { kind: "shipped"; name: string } | { kind: "pasted"; source: string };

export interface RunRequest {
  type: "run";
  id: number;
  text: string;
  engine: "wasm" | "reference";
  kernel: string;
  /** Only sent when the simulator has a validated `design` option. */
  design?: string;
  policy: PolicyChoice;
}

export interface StepRequest {
  type: "step";
  id: number;
  /** Op index (0-based among counted lines); -1 is the state before the first op. */
  k: number;
}

export type Request = RunRequest | StepRequest;

export type Kind = "ok" | "errno" | "exit" | "signal" | "error";

/** The run's results, columnar so that 100,000 ops cross the worker boundary cheaply. */
export interface RunResult {
  type: "run";
  id: number;
  n: number;
  /** 1-based editor line of each op. */
  lines: Int32Array;
  kinds: Uint8Array;
  ops: string[];
  /** The result line as JSON, without "i". */
  json: string[];
  /** The rule's sentence for errnos, exits and errors ("" when none). */
  why: string[];
  /** Security property or invariant failures that first appeared after op i (checked traces only). */
  violations: Array<{ i: number; text: string; keys: string[] }>;
  /** Ops are checked one by one (invariants and security properties) up to this many. */
  checked: boolean;
  /** Trace names each op refers to (and, in checked traces, the VMs it zapped), for "which ops touched this object". */
  touched: string[][];
  /** Wall time of the run inside the worker, ms. */
  ms: number;
  error?: string;
}

export const KINDS: Kind[] = ["ok", "errno", "exit", "signal", "error"];

export interface ScenePage { pgoff: number; flags: number; ctx: number; byte: number }
export interface SceneInode { id: number; name: string; npages: number; anon: boolean; gmemFlags: number; pages: ScenePage[] }
export interface SceneFile {
  id: number;
  name: string;
  inode: number;
  vm: number;
  vmName: string;
  rights: number;
  /** From the recorded links: owner, share, donate or migrate. */
  origin: string;
  window: [number, number];
  blocked: Array<[number, number]>;
  migrating: boolean;
  perm: string[];
}
export interface SceneSlot { slot: number; baseGfn: number; npages: number; flags: number; file: number; pgoff: number; inode: number; sptes: Array<{ gfn: number; rights: number }> }
export interface SceneVm { id: number; name: string; ctx: number; movedAway: boolean; counters: { sptes: number; faults: number; zaps: number; exits: number }; slots: SceneSlot[]; sptes: number; loose: number }
export interface SceneMap { id: number; name: string; hva: number; npages: number; inode: number; pgoff: number; rights: number; file: number }
export interface Scene {
  inodes: SceneInode[];
  files: SceneFile[];
  vms: SceneVm[];
  maps: SceneMap[];
  gmemPages: number;
  anonPages: number;
}

/** What op k did, from the snapshots before and after it. */
export interface Effect {
  freed: Array<{ inode: number; pgoff: number }>;
  added: Array<{ inode: number; pgoff: number }>;
  zapped: Array<{ vm: number; gfn: number; inode: number; pgoff: number }>;
  installed: Array<{ vm: number; gfn: number }>;
  donated: Array<{ file: number; range: [number, number] }>;
  /** VMs that took an encryption context (ctx), from VM `from` (-1: unknown). */
  moved: Array<{ vm: number; from: number; ctx: number }>;
  handedOver: Array<{ file: number }>;
  newObjects: string[];
  /** A guest or host access: where it went. */
  access?: { vm?: number; map?: number; gfn?: number; inode?: number; pgoff?: number; slot?: number; what: string };
  /** The pages the op aimed at, on one inode (fallocate's range, gmem_link's window). */
  range?: { inode: number; start: number; end: number; what: string };
  /** Objects the op names (trace names resolved to scene keys such as "vm:1", "file:3"). */
  named: string[];
  caption: string;
}

export interface StepResult {
  type: "step";
  id: number;
  k: number;
  scene: Scene;
  effect: Effect | null;
  error?: string;
}

export interface ReadyMessage {
  type: "ready";
  profiles: string[];
  defaultProfile: string;
  /** Designs the simulator accepts, or null when it has no design option. */
  designs: string[] | null;
}

export type Response = RunResult | StepResult | ReadyMessage | { type: "fail"; id: number; error: string };
