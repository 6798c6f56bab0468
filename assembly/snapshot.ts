/**
 * The snapshot stream of core-abi.ts: every live object in id order, as
 * doubles, into one buffer that grows as needed and is kept between calls.
 * Not a hot path: it is how the differential test and invariant checks see
 * the whole state.
 */
import { SNAP_INODE, SNAP_FILE, SNAP_VM, SNAP_MAP, SNAP_END, SNAP_ATTR, SNAP_DETACHED } from "../src/abi/core-abi";
import { inodes, Inode } from "./inode";
import { files, GmemFile } from "./file";
import { vms, Kvm } from "./kvm";
import { maps, HostMap } from "./hostmap";
import { Memslot } from "./memslot";
import { resize } from "./alloc";
import { SPTE_SHIFT, SPTE_BITS } from "./stage2";
import { bmForEach, bmCount } from "./blockmap";
import { frameByte, frameFlags, frameCtx, gmemPages, anonPages, nextPfn, stackLen, detachedGmem, detachedAnon } from "./frames";

let buf: usize = 0;
let cap: usize = 0; // doubles
let len: usize = 0;

export function resetSnapshot(): void {
  buf = 0;
  cap = 0;
  len = 0;
}

export function snapshotPtr(): usize {
  return buf;
}

@inline function reserve(n: usize): void {
  if (len + n > cap) {
    let c = cap < 1024 ? <usize>1024 : cap;
    while (c < len + n) c <<= 1;
    buf = resize(buf, cap << 3, c << 3);
    cap = c;
  }
}

@inline function emit(x: f64): void {
  store<f64>(buf + (len << 3), x);
  len++;
}

function emitPage(pgoff: u64, pfn: u32): void {
  emit(<f64>pgoff);
  emit(<f64>pfn);
  emit(<f64>frameByte(pfn));
  emit(<f64>frameFlags(pfn));
  emit(<f64>frameCtx(pfn));
}

function emitSpte(gfn: u64, v: u32): void {
  emit(<f64>gfn);
  emit(<f64>(v >>> SPTE_SHIFT));
  emit(<f64>(v & SPTE_BITS));
}

export function snapshot(): i32 {
  len = 0;
  for (let id = 0, end = inodes.end; id < end; id++) {
    let p = inodes.get(id);
    if (p == 0) continue;
    let ino = changetype<Inode>(p);
    let n = bmCount(ino.pages);
    reserve(6 + <usize>n * 5);
    emit(SNAP_INODE); emit(id); emit(<f64>ino.npages); emit(ino.kind); emit(ino.gmemFlags); emit(<f64>n);
    bmForEach(ino.pages, 0, u64.MAX_VALUE, emitPage);
  }
  for (let id = 0, end = files.end; id < end; id++) {
    let p = files.get(id);
    if (p == 0) continue;
    let f = changetype<GmemFile>(p);
    let v = f.bindings;
    let b = f.blocked;
    reserve(7 + <usize>v.len * 3 + <usize>b.len * 2);
    emit(SNAP_FILE); emit(id); emit(f.inode.id); emit(f.vm.id); emit(f.rights); emit(v.len);
    for (let i = 0; i < v.len; i++) {
      let m = changetype<Memslot>(<usize>v.get(i));
      emit(<f64>m.pgoff); emit(<f64>m.npages); emit(m.id);
    }
    emit(b.len);
    for (let i = 0; i < b.len; i++) {
      emit(<f64>b.start(i)); emit(<f64>b.end(i));
    }
  }
  for (let id = 0, end = vms.end; id < end; id++) {
    let p = vms.get(id);
    if (p == 0) continue;
    let vm = changetype<Kvm>(p);
    let v = vm.byId;
    reserve(4 + <usize>v.len * 7 + <usize>vm.sptes * 3 + 5);
    emit(SNAP_VM); emit(id); emit(v.len);
    for (let i = 0; i < v.len; i++) {
      let m = changetype<Memslot>(<usize>v.get(i));
      emit(m.id); emit(<f64>m.base); emit(<f64>m.npages); emit(m.flags);
      emit(m.file); emit(<f64>m.pgoff); emit(<f64>m.uaddr);
    }
    emit(<f64>vm.sptes);
    bmForEach(vm.s2, 0, u64.MAX_VALUE, emitSpte);
    emit(<f64>vm.sptes); emit(<f64>vm.faults); emit(<f64>vm.zaps); emit(<f64>vm.exits); emit(vm.ctx);
  }
  for (let id = 0, end = maps.end; id < end; id++) {
    let p = maps.get(id);
    if (p == 0) continue;
    let m = changetype<HostMap>(p);
    reserve(8);
    emit(SNAP_MAP); emit(id); emit(<f64>m.hva); emit(<f64>m.npages); emit(m.inode.id); emit(<f64>m.pgoff); emit(m.rights); emit(m.file);
  }
  for (let id = 0, end = inodes.end; id < end; id++) {
    let p = inodes.get(id);
    if (p == 0) continue;
    let a = changetype<Inode>(p).priv;
    if (a.len == 0) continue;
    reserve(3 + <usize>a.len * 2);
    emit(SNAP_ATTR); emit(id); emit(a.len);
    for (let i = 0; i < a.len; i++) {
      emit(<f64>a.start(i)); emit(<f64>a.end(i));
    }
  }
  if (detachedGmem != 0 || detachedAnon != 0) {
    reserve(3);
    emit(SNAP_DETACHED); emit(<f64>detachedGmem); emit(<f64>detachedAnon);
  }
  reserve(5);
  emit(SNAP_END); emit(<f64>gmemPages); emit(<f64>anonPages); emit(nextPfn); emit(stackLen);
  return <i32>len;
}
