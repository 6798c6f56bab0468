/**
 * Both cores in lockstep, for fuzzing: one kernel layer drives a Core that
 * sends every command to the engine and to the reference model, and compares
 * their result words at each flush and their snapshots whenever one is taken.
 *
 * Why one kernel layer and not two simulators: the kernel layer is the same
 * code over either core, and what it does next depends only on the core's
 * results, so two kernel layers that saw the same result words take the same
 * steps; running it once per op instead of twice halves the cost of checking
 * a trace. The comparison is also finer than comparing trace results: every
 * word of every core command (aux words included) must agree, not only what
 * the kernel layer reports of them.
 *
 * The engine answers (results, snapshot, change log for the checker); the
 * reference model only has to agree. The first disagreement is kept in
 * `divergence` until reset().
 */
import * as A from "../abi/core-abi.js";
import type { Core } from "../core/core.js";
import type { EngineCore } from "../core/engine.js";
import type { ReferenceCore } from "../core/reference/index.js";

/** What the two cores disagreed on first. */
export interface CoreDivergence {
  /** The command's words (opcode and arguments a..g), or null for a snapshot. */
  command: number[] | null;
  engine: number[];
  reference: number[];
}

/** The contract's opcode names, for messages. */
const OP_NAMES = new Map<number, string>(
  Object.entries(A)
    .filter(([k, v]) => k.startsWith("OP_") && typeof v === "number")
    .map(([k, v]) => [v as number, k.slice(3)]),
);

export function describeDivergence(d: CoreDivergence): string {
  if (!d.command) return `the engine's state differs from the reference model's (snapshots of ${d.engine.length} and ${d.reference.length} words, first difference at word ${d.engine[0]})`;
  const [op, ...args] = d.command;
  return `core command ${OP_NAMES.get(op) ?? op}(${args.join(", ")}): the engine's result words are [${d.engine.join(", ")}], the reference model's [${d.reference.join(", ")}]`;
}

/** The most words of a snapshot copied into a lockstep core's own buffer (larger ones get an array of their own). */
const SNAP_KEPT = 1 << 16;

/** Two words agree: equal numbers (0 and -0 alike, as the snapshot digest has them), or both NaN. */
function same(x: number, y: number): boolean {
  return x === y || (x !== x && y !== y);
}

export class LockstepCore implements Core {
  readonly kind = "wasm" as const;
  onFlush: ((count: number) => void) | null = null;
  divergence: CoreDivergence | null = null;
  /** Commands pushed since reset(): an op that pushed none changed nothing in either core. */
  pushed = 0;
  private count = 0;

  constructor(
    readonly engine: EngineCore,
    readonly reference: ReferenceCore,
  ) {
    engine.onFlush = null;
    reference.onFlush = null;
  }

  get results(): Float64Array {
    return this.engine.results;
  }

  push(op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    if (this.count === A.CMD_CAPACITY) this.flush();
    const i = this.count++;
    this.pushed++;
    // The engine keeps the batch's commands; a divergence report reads the one it names from there.
    this.engine.push(op, a, b, c, d, e, f, g);
    this.reference.push(op, a, b, c, d, e, f, g);
    return i;
  }

  now(op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    const i = this.push(op, a, b, c, d, e, f, g);
    this.flush();
    return i;
  }

  flush(): void {
    const n = this.count;
    this.count = 0;
    this.engine.flush();
    this.reference.flush();
    if (this.divergence === null && n > 0) this.compare(n);
    this.onFlush?.(n);
  }

  private compare(n: number): void {
    const x = this.engine.results;
    const y = this.reference.results;
    for (let k = 0, end = n * A.RES_WORDS; k < end; k++) {
      if (same(x[k], y[k])) continue;
      const i = Math.floor(k / A.RES_WORDS);
      const words = (r: Float64Array) => Array.from(r.subarray(i * A.RES_WORDS, (i + 1) * A.RES_WORDS));
      this.divergence = { command: this.engine.command(i), engine: words(x), reference: words(y) };
      return;
    }
  }

  /** The last snapshot's words (snapshot()), grown on demand: one buffer for every trace a fuzzing thread checks. */
  private snap = new Float64Array(1024);

  /**
   * The engine's snapshot, compared with the reference model's word by word. The words are copied into this core's
   * own buffer, not a new array: valid until the next snapshot() of this core (its callers, checkTrace and the
   * Checker, read each snapshot at once). A fresh array per trace cost an ArrayBuffer and its backing store each
   * (~1% of a fuzzing run).
   */
  snapshot(): Float64Array {
    this.flush();
    const view = this.engine.snapshotView();
    const n = view.length;
    let s: Float64Array;
    // A large state's snapshot gets an array of its own: the buffer kept between traces stays small.
    if (n > SNAP_KEPT) s = view.slice();
    else {
      if (n > this.snap.length) this.snap = new Float64Array(Math.max(n, 2 * this.snap.length));
      this.snap.set(view);
      s = this.snap.subarray(0, n);
    }
    // Only compared here: the reference model's words are read where it wrote them, not copied out.
    const t = this.reference.snapshotView();
    if (this.divergence === null) {
      let k = 0;
      while (k < s.length && k < t.length && same(s[k], t[k])) k++;
      if (k < s.length || k < t.length) this.divergence = { command: null, engine: [k, s.length], reference: [k, t.length] };
    }
    return s;
  }

  memoryBytes(): number {
    return this.engine.memoryBytes();
  }

  /** The engine's change log (the checker's input); the reference model keeps none. */
  trackChanges(on: boolean): void {
    this.flush();
    this.engine.trackChanges(on);
  }

  changes(): Float64Array {
    this.flush();
    return this.engine.changes();
  }

  reset(): boolean {
    this.count = 0;
    this.pushed = 0;
    this.onFlush = null;
    this.divergence = null;
    const ok = this.engine.reset() && this.reference.reset();
    this.engine.onFlush = null;
    this.reference.onFlush = null;
    return ok;
  }
}
