/**
 * gmemsim/fuzz: fuzzing gmemsim (and a permission policy) from a test runner:
 * fast-check arbitraries of trace ops, a model-based command set for
 * fc.commands, and fuzzRun/checkTrace. fast-check is a peer dependency: these
 * arbitraries are built with the project's own copy, so they mix with its
 * fc.assert and fc.property.
 */
export { opArbitraries, opArbitrary, traceArbitrary, setupArbitrary, kernelTraceArbitrary, DEFAULT_WEIGHTS, VM_NAMES, FD_NAMES, MAP_NAMES, type OpName } from "./arbitraries.js";
export { gmemCommands, gmemSetup, GmemCommand, CheckFailure, type GmemModel, type GmemReal } from "./model.js";
export { checkTrace, explain, type TraceFailure, type FailureKind } from "./check.js";
export { fuzzRun, dropOps, type RunOptions, type RunReport } from "./run.js";
// Coverage-guided fuzzing (what gmemsim fuzz runs).
export { guidedRun, type GuidedOptions, type GuidedReport } from "./guided.js";
