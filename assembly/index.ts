/**
 * gmemsim's WebAssembly core: the exports JavaScript sees (numbers only).
 * The contract is src/abi/core-abi.ts; the file headers of this directory say
 * which kernel function each part mirrors.
 *
 * Contract readings (where core-abi.ts leaves a choice, this core does):
 *  - Every result word is written for every command; words the contract does
 *    not name are 0, except that every unsuccessful GUEST_ACCESS result (each
 *    exit, RES_EFAULT and RES_SIGBUS alike) carries the gfn in aux (word 2), as
 *    core-abi.ts says for RES_MMIO; the reference model does the same.
 *  - GUEST_ACCESS: a read returns the byte as value; a write or an exec
 *    returns value 0 (core-abi names a value for reads only), in 1b and 5 alike.
 *  - GUEST_ACCESS step 5 "replacing any SPTE there, or its rights widened": an
 *    SPTE already mapping gfn to the same pfn keeps its rights and gains the
 *    access's; one mapping another pfn is replaced with the access's rights
 *    only. faults += 1 either way; sptes grows only for a new gfn.
 *  - FILE_SET_RIGHTS zaps every SPTE in the whole gfn range of each binding of
 *    the file (whatever path installed it), as invalidate step 1 does.
 *  - INODE_DESTROY only frees pages (no zap: no file or map is left on it).
 *  - VM_DESTROY frees SPTEs without counting zaps (the counters die with it).
 *  - ZAP_GFNS and the zap-all of SLOT_DELETE/SLOT_MOVE count one zap per SPTE
 *    removed; zapping nothing changes nothing.
 *  - HOST_ACCESS at an hva no map holds (never sent) answers RES_SIGSEGV.
 *  - SLOT_CREATE and SLOT_SET_UADDR zap nothing (only delete and move flush).
 *  - A memslot's uaddr is 0 until SLOT_SET_UADDR, and the MMU notifier treats
 *    it as covering hva pages [0, npages) like any other value.
 *  - A VM's encryption context is a u32 (the kernel layer sends id + 1 or 0).
 *    A private fault in step 3 prepares a page not yet PG_PRIVATE even when
 *    the VM's ctx is 0 (PG_PRIVATE set, ctx word 0). Only freeing a frame
 *    clears PG_PRIVATE and the ctx word (MEMORY_FAILURE keeps them); a new
 *    frame starts with flags 0 and ctx 0.
 *  - SPTE_PRIVATE is one of the SPTE's rights bits for step 5's widening: an
 *    SPTE to the same pfn ORs in the access's rights, SPTE_PRIVATE included,
 *    and never loses it; a replaced SPTE has exactly the new access's bits.
 *  - FILE_BLOCK with start >= end adds no range (the kernel layer only blocks
 *    non-empty donated windows); blocked ranges that overlap or touch merge.
 *  - FILE_BLOCK's notifier step runs over the maps whose `file` is the
 *    blocked file only; maps of other files (or of no file) on the same inode
 *    are not invalidated and keep reaching the pages.
 *  - A host map's file that is no longer live (never sent: the kernel layer
 *    releases a gmem file only once it has no maps) blocks nothing.
 * These agree with src/core/reference/ (checked result word by word and
 * snapshot double by double on random traces).
 */
import { CMD_CAPACITY } from "../src/abi/core-abi";
import { cmdBuf, resBuf, runBatch, resetBatch } from "./batch";
import { snapshot as buildSnapshot, snapshotPtr as snapPtr, resetSnapshot } from "./snapshot";
import { liveNodes, resetBtree } from "./btree";
import { liveBlocks, liveBlockBytes, liveFlats, resetBlockmap } from "./blockmap";
import { resetAlloc } from "./alloc";
import { resetFrames } from "./frames";
import { resetInodes } from "./inode";
import { resetFiles } from "./file";
import { resetVms } from "./kvm";
import { resetMaps } from "./hostmap";
import { resetHva } from "./memslot";
import { resetPins } from "./pins";
import { changes as buildChanges, changesPtr as chgPtr, resetChanges } from "./changelog";
import { setTracking } from "./notes";
import { typedCmdBuf, typedResBuf, typedFixBuf, typedRun as runTyped, typedHandles as handleTable, typedSpent as spentFrames, typedFixups as fixupCount, resetTyped } from "./typed";
import { binIn, binOut, binNames as nameTable, binRun as runBin, binPos as posBin, binOutLen as outLenBin, binCount as countBin, binRecordStart as startBin, resetBinReplay } from "./binreplay";
import { rawCode as codeRaw, rawValue as valueRaw } from "./typed";
import "./abort";
export { hotAccess, hotFallocate } from "./hotcall";

/** Command buffer: CMD_CAPACITY x CMD_WORDS doubles (static: never moves). */
export function cmdPtr(): usize {
  return cmdBuf;
}

/** Result buffer: CMD_CAPACITY x RES_WORDS doubles (static: never moves). */
export function resPtr(): usize {
  return resBuf;
}

/** Run commands 0..n-1 of the command buffer, filling results 0..n-1. */
export function run(n: i32): void {
  runBatch(n);
}

/**
 * One command given as arguments, run as a batch of one (its words land in
 * command 0, its result in result 0): a call from JavaScript that writes no
 * view, for the object API's accesses that need their answer at once.
 */
