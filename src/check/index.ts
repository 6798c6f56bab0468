/**
 * gmemsim/check: the engine invariants and the security properties, checked on
 * a simulator's state (`checkInvariants(sim.host)`, `checkSecurity(sim.host)`),
 * and the snapshot reader they work from.
 */
export { checkInvariants } from "./invariants.js";
export { checkSecurity, type SecurityState } from "./security.js";
export { readSnapshot, type Snapshot } from "./snapshot.js";
