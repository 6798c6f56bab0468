/**
 * The typed tier's commands run straight in the core (core-abi.ts "Typed
 * entry"): the public typed layout (src/api/typed.ts) is decoded here, so that
 * a guest access, a one-page allocate or punch, or a host load or store costs
 * no JavaScript at all.
 *
 * The core decides no errno here. The kernel layer marks which handles' hot
 * commands need none of its per-op checks (src/kvm/hot.ts); a command whose
 * handle is not so marked, whose numbers are not plainly in range, or that
 * could pass the frame headroom the kernel layer granted, stops the run: the
 * kernel layer runs it on its own path and starts the core again after it.
 */
import {
  RES_OK, ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC, TYPED_CAPACITY, TYPED_HANDLE_BYTES, TYPED_FAULT_FRAMES, HOT_VM, HOT_FILE, HOT_MAP,
  TYPED_CMD_WORDS, TYPED_RES_WORDS, TYPED_READ as T_READ, TYPED_WRITE as T_WRITE, TYPED_EXEC as T_EXEC,
  TYPED_ALLOCATE as T_ALLOCATE, TYPED_PUNCH as T_PUNCH, TYPED_LOAD as T_LOAD, TYPED_STORE as T_STORE,
} from "../src/abi/core-abi";
import { faultIn, guestAccess, hostAccess, spteAccess } from "./fault";
import { getVm } from "./kvm";
import { allocate, getInode } from "./inode";
import { punch } from "./invalidate";
import { tracking } from "./notes";
import { grow } from "./alloc";
import { wordIndex, INDEX_LIMIT } from "./words";

const CMD = TYPED_CMD_WORDS;
const RES = TYPED_RES_WORDS;

export const typedCmdBuf = memory.data(TYPED_CAPACITY * CMD * 8, 16);
/**
 * The results. A run writes words 0, 1 and 3 of each; words 2 and 4 to 7 are
 * 0 in every result it reports (the kernel layer translates a fixup in its
 * own copy), so they keep the zeros the module starts with: nothing ever
 * writes them, and a run stores three words per command, not eight.
 */
export const typedResBuf = memory.data(TYPED_CAPACITY * RES * 8, 16);
/** Indexes of the results the kernel layer must still translate (an exit, an errno, a signal). */
export const typedFixBuf = memory.data(TYPED_CAPACITY * 4, 16);
/** The core's own result words for the command in hand (result.ts layout). */
const raw = memory.data(64, 16);

/** The handle table: TYPED_HANDLE_BYTES per handle (kind i32, core id i32, arg i32, pad, x f64, y f64). */
let table: usize = 0;
let tableCap: i32 = 0;
let handles: i32 = 0;
/** Frames the run may still make (a fault one, an allocate its length) before the kernel layer must look. */
let headroom: f64 = 0;
let spent: f64 = 0;
let fixups: i32 = 0;

/** Room for n handles (entries kept); returns the table's address, which moves when it grows. */
export function typedHandles(n: i32): usize {
  if (n > tableCap) {
    let cap = max(n, max(16, tableCap * 2));
    table = grow(table, <usize>tableCap * TYPED_HANDLE_BYTES, <usize>cap * TYPED_HANDLE_BYTES, 0);
    tableCap = cap;
  }
  handles = n;
  return table;
}

export function typedSpent(): f64 {
  return spent;
}

export function typedFixups(): i32 {
  return fixups;
}

export function resetTyped(): void {
  table = 0;
  tableCap = 0;
  handles = 0;
  headroom = 0;
  spent = 0;
  fixups = 0;
  // The buffers are not zeroed: a run reads only commands written for it and writes every result word that is
  // not always 0 (zeroing them would add 100 KiB to every reset, which a fuzzer does per trace).
}

/** A frame (or n) out of the headroom, if there is that much. */
@inline function take(n: f64): bool {
  if (n > headroom) return false;
  headroom -= n;
  spent += n;
  return true;
}

/** What typedOne() did: ran it and it succeeded, ran it and the kernel layer must translate its result, or ran nothing. */
export const RAN_OK = 0;
export const RAN_FIX = 1;
export const NEEDS_KERNEL = 2;

