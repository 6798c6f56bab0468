/** Loading a user policy: an ES module (or TypeScript, through ./compile-ts.ts) whose default export (or `policy` export) is a Policy. */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { Policy } from "./types.js";
import { modulePolicy } from "./shape.js";
import { importTsPolicy, TS_POLICY } from "./compile-ts.js";

export async function loadPolicy(file: string): Promise<Policy> {
  const mod = TS_POLICY.test(file) ? await importTsPolicy(file) : await import(pathToFileURL(resolve(file)).href);
  const p = modulePolicy(mod);
  if (typeof p === "string") throw new Error(`${file}: ${p}`);
  return p;
}
