/**
 * gmemsim/check: the engine invariants and the security properties, checked on
 * a simulator's state (`checkInvariants(sim.host)`, `checkSecurity(sim.host)`,
 * or a `Checker` that checks after every op), the violations they report, and
 * the snapshot reader they work from.
 */
export { Checker, checkInvariants, checkSecurity, type CheckSource, type CheckReport } from "./checker.js";
export { render, type Violation, type Namer } from "./violation.js";
export type { SecurityState } from "./security.js";
export { readSnapshot, type Snapshot } from "./snapshot.js";
