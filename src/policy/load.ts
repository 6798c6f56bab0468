/** Loading a user policy: an ES module (or TypeScript, through ./compile-ts.ts) whose default export (or `policy` export) is a Policy. */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { Policy } from "./types.js";
import { policyShapeError } from "./shape.js";
import { importTsPolicy, TS_POLICY } from "./compile-ts.js";

export async function loadPolicy(file: string): Promise<Policy> {
  const mod = TS_POLICY.test(file) ? await importTsPolicy(file) : await import(pathToFileURL(resolve(file)).href);
  const p = (mod.default ?? mod.policy) as Policy | undefined;
  if (!p) throw new Error(`${file}: expected a default export (or "policy") that is a policy object with a name`);
  const why = policyShapeError(p);
  if (why) throw new Error(`${file}: policy: ${why}`);
  return p;
}
