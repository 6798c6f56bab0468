/**
 * The engine core: the Core interface over the AssemblyScript module. Commands
 * are written straight into the module's command buffer in linear memory and a
 * whole batch runs in one call to `run`, so the JS/WASM boundary is crossed
 * once per batch. Views are rebuilt whenever memory.grow detached them.
 */
import * as A from "../abi/core-abi.js";
import { NOT_NOW, type Core, type HotEntry, type TypedEntry } from "./core.js";
import { WASM_RELEASE_BASE64 } from "./wasm-binary.generated.js";

/** The module's exports (assembly/index.ts): numbers only. */
export interface EngineExports {
  memory: WebAssembly.Memory;
  cmdPtr(): number;
  resPtr(): number;
  run(n: number): void;
  one(op: number, a: number, b: number, c: number, d: number, e: number, f: number, g: number): void;
  snapshot(): number;
  snapshotPtr(): number;
  /** B+tree nodes in use (the block maps' directories), for memory tests. */
  btreeNodes(): number;
  /** Block-map blocks in use and their bytes (assembly/blockmap.ts), for memory tests. */
  mapBlocks(): number;
  mapBlockBytes(): number;
  /** Block maps whose directory is flat (assembly/blockmap.ts), for memory tests. */
  flatDirs(): number;
  /** Back to the freshly instantiated state. */
  reset(): void;
  /** The change log (core-abi.ts "Change log"): on (1) or off (0). */
  trackChanges(on: number): void;
  /** Writes the change stream; returns its length in doubles (read at changesPtr()). */
  changes(): number;
  changesPtr(): number;
  /** The typed entry (core-abi.ts "Typed entry"). */
  typedCmdPtr(): number;
  typedResPtr(): number;
  typedFixPtr(): number;
  typedHandles(n: number): number;
  typedRun(n: number, start: number, room: number): number;
  typedSpent(): number;
  typedFixups(): number;
  /** Binary replay (core-abi.ts "Binary replay"). */
  binInPtr(): number;
  binOutPtr(): number;
  binNames(n: number): number;
  binRun(len: number, start: number, at: number, room: number, final: number, outAt: number): number;
  binPos(): number;
  binOutLen(): number;
  binCount(): number;
  binRecordStart(): number;
  rawCode(): number;
  rawValue(): number;
  /** Hot calls (core-abi.ts "Hot calls"). */
  hotAccess(vm: number, gfn: number, access: number, byte: number, attr: number): number;
  hotFallocate(inode: number, start: number, stop: number, punch: number): void;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Growth of linear memory past which reset() takes a fresh instance rather than keep the memory (bytes). */
const REUSE_GROWTH = 1 << 20;

const modules: Partial<Record<"release" | "debug", WebAssembly.Module>> = {};
/** The debug build's base64, registered by gmemsim/debug (src/debug.ts), so that no other bundle carries it. */
let debugBase64: string | undefined;

export function registerDebugWasm(base64: string): void {
  debugBase64 = base64;
}

/** Compiles the embedded module once per process (synchronously: it is small). */
function module(flavour: "release" | "debug"): WebAssembly.Module {
  if (flavour === "debug" && debugBase64 === undefined) throw new Error("the debug engine ships on gmemsim/debug: use its debugCore()");
  return (modules[flavour] ??= new WebAssembly.Module(decode(flavour === "release" ? WASM_RELEASE_BASE64 : debugBase64!)));
}

export class EngineCore implements Core {
  readonly kind = "wasm" as const;
  onFlush: ((count: number) => void) | null = null;
  private x: EngineExports;
  private buffer!: ArrayBuffer;
  private cmd!: Float64Array;
  private res!: Float64Array;
  private count = 0;

  readonly typed: TypedEntry;
  private tracking = false;
  private tCmd!: Float64Array;
  private tRes!: Float64Array;
  private tFix!: Int32Array;
  private binInView!: Uint8Array;
  private binOutView!: Uint8Array;

  /** Linear memory of a new instance, in bytes. */
  private readonly startBytes: number;

