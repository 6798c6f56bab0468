/**
 * Which objects the core may run typed commands on by itself (core-abi.ts
 * "Typed entry"): those on which none of the kernel layer's per-op checks
 * could refuse a plainly valid command, so that the errno rules stay here and
 * the core only runs what they would let through.
 *  - A VM whose fd no access gets past refusal on (vcpuFdDenied()) and that has
 *    no private memory: every access is shared, and its attr_private does not
 *    depend on the gfn (attrArgOf()); and only while its accesses make no
 *    more frames than the core reserves for one (Host.faultFrames(): none
 *    while the host has a private map, through which a write may copy).
 *  - A gmem file (not a system-design fd) whose fallocates the history does
 *    not keep (fallocateJudged()), that is not linked (no window), under the
 *    built-in default policy, which allows allocating over the whole file and
 *    punching over every offset. That policy refuses a range only for what it
 *    overlaps (a donated window) or for the file itself, so its allow for the
 *    widest ranges holds for every range inside them.
 *  - A live host mapping whose stores make no more frames than the core
 *    reserves for one (not a private map, where a store may copy).
 * What remains per op (a command's numbers, the frame limit) the core checks
 * against what it is given and hands back to the kernel layer when in doubt.
 * The table is rewritten for each typed run (src/api/typed.ts), since any
 * other op may change what it says.
 *
 * An extension of gmemsim (the kernel has no typed tier).
 */
import * as A from "../abi/core-abi.js";
import type { Host } from "./host.js";
import { GmemFile, HostMap, SystemGmem, Vm } from "./objects.js";
import { attrArgOf, vcpuFdDenied } from "./ops/guest.js";
import { hasPrivateMemory } from "./ops/vm.js";
import { fileHot } from "./ops/fallocate.js";

/**
 * Writes handle entry k (core-abi.ts layout: i32 view words k * 8 .., f64
 * view words k * 4 ..) for obj: its hot kind and arguments, or kind 0.
 */
export function writeHotEntry(h: Host, obj: Vm | GmemFile | SystemGmem | HostMap, k: number, i32: Int32Array, f64: Float64Array): void {
  const w = k * (A.TYPED_HANDLE_BYTES / 4);
  const d = k * (A.TYPED_HANDLE_BYTES / 8);
  i32[w] = 0;
  i32[w + 1] = 0;
  i32[w + 2] = 0;
  f64[d + 2] = 0;
  f64[d + 3] = 0;
  if (obj instanceof Vm) {
    if (vcpuFdDenied(obj) || hasPrivateMemory(obj) || obj.privateRanges.length || h.faultFrames(true) > A.TYPED_FAULT_FRAMES) return;
    i32[w] = A.HOT_VM;
    i32[w + 1] = obj.id;
    i32[w + 2] = attrArgOf(h, obj, 0);
  } else if (obj instanceof GmemFile) {
    if (!fileHot(h, obj)) return;
    i32[w] = A.HOT_FILE;
    i32[w + 1] = obj.id;
    i32[w + 2] = obj.inode.id;
  } else if (obj instanceof HostMap) {
    if (!obj.alive || h.faultFrames(true, obj) > A.TYPED_FAULT_FRAMES) return;
    i32[w] = A.HOT_MAP;
    i32[w + 1] = obj.id;
    f64[d + 2] = obj.hvaPage;
    f64[d + 3] = obj.npages;
  }
}
