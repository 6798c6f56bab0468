/**
 * A core instance driven by raw commands through its buffers, for the suites
 * that test the WebAssembly module on its own (no kernel layer).
 */
import * as A from "../../src/abi/core-abi.js";
import type { EngineExports } from "../../src/core/engine.js";

export type Cmd = [op: number, ...args: number[]];

/** A fresh instance of the module (an assertion of the debug build throws "abort"). */
export function rawInstance(module: WebAssembly.Module): EngineExports {
  return new WebAssembly.Instance(module, { env: { abort() { throw new Error("abort"); } } }).exports as unknown as EngineExports;
}

/** Runs the commands, a batch per CMD_CAPACITY (unused words 0); returns each command's result words. */
export function runRaw(x: EngineExports, cmds: Cmd[]): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < cmds.length; s += A.CMD_CAPACITY) {
    const part = cmds.slice(s, s + A.CMD_CAPACITY);
    const cmd = new Float64Array(x.memory.buffer, x.cmdPtr(), A.CMD_CAPACITY * A.CMD_WORDS);
    part.forEach((c, i) => {
      cmd.fill(0, i * A.CMD_WORDS, (i + 1) * A.CMD_WORDS);
      cmd.set(c, i * A.CMD_WORDS);
    });
    x.run(part.length);
    const res = new Float64Array(x.memory.buffer, x.resPtr(), A.CMD_CAPACITY * A.RES_WORDS);
    part.forEach((_, i) => out.push(Array.from(res.subarray(i * A.RES_WORDS, (i + 1) * A.RES_WORDS))));
  }
  return out;
}
