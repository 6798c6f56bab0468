/**
 * Which policies are gmemsim's own: the default policies of both designs, and
 * wrappers gmemsim makes around them that only read their requests (the
 * fuzzer's decision recorder, src/fuzz/coverage.ts). Such a policy is asked
 * directly and shown unfrozen requests and views (ask.ts); any other policy
 * is someone else's code, and is shown them deeply frozen.
 */
import { defaultPolicy } from "../policy/default.js";
import { defaultSystemPolicy } from "../policy/system.js";
import type { Policy } from "../policy/types.js";

/** Wrappers of gmemsim's own around the default policy, asked as it is. */
const asDefault = new WeakSet<Policy>();

/**
 * Marks `wrapper`, a policy gmemsim made around the default policy, to be asked
 * as the default policy is: directly, its requests unfrozen. Only for wrappers
 * that pass each request to one of the default policies, return its decision unchanged,
 * and otherwise only read the request (never keep, change or call back).
 * Returns the wrapper.
 */
export function askedAsDefault<P extends Policy>(wrapper: P): P {
  asDefault.add(wrapper);
  return wrapper;
}

/** Whether `policy` is asked as gmemsim's own default policies are: one of them, or a wrapper marked by askedAsDefault(). */
export function askedAsOwn(policy: Policy): boolean {
  return isOwnDefault(policy) || asDefault.has(policy);
}

/** Whether `policy` is one of gmemsim's own default policies (a wrapper of it may be marked by askedAsDefault()). */
export function isOwnDefault(policy: Policy): boolean {
  return policy === defaultPolicy || policy === defaultSystemPolicy;
}
