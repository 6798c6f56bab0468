/**
 * Deep freezing of what a policy of someone else's is shown (a request, a
 * view): it cannot change the windows and permission lists the engine then
 * enforces. Objects already frozen are taken as frozen through.
 */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}