export function one(op: f64, a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, g: f64): void {
  store<f64>(cmdBuf, op);
  store<f64>(cmdBuf, a, 8);
  store<f64>(cmdBuf, b, 16);
  store<f64>(cmdBuf, c, 24);
  store<f64>(cmdBuf, d, 32);
  store<f64>(cmdBuf, e, 40);
  store<f64>(cmdBuf, f, 48);
  store<f64>(cmdBuf, g, 56);
  runBatch(1);
}

/** Build the snapshot stream; returns its length in doubles (read at snapshotPtr()). */
export function snapshot(): i32 {
  return buildSnapshot();
}

/** The snapshot stream's address, valid after snapshot() until the next run() or snapshot(). */
export function snapshotPtr(): usize {
  return snapPtr();
}

/** B+tree nodes in use (btree.ts NODE_BYTES each; the block maps' directories): for memory tests. */
export function btreeNodes(): i32 {
  return liveNodes;
}

/** Block-map blocks in use (blockmap.ts: the page caches' and stage-2 tables' leaves), for memory tests. */
export function mapBlocks(): i32 {
  return liveBlocks;
}

/** Bytes of those blocks (their size classes differ). */
export function mapBlockBytes(): f64 {
  return <f64>liveBlockBytes;
}

/** Flat block-map directories in use (blockmap.ts, 128 bytes each), for memory tests. */
export function flatDirs(): i32 {
  return liveFlats;
}

/** Commands per batch, so JavaScript need not trust its own copy of the constant. */
export function capacity(): i32 {
  return CMD_CAPACITY;
}

/**
 * Back to the state of a fresh instance, so that a fuzzer can reuse one
 * instance per thread (instantiation costs tens of microseconds). Every
 * module-level variable and static region gets its initial value (but the
 * typed entry's and the binary replay's input and output areas, which are
 * always written before they are read), and the heap is zeroed up to the
 * highest address ever allocated: the cost is that of zeroing the memory used
 * plus the batch buffers (104 KiB) and the block cache (32 KiB). Linear memory keeps its size (it cannot shrink); the pages past
 * the heap are still zero. Views of memory.buffer stay valid.
 */
export function reset(): void {
  resetAlloc();
  resetBtree();
  resetBlockmap();
  resetFrames();
  resetInodes();
  resetFiles();
  resetVms();
  resetMaps();
  resetHva();
  resetPins();
  resetSnapshot();
  resetBatch();
  resetChanges();
  resetTyped();
  resetBinReplay();
}

// ---- Typed entry (core-abi.ts "Typed entry") ----

/** The typed command buffer: TYPED_CAPACITY x 4 doubles (static). */
export function typedCmdPtr(): usize {
  return typedCmdBuf;
}

/** The typed result buffer: TYPED_CAPACITY x 8 doubles (static). */
export function typedResPtr(): usize {
  return typedResBuf;
}

/** The fixup list: up to TYPED_CAPACITY i32 command indexes (static). */
export function typedFixPtr(): usize {
  return typedFixBuf;
}

/** Room for n handles; returns the handle table's address (it moves when it grows). */
export function typedHandles(n: i32): usize {
  return handleTable(n);
}

/** Runs typed commands [start, n) until one needs the kernel layer; returns its index, or n. */
export function typedRun(n: i32, start: i32, room: f64): i32 {
  return runTyped(n, start, room);
}

/** Frames the last typedRun() may have made (counted as its headroom was). */
export function typedSpent(): f64 {
  return spentFrames();
}

/** Results of the last typedRun() that the kernel layer must translate (listed at typedFixPtr()). */
export function typedFixups(): i32 {
  return fixupCount();
}

// ---- Change log (core-abi.ts "Change log") ----

/** Note what each command changes (1), or stop (0); either way the notes so far are dropped. */
export function trackChanges(on: i32): void {
  setTracking(on != 0);
}

/** Write the change stream since the last call; returns its length in doubles (read at changesPtr()). */
export function changes(): i32 {
  return buildChanges();
}

/** The change stream's address, valid after changes() until the next run() or changes(). */
export function changesPtr(): usize {
  return chgPtr();
}

// ---- Binary replay (core-abi.ts "Binary replay") ----

/** The input window (BIN_IN_CAP bytes, static). */
export function binInPtr(): usize {
  return binIn;
}

/** The output buffer (BIN_OUT_CAP bytes, static). */
export function binOutPtr(): usize {
  return binOut;
}

/** Room for n name indexes; returns the name table's address (it moves when it grows). */
export function binNames(n: i32): usize {
  return nameTable(n);
}

/** Reads and runs the window's records from `start`, its lines written from binOut byte `outAt`; returns why it stopped (BIN_*). */
export function binRun(len: i32, start: i32, at: f64, room: f64, final: i32, outAt: i32): i32 {
  return runBin(len, start, at, room, final != 0, outAt);
}

export function binPos(): i32 {
  return posBin();
}

export function binOutLen(): i32 {
  return outLenBin();
}

export function binCount(): f64 {
  return countBin();
}

export function binRecordStart(): i32 {
  return startBin();
}

/** The core's code and value of the command that stopped a binary run with BIN_RESULT. */
export function rawCode(): f64 {
  return codeRaw();
}

export function rawValue(): f64 {
  return valueRaw();
}
