/**
 * The streams of doubles the core writes for JavaScript to read (core-abi.ts:
 * the snapshot and the change log), and the records both hold alike. Each
 * stream keeps its own buffer (a change stream is read as a view while a
 * snapshot may be built); a writer opens one, emits into it, and closes it,
 * which leaves its length and address for the caller. Buffers grow by
 * doubling and are kept between calls.
 */
import { resize } from "./alloc";
import { GmemFile } from "./file";
import { Kvm } from "./kvm";
import { HostMap, isPrivate } from "./hostmap";
import { Memslot } from "./memslot";
import { Ranges, Vec } from "./vec";
import { CHG_ATTRS, CHG_SLOT, CHG_BINDING } from "../src/abi/core-abi";
import { firstEndingAfter } from "./binding";
import { SPTE_SHIFT, SPTE_BITS } from "./stage2";
import { frameByte, frameFlags, frameCtx } from "./frames";

/** A stream's header, in static memory: buffer address, capacity and length (in doubles). */
@unmanaged export class StreamHead {
  buf: usize = 0;
  cap: usize = 0;
  len: usize = 0;
}

/** Each stream's owner keeps its header in its own static memory (memory.data(offsetof<StreamHead>(), 8)), so a reset clears it here. */
export function clearStream(s: StreamHead): void {
  s.buf = 0;
  s.cap = 0;
  s.len = 0;
}

// The open stream, as plain globals: emit() is the hot part of writing one.
let open: StreamHead = changetype<StreamHead>(0);
let buf: usize = 0;
let cap: usize = 0;
let len: usize = 0;

/** Starts writing s from its beginning. */
export function openStream(s: StreamHead): void {
  open = s;
  buf = s.buf;
  cap = s.cap;
  len = 0;
}

/** Ends the write: returns its length in doubles (the stream's address is s.buf). */
export function closeStream(): i32 {
  open.buf = buf;
  open.cap = cap;
  open.len = len;
  return <i32>len;
}

@inline export function reserve(n: usize): void {
  if (len + n > cap) {
    let c = cap < 1024 ? <usize>1024 : cap;
    while (c < len + n) c <<= 1;
    buf = resize(buf, cap << 3, c << 3);
    cap = c;
  }
}

@inline export function emit(x: f64): void {
  store<f64>(buf + (len << 3), x);
  len++;
}

/** Where the next double goes: a count written ahead of its entries is patched there (patch()). */
@inline export function mark(): usize {
  return len;
}

@inline export function patch(at: usize, x: f64): void {
  store<f64>(buf + (at << 3), x);
}

// ---- records both streams hold ----

/** Entries written by emitPage() and emitSpte() since the count was last reset. */
export let entries: i32 = 0;

export function resetEntries(): void {
  entries = 0;
}

/** A page: pgoff, pfn, byte, flags, ctx. */
export function emitPage(pgoff: u64, pfn: u32): void {
  reserve(5);
  emit(<f64>pgoff); emit(<f64>pfn); emit(<f64>frameByte(pfn)); emit(<f64>frameFlags(pfn)); emit(<f64>frameCtx(pfn));
  entries++;
}

/** An SPTE: gfn, pfn, rights. */
export function emitSpte(gfn: u64, v: u32): void {
  reserve(3);
  emit(<f64>gfn); emit(<f64>(v >>> SPTE_SHIFT)); emit(<f64>(v & SPTE_BITS));
  entries++;
}

/** Ranges: n, then n x (start, end). */
export function emitRuns(a: Ranges): void {
  reserve(1 + <usize>a.len * 2);
  emit(a.len);
  for (let i = 0; i < a.len; i++) {
    emit(<f64>a.start(i)); emit(<f64>a.end(i));
  }
}

/** A CHG_ATTRS or CHG_BLOCKED record (`tag`): the runs of `a` that overlap or touch [s, e), found by a binary search. */
export function emitRunsAround(tag: i32, id: i32, a: Ranges, s: u64, e: u64): void {
  let i = a.firstEndingFrom(s);
  let j = i;
  while (j < a.len && a.start(j) <= e) j++;
  reserve(5 + <usize>(j - i) * 2);
  emit(tag); emit(id); emit(<f64>s); emit(<f64>e); emit(j - i);
  for (let k = i; k < j; k++) {
    emit(<f64>a.start(k)); emit(<f64>a.end(k));
  }
}

/** A file record: tag, id, inode, vm, rights, its bindings (n x (pgoff, npages, slot)), its blocked ranges. */
export function emitFile(tag: i32, id: i32, f: GmemFile): void {
  let v = f.bindings;
  reserve(6 + <usize>v.len * 3);
  emit(tag); emit(id); emit(f.inode.id); emit(f.vm.id); emit(f.rights); emit(v.len);
  for (let i = 0; i < v.len; i++) {
    let m = changetype<Memslot>(<usize>v.get(i));
    emit(<f64>m.pgoff); emit(<f64>m.npages); emit(m.id);
  }
  emitRuns(f.blocked);
}

/** A VM's memslots: n, then n x (slot, base gfn, npages, flags, file, pgoff, uaddr page). */
export function emitSlots(vm: Kvm): void {
  let v = vm.byId;
  reserve(1 + <usize>v.len * 7);
  emit(v.len);
  for (let i = 0; i < v.len; i++) {
    let m = changetype<Memslot>(<usize>v.get(i));
    emit(m.id);
    emitSlotWords(m);
  }
}

/** A memslot's six words after its id (CHG_VM, SNAP_VM, CHG_SLOT): base gfn, npages, flags, file, pgoff, uaddr page. */
@inline function emitSlotWords(m: Memslot): void {
  emit(<f64>m.base); emit(<f64>m.npages); emit(m.flags); emit(m.file); emit(<f64>m.pgoff); emit(<f64>m.uaddr);
}

/** A CHG_SLOT record: the memslot of VM vm with id `slot` as it is, or that there is none. */
export function emitSlot(vm: i32, slot: i32, m: Memslot | null): void {
  reserve(10);
  emit(CHG_SLOT); emit(vm); emit(slot);
  if (m === null) {
    emit(0);
    return;
  }
  emit(1);
  emitSlotWords(m);
}

/** A CHG_BINDING record: the binding of memslot `slot` at pgoff in the bindings v of file `file`, by its length (0: none). */
export function emitBinding(file: i32, v: Vec, slot: i32, pgoff: u64): void {
  reserve(5);
  emit(CHG_BINDING); emit(file); emit(slot); emit(<f64>pgoff);
  // Those that start at pgoff follow the first that ends after it (one that starts before, overlapping, is passed).
  for (let i = firstEndingAfter(v, pgoff), n = v.len; i < n; i++) {
    let m = changetype<Memslot>(<usize>v.get(i));
    if (m.pgoff < pgoff) continue;
    if (m.pgoff > pgoff) break;
    if (m.id == slot) {
      emit(<f64>m.npages);
      return;
    }
  }
  emit(0);
}

/** A map record: tag, id, hva page, npages, inode, pgoff, rights, file, copy inode (HOSTMAP_COW) or -1. */
export function emitMap(tag: i32, id: i32, m: HostMap): void {
  reserve(9);
  emit(tag); emit(id); emit(<f64>m.hva); emit(<f64>m.npages); emit(m.inode.id); emit(<f64>m.pgoff); emit(m.rights); emit(m.file);
  emit(isPrivate(m) ? m.cow.id : -1);
}
