/**
 * gmemsim convert IN OUT: a JSONL trace to the binary trace format, or a
 * binary trace back to JSONL (whichever IN is; src/trace/binary.ts). "-"
 * reads standard input or writes standard output.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { decodeTrace, encodeTrace, isBinaryTrace } from "../trace/binary.js";
import { die, parse } from "./args.js";

const USAGE = "gmemsim convert IN OUT   (JSONL to binary, or binary to JSONL; - for stdin/stdout)";

export async function convertCommand(argv: string[]): Promise<number> {
  const { positionals } = parse(argv, {}, USAGE);
  if (positionals.length !== 2) die(`convert takes IN and OUT\nusage: ${USAGE}`);
  const [from, to] = positionals;
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