/** The byte a successful command read (a read or a load; 0 otherwise), after typedOne() answered RAN_OK. */
export let okValue: f64 = 0;

/**
 * One typed command (its four words), if the core may run it: RAN_OK (the
 * byte read in okValue), RAN_FIX (the core's code and value at `raw`), or
 * NEEDS_KERNEL, having run nothing.
 * Inlined into typedRun(): a call less per command (about 1 ns of a typed
 * command's cost, side by side).
 */
@inline export function typedOne(opw: f64, hw: f64, a: f64, b: f64): i32 {
  // Each word becomes an integer once (words.ts), or -1 when it is not one in range; every check after is on integers.
  return typedCmd<f64>(<i32>wordIndex(opw, 8), <i32>wordIndex(hw, <u64>handles), a, b);
}

/**
 * x as an index below `below`, or -1: a word (f64) by words.ts, or an
 * integer (i64) the binary replay decoded (a varint: below 2^49) by a compare.
 */
@inline function asIndex<W>(x: W, below: u64): i64 {
  if (isFloat<W>()) return wordIndex(<f64>x, below);
  return <u64>x < below ? <i64>x : -1;
}

/**
 * typedOne() once its opcode and handle are indexes (op below 8 and h a
 * handle index, or -1), on its a and b as words (f64: typedRun()) or as
 * integers (i64: binRun(), whose varints are integers below 2^49). Each is
 * made an index where its op reads it, so typedRun() converts only the words
 * a command uses.
 */
@inline export function typedCmd<W>(op: i32, h: i32, aw: W, bw: W): i32 {
  if ((op | h) < 0) return NEEDS_KERNEL;
  let e = table + <usize>h * TYPED_HANDLE_BYTES;
  let kind = load<i32>(e);
  okValue = 0;
  if (<u64>(op - T_READ) <= <u64>(T_EXEC - T_READ)) {
    // An address from 2^52 bytes up (beyond any memslot the kernel layer accepts) goes its way too.
    let addr = asIndex<W>(aw, INDEX_LIMIT);
    // Read, write and exec differ by numbers, not branches (the traffic mixes them at random): word 3 is converted
    // for each, and counts only for a write.
    let written = asIndex<W>(bw, 256);
    let byte: i64 = op == T_WRITE ? written : 0;
    // The headroom is taken for a hit too: the kernel layer refuses any access once the frames a fault may make
    // are not left (README, Frames), before anyone knows whether the SPTE is there.
    if (kind != HOT_VM || (addr | byte) < 0 || !take(<f64>TYPED_FAULT_FRAMES)) return NEEDS_KERNEL;
    let access = op - T_READ + ACCESS_READ; // the typed opcodes and the ABI's accesses are in the same order
    let vmId = load<i32>(e, 4);
    let attr = load<i32>(e, 8);
    // A shared access on a VM whose attributes say shared passes step 1 as is: a present SPTE serves it here, and a
    // missing one goes on to step 2 with what the lookup found (where step 5 installs).
    if (attr == 0) {
      let vm = getVm(vmId);
      let got = spteAccess(vm, <u64>addr >> 12, access, <u32>byte);
      if (got >= 0) {
        okValue = <f64>got; // 0 for a write or exec
        return RAN_OK;
      }
      faultIn(raw, vm, <u64>addr >> 12, access, false, <u32>byte);
    } else guestAccess(raw, vmId, <u64>addr >> 12, access, 0, <u32>byte, attr);
    if (load<f64>(raw) != <f64>RES_OK) return RAN_FIX;
    if (op == T_READ) okValue = load<f64>(raw, 8);
    return RAN_OK;
  }
  if (op == T_ALLOCATE || op == T_PUNCH) return fileCmd(op, kind, e, asIndex<W>(aw, INDEX_LIMIT), asIndex<W>(bw, INDEX_LIMIT));
  if (op == T_LOAD || op == T_STORE) {
    let npages = load<f64>(e, 24);
    return mapCmd(op, kind, e, asIndex<W>(aw, npages < <f64>(INDEX_LIMIT >> 12) ? <u64>npages << 12 : INDEX_LIMIT), op == T_STORE ? asIndex<W>(bw, 256) : 0);
  }
  return NEEDS_KERNEL;
}