  constructor(private readonly flavour: "release" | "debug" = "release") {
    this.x = this.instantiate();
    this.startBytes = this.x.memory.buffer.byteLength;
    this.views();
    this.typed = this.typedEntry();
    this.hot = this.hotEntry();
  }

  readonly hot: HotEntry;

  /** Whether a hot call must wait: commands are queued, or changes are noted. */
  private busy(): boolean {
    return this.count > 0 || this.tracking;
  }

  /**
   * The hot calls run only with the batch empty (what is queued runs first, in
   * order) and no change log (which notes the batch's commands). A call can
   * grow the memory (a new frame), so the views are checked after it, as after
   * a flush; nothing is waiting for onFlush with the batch empty.
   */
  private hotEntry(): HotEntry {
    return {
      access: (vm, gfn, access, byte, attr) => {
        if (this.busy()) return NOT_NOW;
        const v = this.x.hotAccess(vm, gfn, access, byte, attr);
        this.fresh();
        return v;
      },
      fallocate: (inode, start, stop, punch) => {
        if (this.busy()) return false;
        this.x.hotFallocate(inode, start, stop, punch ? 1 : 0);
        this.fresh();
        return true;
      },
    };
  }

  private typedEntry(): TypedEntry {
    return {
      active: () => !this.tracking,
      cmds: () => (this.fresh(), this.tCmd),
      results: () => (this.fresh(), this.tRes),
      fixes: () => (this.fresh(), this.tFix),
      table: (n) => {
        const p = this.x.typedHandles(n);
        this.fresh();
        return [new Int32Array(this.buffer, p, (n * A.TYPED_HANDLE_BYTES) / 4), new Float64Array(this.buffer, p, (n * A.TYPED_HANDLE_BYTES) / 8)];
      },
      run: (n, start, room) => {
        // Commands queued by the kernel layer come first.
        this.flush();
        const stop = this.x.typedRun(n, start, room);
        this.fresh();
        return stop;
      },
      spent: () => this.x.typedSpent(),
      fixups: () => this.x.typedFixups(),
      binIn: () => (this.fresh(), this.binInView),
      binOut: () => (this.fresh(), this.binOutView),
      binNames: (n) => {
        const p = this.x.binNames(n);
        this.fresh();
        return new Int32Array(this.buffer, p, n);
      },
      binRun: (len, start, at, room, final, outAt) => {
        this.flush();
        const why = this.x.binRun(len, start, at, room, final ? 1 : 0, outAt);
        this.fresh();
        return why;
      },
      binPos: () => this.x.binPos(),
      binOutLen: () => this.x.binOutLen(),
      binCount: () => this.x.binCount(),
      binRecordStart: () => this.x.binRecordStart(),
      rawCode: () => this.x.rawCode(),
      rawValue: () => this.x.rawValue(),
    };
  }

  private instantiate(): EngineExports {
    const instance = new WebAssembly.Instance(module(this.flavour), {
      env: {
        abort(_msg: number, _file: number, line: number, col: number) {
          throw new Error(`gmemsim engine: internal assertion failed at ${line}:${col}`);
        },
      },
    });
    return instance.exports as unknown as EngineExports;
  }

  private views(): void {
    this.buffer = this.x.memory.buffer;
    this.cmd = new Float64Array(this.buffer, this.x.cmdPtr(), A.CMD_CAPACITY * A.CMD_WORDS);
    this.res = new Float64Array(this.buffer, this.x.resPtr(), A.CMD_CAPACITY * A.RES_WORDS);
    this.tCmd = new Float64Array(this.buffer, this.x.typedCmdPtr(), A.TYPED_CAPACITY * A.TYPED_CMD_WORDS);
    this.tRes = new Float64Array(this.buffer, this.x.typedResPtr(), A.TYPED_CAPACITY * A.TYPED_RES_WORDS);
    this.tFix = new Int32Array(this.buffer, this.x.typedFixPtr(), A.TYPED_CAPACITY);
    this.binInView = new Uint8Array(this.buffer, this.x.binInPtr(), A.BIN_IN_CAP);
    this.binOutView = new Uint8Array(this.buffer, this.x.binOutPtr(), A.BIN_OUT_CAP);
  }

