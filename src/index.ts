/**
 * gmemsim's public surface: the simulator and its handles, errors, profiles,
 * trace replay, and the constants of the uAPI. Kept light for web pages (no
 * fast-check, no debug wasm): the checkers are on gmemsim/check, fuzzing on
 * gmemsim/fuzz, policies on gmemsim/policy, the debug engine on gmemsim/debug.
 */
export { Simulator, Vm, GmemFile, Memfd, Mapping, makeCore, type SimulatorOptions, type Num, type FlagsArg, type Int } from "./api/simulator.js";
export { GmemError, TraceError } from "./errors.js";
export { PROFILES, DEFAULT_PROFILE, profileByName, knownProfileNames, type KernelProfile } from "./kvm/profile.js";
export type { Result } from "./kvm/result.js";
// Exact JSON: a reader that keeps 64-bit integers (bigint past 2^53) and a writer that prints their digits.
export { parseJson, stringifyJson } from "./trace/json.js";
// The trace ops' declaration: plain data (fields, C types, defaults, errnos, examples), for tools and docs.
export { OP_DEFS, EXPECT_FIELD, type OpDef, type FieldDef, type FieldKind, type FlagFamily, type CType } from "./trace/opdefs.js";
export { Replayer, replayText, resultLine, expectMismatch, type LineRecord, type ResultLine } from "./trace/replay.js";
// Result lines as bytes (`replay --json`), and binary traces (an extension: gmemsim convert's compact form).
export { replayTextJson } from "./trace/text-json.js";
export { encodeTrace, decodeTrace, isBinaryTrace, BinaryTraceError } from "./trace/binary.js";
export { replayBinary, replayBinaryJson } from "./trace/binary-replay.js";
export { digestSnapshot } from "./core/digest.js";
export * from "./uapi/constants.js";
export { ERRNO, type ErrnoName } from "./uapi/errno.js";
export { defaultPolicy } from "./policy/default.js";
// The system-scoped design (an extension, SPEC §2.3).
export { defaultSystemPolicy } from "./policy/system.js";
export { DESIGNS, type Design } from "./kvm/design.js";
export type { ForeignFault, ForeignRequest, SystemFileView, VmBindRequest } from "./policy/types.js";
export type { Policy, Decision, FileView, VmView, LinkRequest, FallocateRequest, BindRequest, MigrateRequest, PolicyProperty } from "./policy/types.js";
export type { Perm } from "./kvm/perm.js";
// The typed tier (an extension): the hot ops as numbers in typed arrays.
export {
  TypedBatch, type HandleSource, TYPED_CMD_WORDS, TYPED_RES_WORDS, TYPED_READ, TYPED_WRITE, TYPED_EXEC, TYPED_ALLOCATE, TYPED_PUNCH, TYPED_LOAD, TYPED_STORE,
  TYPED_STATS_VM, TYPED_STATS_FILE, TYPED_STATS_HOST, TYPED_PRIVATE, KVM_EXIT_MMIO, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_MEMORY_FAULT, KVM_MEMORY_EXIT_FLAG_PRIVATE, SIGBUS, SIGSEGV,
} from "./api/typed.js";
