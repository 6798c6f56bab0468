/**
 * The interface both cores implement: the AssemblyScript engine (engine.ts) and
 * the reference model (reference/). The kernel layer pushes commands (see
 * src/abi/core-abi.ts) and reads their results after a flush.
 */
export interface Core {
  /** Which implementation this is, for reports. */
  readonly kind: "wasm" | "reference";
  /**
   * Queue one command; returns its index in the current batch. When the batch is
   * full it is flushed first (so `onFlush` runs before the index is reused).
   */
  push(op: number, a?: number, b?: number, c?: number, d?: number, e?: number, f?: number, g?: number): number;
  /** Run every queued command (one call into WebAssembly), then call onFlush. */
  flush(): void;
  /** push() then flush(), as one call where the core can: returns the command's index in results. */
  now(op: number, a?: number, b?: number, c?: number, d?: number, e?: number, f?: number, g?: number): number;
  /** Result words of the last flushed batch: result i at [i * RES_WORDS, (i + 1) * RES_WORDS). */
  readonly results: Float64Array;
  /** Called after each flush with the number of results, before the batch is reused. */
  onFlush: ((count: number) => void) | null;
  /** The whole core state as the stream documented in core-abi.ts (flushes first). */
  snapshot(): Float64Array;
  /** Bytes of memory the core holds now (wasm linear memory, or an estimate for the reference). */
  memoryBytes(): number;
  /** Note what each command changes from now on (true), or stop (false); the notes so far are dropped. */
  trackChanges(on: boolean): void;
  /** The change stream of core-abi.ts for everything noted since the last call (flushes first); valid until the next push, flush or changes(). */
  changes(): Float64Array;
  /** Back to the freshly made state, so that one core can serve many short runs (fuzzing); false if it cannot. */
  reset(): boolean;
  /** The typed entry (core-abi.ts "Typed entry"), where the core has one; views are valid until the next call into the core. */
  readonly typed?: TypedEntry;
  /** The hot calls (core-abi.ts "Hot calls"), where the core has them. */
  readonly hot?: HotEntry;
}

/**
 * A core's hot calls (core-abi.ts "Hot calls"): each runs its command at once
 * when nothing is queued and no change is noted, and otherwise runs nothing
 * and says so (the caller then queues the command).
 */
export interface HotEntry {
  /** GUEST_ACCESS with private 0: its value word (the byte, for a read) on RES_OK, -1 - code otherwise (its words at result 0), or NOT_NOW. */
  access(vm: number, gfn: number, access: number, byte: number, attr: number): number;
  /** ALLOCATE or PUNCH (punch true) of pages [start, stop) of an inode; false when it did not run. */
  fallocate(inode: number, start: number, stop: number, punch: boolean): boolean;
}

/** HotEntry.access()'s answer when it ran nothing (a result code is at most a small integer, so -1 - code is never this). */
export const NOT_NOW = -(2 ** 31);

/** A core's typed entry: its buffers as views, and its calls (core-abi.ts "Typed entry"). */
export interface TypedEntry {
  /** False while changes are noted: the entry then runs nothing (the change log notes core commands). */
  active(): boolean;
  /** TYPED_CAPACITY commands of 4 words. */
  cmds(): Float64Array;
  /** TYPED_CAPACITY results of 8 words. */
  results(): Float64Array;
  /** The fixups' command indexes (typedFixups() of them are valid). */
  fixes(): Int32Array;
  /** Room for n handles; the table as i32 and f64 views. */
  table(n: number): [Int32Array, Float64Array];
  /** Runs commands [start, n); returns where it stopped (n: all ran). */
  run(n: number, start: number, room: number): number;
  /** Frames the last run may have made. */
  spent(): number;
  /** How many results of the last run await translation. */
  fixups(): number;
  /** Binary replay (core-abi.ts "Binary replay"): the input window and the output buffer. */
  binIn(): Uint8Array;
  binOut(): Uint8Array;
  /** Room for n name indexes; the name table. */
  binNames(n: number): Int32Array;
  binRun(len: number, start: number, at: number, room: number, final: boolean, outAt: number): number;
  binPos(): number;
  binOutLen(): number;
  binCount(): number;
  binRecordStart(): number;
  /** The core's code and value of the command behind BIN_RESULT. */
  rawCode(): number;
  rawValue(): number;
}
