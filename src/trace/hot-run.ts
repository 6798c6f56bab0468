/**
 * The batch tier's hot ops through the typed tier: apply() gathers a run of
 * guest accesses, allocates and punches given as objects (read by
 * readHotOp(), hot-lines.ts) as typed commands, runs them with one
 * TypedBatch.run() (src/api/typed.ts: the same kernel-layer checks and core
 * commands as each op's own path, the core running by itself what none of
 * them could refuse), and makes each op's result line from its result words
 * once the run is over. The line is the one the op's own path gives: the same
 * keys in the same order, and the same sentence behind a failure.
 *
 * A run holds only ops that follow each other: apply() runs it before any
 * other op, so that every op runs in its place in the batch.
 */
import type { Host } from "../kvm/host.js";
import { GmemFile, Vm } from "../kvm/objects.js";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../uapi/constants.js";
import {
  TypedBatch,
  TYPED_ALLOCATE,
  TYPED_CMD_WORDS,
  TYPED_EXEC,
  TYPED_PUNCH,
  TYPED_READ,
  TYPED_RES_WORDS,
  TYPED_WRITE,
} from "../api/typed.js";
import { hotArgs, HOT_EXEC, HOT_FALLOCATE, HOT_READ, HOT_WRITE, takeTarget } from "./hot-lines.js";
import type { ResultLine } from "./replay.js";
import { typedOk, typedResult } from "./typed-result.js";
import { withMessage } from "../kvm/result.js";

/** Ops a run holds at most: it is run when full. */
const RUN = 4096;

const KEEP = FALLOC_FL_KEEP_SIZE;
const PUNCH = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;

/**
 * A success's result line: {i, ret: 0}, and the byte read for a read. Made
 * from an empty object, property by property (the same keys in the same
 * order as a literal's): an object literal has an allocation site, which V8
 * soon marks to allocate in the old generation, since a batch's lines are
 * all alive at once, and old-generation allocation costs several times more.
 */
function okLine(i: number, read: boolean, value: number): ResultLine {
  // Not a literal: V8 soon pretenures a literal's allocation site when a batch's lines all live together, which cost
  // apply() 10 to 20% (README, Performance).
  const line = {} as ResultLine;
  line.i = i;
  line.ret = 0;
  // The byte read is a small integer kept as one (| 0: a double would be boxed).
  if (read) line.value = value | 0;
  return line;
}

export class HotRun {
  private readonly typed: TypedBatch;
  private readonly cmds = new Float64Array(RUN * TYPED_CMD_WORDS);
  private readonly res = new Float64Array(RUN * TYPED_RES_WORDS);
  /**
   * The first op's place in the caller's results and its "i": a run's ops
   * follow each other in both (take() runs what it holds first otherwise), so
   * op k's are these plus k.
   */
  private at0 = 0;
  private i0 = 0;
  private n = 0;
  private out: unknown[] = [];
  /** The typed handle of each VM and gmem file met, by its id (checked against the object: ids are per kind). */
  private readonly vmHandle: number[] = [];
  private readonly fileHandle: number[] = [];
  private readonly objOf: object[] = [];

  constructor(host: Host) {
    this.typed = new TypedBatch({ host });
  }

  /** Whether ops are waiting to run. */
  get pending(): boolean {
    return this.n > 0;
  }

  /** Whether the run is full (run() it before taking more). */
  get full(): boolean {
    return this.n === RUN;
  }

  /**
   * Takes the op readHotOp() just read (op: HOT_*), whose line is `i` and
   * goes to place `at` of the results, if the typed tier has its command: a
   * guest access on a VM, or an allocate or punch (KEEP_SIZE, alone or with
   * PUNCH_HOLE) on a gmem file. false, having taken nothing, otherwise. An
   * op whose place or "i" does not follow the run's last runs the run first.
   */
  take(op: number, i: number, at: number): boolean {
    const t = takeTarget();
    if (this.n > 0 && (at !== this.at0 + this.n || i !== this.i0 + this.n)) this.run();
    const c = this.n * TYPED_CMD_WORDS;
    const cmds = this.cmds;
    if (op === HOT_FALLOCATE) {
      const mode = hotArgs.mode;
      if (!(t instanceof GmemFile) || (mode !== KEEP && mode !== PUNCH)) return false;
      cmds[c] = mode === KEEP ? TYPED_ALLOCATE : TYPED_PUNCH;
      cmds[c + 1] = this.handleOf(t, this.fileHandle);
      cmds[c + 2] = hotArgs.offset;
      cmds[c + 3] = hotArgs.len;
    } else {
      if (!(t instanceof Vm)) return false;
      cmds[c] = op === HOT_READ ? TYPED_READ : op === HOT_WRITE ? TYPED_WRITE : op === HOT_EXEC ? TYPED_EXEC : 0;
      cmds[c + 1] = this.handleOf(t, this.vmHandle);
      cmds[c + 2] = hotArgs.gpa;
      cmds[c + 3] = hotArgs.value;
    }
    if (this.n === 0) {
      this.at0 = at;
      this.i0 = i;
    }
    this.n++;
    return true;
  }

  private handleOf(obj: Vm | GmemFile, byId: number[]): number {
    const h = byId[obj.id];
    if (h !== undefined && this.objOf[h] === obj) return h;
    const fresh = this.typed.handle({ obj });
    byId[obj.id] = fresh;
    this.objOf[fresh] = obj;
    return fresh;
  }

  /** The results the ops taken from now on have their places in (the caller's; bound while the run is empty). */
  bind(out: unknown[]): void {
    if (this.n > 0) this.run();
    this.out = out;
  }

  /** Runs the ops taken, writing each one's result line to its place in the bound results. */
  run(): void {
    const n = this.n;
    if (n === 0) return;
    this.n = 0;
    const res = this.res;
    const out = this.out;
    this.typed.run(this.cmds.subarray(0, n * TYPED_CMD_WORDS), res);
    const at0 = this.at0;
    for (let k = 0; k < n; k++) out[at0 + k] = this.line(k, res);
  }

  /** Op k's result line from its result words (src/api/typed.ts), as its own path makes it. */
  private line(k: number, res: Float64Array): ResultLine {
    const i = this.i0 + k;
    const o = k * TYPED_RES_WORDS;
    if (typedOk(res, k)) return okLine(i, this.cmds[k * TYPED_CMD_WORDS] === TYPED_READ, res[o + 3]);
    // A command the typed tier calls malformed: take() makes none, so this is a bug of gmemsim, said as one.
    if (res[o] < 0) return { i, error: `internal error: the typed tier refused a command apply() made: ${this.typed.message(k)}` };
    const r = typedResult(res, k, false, this.typed.message(k));
    const line = { i, ...r } as ResultLine;
    const why = (r as { message?: string }).message;
    if (why) withMessage(line, why);
    return line;
  }
}