  /** Views rebuilt if memory.grow detached them (a detached buffer has byteLength 0: a field read, where memory.buffer is a call into V8). */
  private fresh(): void {
    if (this.buffer.byteLength === 0) this.views();
  }

  get results(): Float64Array {
    return this.res;
  }

  push(op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    if (this.count === A.CMD_CAPACITY) this.flush();
    const i = this.count++;
    const w = i * A.CMD_WORDS;
    const cmd = this.cmd;
    cmd[w] = op;
    cmd[w + 1] = a;
    cmd[w + 2] = b;
    cmd[w + 3] = c;
    cmd[w + 4] = d;
    cmd[w + 5] = e;
    cmd[w + 6] = f;
    cmd[w + 7] = g;
    return i;
  }

  /** Command i of the last batch, as it was sent (CMD_WORDS words): the run leaves the buffer as it was. */
  command(i: number): number[] {
    return Array.from(this.cmd.subarray(i * A.CMD_WORDS, (i + 1) * A.CMD_WORDS));
  }

  flush(): void {
    const n = this.count;
    if (n > 0) {
      this.x.run(n);
      this.fresh();
    }
    this.count = 0;
    this.onFlush?.(n);
  }

  now(op: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    if (this.count > 0) {
      const i = this.push(op, a, b, c, d, e, f, g);
      this.flush();
      return i;
    }
    // Alone in its batch: the arguments go straight into the core, no view is written.
    this.x.one(op, a, b, c, d, e, f, g);
    this.fresh();
    this.onFlush?.(1);
    return 0;
  }

  snapshot(): Float64Array {
    return this.snapshotView().slice();
  }

  /**
   * The snapshot's words where the core wrote them, not copied: valid only until the next command (as changes()
   * is). For a caller that copies or compares them at once (the fuzzer's lockstep core keeps one buffer for them).
   */
  snapshotView(): Float64Array {
    this.flush();
    const len = this.x.snapshot();
    // Building the stream may have grown memory: a detached view would drop later pushes silently.
    this.fresh();
    return new Float64Array(this.buffer, this.x.snapshotPtr(), len);
  }

  /**
   * Runs a recorded command stream (CMD_WORDS doubles per command) straight
   * through the command buffer, a batch per call into the module, ignoring
   * results: the core alone, with no kernel layer, for benchmarks.
   */
  runStream(stream: Float64Array): void {
    this.flush();
    const step = A.CMD_CAPACITY * A.CMD_WORDS;
    for (let s = 0; s < stream.length; s += step) {
      const part = stream.subarray(s, Math.min(stream.length, s + step));
      this.cmd.set(part);
      this.x.run(part.length / A.CMD_WORDS);
      this.fresh();
    }
  }

  trackChanges(on: boolean): void {
    this.flush();
    this.x.trackChanges(on ? 1 : 0);
    this.tracking = on;
  }

  changes(): Float64Array {
    this.flush();
    const len = this.x.changes();
    // Building the stream may have grown memory.
    this.fresh();
    // A view, not a copy: the stream is read at once, before the next command runs (core.ts says so).
    return new Float64Array(this.buffer, this.x.changesPtr(), len);
  }

  memoryBytes(): number {
    return this.x.memory.buffer.byteLength;
  }

  /**
   * Back to the state of a new core. Reuses this instance (instantiating costs
   * tens of µs, which short fuzz traces feel) while its linear memory is
   * within REUSE_GROWTH of the start-up size; WebAssembly memory cannot
   * shrink, so a core that grew more takes a fresh instance instead, and its
   * grown memory goes with the old one.
   */
  reset(): boolean {
    this.count = 0;
    this.tracking = false;
    this.onFlush = null;
    if (this.x.memory.buffer.byteLength > this.startBytes + REUSE_GROWTH) this.x = this.instantiate();
    else this.x.reset();
    // A new instance has a new buffer, the old one still attached: fresh() would not see it.
    if (this.x.memory.buffer !== this.buffer) this.views();
    return true;
  }
}
