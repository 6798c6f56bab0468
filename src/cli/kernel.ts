/** gmemsim kernel TRACE [--json]: the same trace on the real kernel, through the C oracle. */
import { kernelAvailability, runOnKernel } from "../oracle/driver.js";
import { die, parse } from "./args.js";
import { readTrace } from "./replay.js";
import { stringifyJson } from "../trace/json.js";

const USAGE = "gmemsim kernel TRACE [--json]";

export async function kernelCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" } }, USAGE);
  if (positionals.length !== 1) die(`kernel takes one TRACE (or -)\nusage: ${USAGE}`);
  const avail = kernelAvailability();
  if (!avail.ok) die(`the real kernel is not available here: ${avail.reason}`, 3);
  const results = await runOnKernel(readTrace(positionals[0]));
  for (const r of results) {
    if (values.json) console.log(stringifyJson(r));
    else {
      const { i, ...rest } = r as { i: number };
      console.log(`${String(i).padStart(5)}  ${stringifyJson(rest)}`);
    }
  }
  return 0;
}
