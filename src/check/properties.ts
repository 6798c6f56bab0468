/**
 * A policy's own properties (SPEC §3), checked beside the built-in ones. A
 * property is someone else's code: one that throws, or answers a truthy
 * value that is no sentence, is reported as a violation of that property,
 * saying so, so that a checked run (replay --check, fuzzing) stops there, with a
 * trace that shrinks to what makes it throw, rather than crashing.
 */
import type { PolicyProperty } from "../policy/types.js";
import type { SecurityState } from "./security.js";
import { violation, type Violation } from "./violation.js";
import { foreignText } from "../errors.js";

/** Checks every property of `props` on `state`, pushing each one broken (or broken itself) to `out`. */
export function checkPolicyProperties(props: Readonly<Record<string, PolicyProperty>>, state: SecurityState, out: Violation[]): void {
  for (const [name, fn] of Object.entries(props)) {
    let bad: unknown;
    try {
      bad = fn(state);
    } catch (e) {
      out.push(violation(`policy property ${name}`, `the property threw: ${foreignText(e)}`));
      continue;
    }
    // Holds on null, and on any falsy answer (`return broken && "why"` is the idiom).
    if (!bad) continue;
    out.push(violation(`policy property ${name}`, typeof bad === "string" ? bad : `the property returned ${typeof bad} ${foreignText(bad)} instead of a sentence or null`));
  }
}