/**
 * A one-page-or-more allocate or punch on handle entry e (kind its kind), off and len as indexes (-1: none).
 * Out of line (typedRun() and binRun() each call it): the guest accesses' loop then holds none of its values.
 */
function fileCmd(op: i32, kind: i32, e: usize, off: i64, len: i64): i32 {
  // Whole pages (a failed index is -1: all ones, never aligned), the length non-zero.
  if (kind != HOT_FILE || ((off | len) & 4095) != 0 || len == 0) return NEEDS_KERNEL;
  let ino = getInode(load<i32>(e, 8));
  let ps = <u64>off >> 12;
  let pn = <u64>len >> 12;
  let stop = ps + pn;
  if (op == T_ALLOCATE) {
    if (stop > ino.npages || !take(<f64>pn)) return NEEDS_KERNEL;
    allocate(ino, ps, stop);
  } else punch(ino, ps, stop); // offset and len below 2^52 bytes: far below EFBIG's 2^63
  return RAN_OK;
}

/** A host load or store through the mapping of handle entry e (kind its kind), at addr, of byte (-1: none); out of line, as fileCmd(). */
function mapCmd(op: i32, kind: i32, e: usize, addr: i64, byte: i64): i32 {
  if (kind != HOT_MAP || (addr | byte) < 0 || !take(<f64>TYPED_FAULT_FRAMES)) return NEEDS_KERNEL;
  hostAccess(raw, <u64>load<f64>(e, 16) + (<u64>addr >> 12), op == T_STORE, <u32>byte);
  if (load<f64>(raw) != <f64>RES_OK) return RAN_FIX;
  if (op == T_LOAD) okValue = load<f64>(raw, 8);
  return RAN_OK;
}

/** h if it is an index into the handle table, else -1 (typedCmd()'s form). */
@inline export function typedHandle(h: i32): i32 {
  return <u32>h < <u32>handles ? h : -1;
}

/** Start a run: `room` frames of headroom; false while changes are noted (every command then goes the kernel layer's way: the change log notes core commands). */
export function typedBegin(room: f64): bool {
  headroom = room;
  spent = 0;
  fixups = 0;
  return !tracking;
}

/** The core's code and value of the last RAN_FIX (result.ts words 0 and 1). */
export function rawCode(): f64 {
  return load<f64>(raw);
}
export function rawValue(): f64 {
  return load<f64>(raw, 8);
}

/**
 * Runs commands [start, n) of the typed command buffer until one needs the
 * kernel layer; returns its index (n when none did). `room` is the frame
 * headroom granted for this call; typedSpent() says how much of it went, and
 * typedFixups() how many results await translation: their words 0 and 1
 * are the core's code and value, the rest 0.
 */
export function typedRun(n: i32, start: i32, room: f64): i32 {
  if (!typedBegin(room)) return start;
  if (<u32>n > <u32>TYPED_CAPACITY) n = TYPED_CAPACITY;
  for (let i = start; i < n; i++) {
    let c = typedCmdBuf + (<usize>i << 5);
    let r = typedResBuf + (<usize>i << 6);
    let st = typedOne(load<f64>(c), load<f64>(c, 8), load<f64>(c, 16), load<f64>(c, 24));
    if (st == NEEDS_KERNEL) return i;
    // Words 0, 1 and 3 only: the others of every result here are 0, and nothing writes them (see typedResBuf).
    let ok = st == RAN_OK;
    store<f64>(r, ok ? 0 : load<f64>(raw));
    store<f64>(r, ok ? 0 : load<f64>(raw, 8), 8);
    store<f64>(r, ok ? okValue : 0, 24);
    if (!ok) {
      store<i32>(typedFixBuf + (<usize>fixups << 2), i);
      fixups++;
    }
  }
  return n;
}
