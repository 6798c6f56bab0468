/** gmemsim kernel TRACE [--json]: the same trace on the real kernel, through the C oracle. */
import { kernelAvailability, runOnKernel } from "../oracle/driver.js";
import { die } from "./args.js";
import { readTrace } from "./replay.js";
import { stringifyJson } from "../trace/json.js";

export interface KernelOptions {
  json?: boolean;
}

export async function kernelCommand(trace: string, values: KernelOptions): Promise<number> {
  const avail = kernelAvailability();
  if (!avail.ok) die(`the real kernel is not available here: ${avail.reason}`, 3);
  const results = await runOnKernel(readTrace(trace));
  for (const r of results) {
    if (values.json) console.log(stringifyJson(r));
    else {
      const { i, ...rest } = r as { i: number };
      console.log(`${String(i).padStart(5)}  ${stringifyJson(rest)}`);
    }
  }
  return 0;
}
