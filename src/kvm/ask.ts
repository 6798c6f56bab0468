/**
 * The one way the kernel layer asks its policy: askPolicy(h, "link", req) for
 * a Decision, askForeign(h, req) for a file's answer to foreign pages.
 *
 * A policy is someone else's code, so nothing it does may corrupt the engine:
 * - its request is deeply frozen (it cannot change the window or the perm list
 *   the engine then enforces);
 * - a policy that throws, or returns anything but a Decision, is a deny whose
 *   reason says so (EPERM at the call site), never a crash or an "allow"; a
 *   foreign hook that throws or answers anything but "map", "zero" or
 *   "refuse" is taken as "refuse", the answer that shows no page to a VM it
 *   was not prepared for;
 * - a policy that calls back into its simulator (an op, the API) while it
 *   decides gets a clear error there (policyReentry), and the call changes nothing.
 * A hook the policy does not define allows.
 *
 * The built-in default policy is part of gmemsim and does not write to its
 * requests, so its requests are not frozen: Object.freeze costs ~0.2 us per
 * object on V8, more than the rest of a fallocate. The same holds for a
 * wrapper gmemsim makes around it that only reads its requests (the fuzzer's
 * decision recorder), once marked with askedAsDefault() (own-policy.ts). Every other policy's
 * requests are frozen.
 */
import type { Decision, ForeignFault, ForeignRequest, Policy } from "../policy/types.js";
import { askedAsOwn } from "./own-policy.js";
import { isPerm } from "./perm.js";
import type { Host } from "./host.js";
import { foreignText } from "../errors.js";

/** The hooks a policy may define; each takes its request and returns a Decision. */
type Hook = { [K in keyof Policy]-?: NonNullable<Policy[K]> extends (req: never) => Decision ? K : never }[keyof Policy];
type RequestOf<K extends Hook> = Parameters<NonNullable<Policy[K]>>[0];

const ALLOW: Decision = Object.freeze({ allow: true as const });

/**
 * The hosts whose policies are deciding right now, innermost last, and their
 * hooks. A policy's calls into its own host are refused, so decisions nest only
 * across hosts: the stack is almost always empty or one deep.
 */
const decidingHosts: Host[] = [];
const decidingHooks: string[] = [];

/** Freezes what a policy of someone else's is shown, through: it cannot change the windows and permission lists the engine then enforces. Objects already frozen are taken as frozen through. */
function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** Why `d` is not a Decision, or null when it is one. */
function badDecision(d: unknown): string | null {
  if (d === null || typeof d !== "object") return `returned ${d === undefined ? "nothing" : typeof d} instead of a decision`;
  const o = d as Record<string, unknown>;
  if (o.allow === true) {
    if (o.perm !== undefined && !(Array.isArray(o.perm) && o.perm.every(isPerm))) return 'returned an "allow" whose perm is not an array of "r", "w", "x", "alloc", "punch"';
    return null;
  }
  if (o.allow === false) return typeof o.reason === "string" ? null : 'returned a "deny" without a reason string';
  return 'returned an object whose "allow" is neither true nor false';
}

/**
 * Asks the host's policy `hook` about `req`. The answer is always a well-formed
 * Decision: a throw or a garbage answer becomes a deny with the reason.
 */
export function askPolicy<K extends Hook>(h: Host, hook: K, req: RequestOf<K>): Decision {
  const policy = h.policy;
  const fn = policy[hook] as ((r: RequestOf<K>) => Decision) | undefined;
  if (!fn) return ALLOW;
  if (askedAsOwn(policy)) {
    // gmemsim's own policy is pure: it neither throws, nor calls back, nor answers anything but a Decision,
    // so it is asked directly (a fallocate asks once per call); its perm is still copied.
    const d = fn.call(policy, req);
    return d.allow && d.perm ? { allow: true, perm: [...d.perm] } : d;
  }
  const d = callHook(h, hook, fn, req);
  if (d instanceof Thrown) return { allow: false, reason: `policy error: ${hook}() threw: ${d.why}` };
  const bad = badDecision(d);
  if (bad) return { allow: false, reason: `policy error: ${hook}() ${bad}` };
  const ok = d as Decision;
  // A copy: the policy keeps no handle on what the engine enforces.
  return ok.allow ? (ok.perm ? { allow: true, perm: [...ok.perm] } : ALLOW) : { allow: false, reason: ok.reason };
}

/** What callHook() answers for a hook that threw, saying what it threw (made only then: a throw is rare). */
class Thrown {
  constructor(readonly why: string) {}
}

/**
 * Calls hook `fn` of a policy of someone else's on its request, deeply frozen
 * first, with its calls back into this host refused meanwhile; its answer, or
 * a Thrown.
 */
function callHook<R>(h: Host, hook: string, fn: (r: R) => unknown, req: R): unknown {
  deepFreeze(req);
  decidingHosts.push(h);
  decidingHooks.push(hook);
  try {
    return fn.call(h.policy, req);
  } catch (e) {
    return new Thrown(foreignText(e));
  } finally {
    decidingHosts.pop();
    decidingHooks.pop();
  }
}

/**
 * Asks the host's policy what a new file's faults on pages prepared under
 * another context do (SPEC §2.3): "map" when it has no foreign hook; a throw
 * or any answer but the three is "refuse".
 */
export function askForeign(h: Host, req: ForeignRequest): ForeignFault {
  const policy = h.policy;
  const fn = policy.foreign;
  if (!fn) return "map";
  if (askedAsOwn(policy)) return fn.call(policy, req);
  const a = callHook(h, "foreign", fn, req);
  return a === "map" || a === "zero" || a === "refuse" ? a : "refuse";
}

/** While a policy of this host decides: the sentence refusing a call back into the simulator. */
export function policyReentry(h: Host): string | null {
  if (decidingHosts.length === 0) return null;
  const k = decidingHosts.lastIndexOf(h);
  return k < 0 ? null : `called from inside policy ${h.policy.name}'s ${decidingHooks[k]}() decision: a policy must not call back into its simulator`;
}
