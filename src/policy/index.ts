/**
 * gmemsim/policy: what a permission policy is made of (the Policy interface,
 * its requests and decisions, the views it sees) and the default policy, to
 * write and type a policy module without the simulator.
 */
export { defaultPolicy } from "./default.js";
/** Whether a page range overlaps a file's donated ranges (FileView.donated: merged and ascending), by binary search. */
export { overlapsRanges } from "../ranges.js";
export type { Policy, Decision, FileView, VmView, LinkRequest, FallocateRequest, BindRequest, MigrateRequest, PolicyProperty } from "./types.js";
export type { SecurityState, Snapshot, HostEvent } from "./facts.js";
