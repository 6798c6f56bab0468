/**
 * What a policy object must be, wherever one comes in: the Simulator's
 * `policy` option, a `--policy` module, the playground's pasted module. A
 * name; each hook, when present, a function; `properties`, when present, an
 * object of named predicates; and no other key, since a misspelt hook would
 * otherwise never be asked (an absent hook allows).
 */
import type { Policy } from "./types.js";

const POLICY_HOOKS = ["link", "fallocate", "bind", "migrate", "convert", "foreign"] as const;
const KEYS: readonly string[] = ["name", ...POLICY_HOOKS, "properties"];

/** Why `p` is not a usable policy, as a sentence naming the key, or null. */
export function policyShapeError(p: unknown): string | null {
  if (p === null || typeof p !== "object" || typeof (p as { name?: unknown }).name !== "string") return "expected a policy object with a name";
  const o = p as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) return `"${k}" is no key of a policy (it takes ${KEYS.join(", ")})`;
  for (const k of POLICY_HOOKS) if (o[k] !== undefined && typeof o[k] !== "function") return `${k} must be a function, got ${typeof o[k]}`;
  const props = o.properties;
  if (props === undefined) return null;
  if (props === null || typeof props !== "object") return "properties must be an object of named predicates";
  for (const [name, fn] of Object.entries(props)) if (typeof fn !== "function") return `properties.${name} must be a function, got ${typeof fn}`;
  return null;
}

/**
 * The policy a loaded module exports (its default export, or one named
 * "policy"), or why it has none usable, as a sentence to follow the module's
 * name and a colon: the one rule of the `--policy` loader and the playground's.
 */
export function modulePolicy(mod: Readonly<Record<string, unknown>>): Policy | string {
  const p = mod.default ?? mod.policy;
  if (!p) return 'needs a default export (or "policy") that is a policy object with a name';
  const why = policyShapeError(p);
  return why ? `policy: ${why}` : (p as Policy);
}
