/**
 * gmemsim convert IN OUT: a JSONL trace to the binary trace format, or a
 * binary trace back to JSONL (whichever IN is; src/trace/binary.ts). "-"
 * reads standard input or writes standard output.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { decodeTrace, encodeTrace, isBinaryTrace } from "../trace/binary.js";
import { die } from "./args.js";

export async function convertCommand(from: string, to: string): Promise<number> {
  let input: Uint8Array;
  try {
    input = readFileSync(from === "-" ? 0 : from);
  } catch (e) {
    die(`cannot read ${from}: ${(e as Error).message}`);
  }
  let output: Uint8Array | string;
  try {
    output = isBinaryTrace(input) ? decodeTrace(input) : encodeTrace(new TextDecoder("utf-8", { fatal: true }).decode(input));
  } catch (e) {
    die(`${from}: ${(e as Error).message}`);
  }
  try {
    writeFileSync(to === "-" ? 1 : to, output);
  } catch (e) {
    die(`cannot write ${to}: ${(e as Error).message}`);
  }
  return 0;
}
