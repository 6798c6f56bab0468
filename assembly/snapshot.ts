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
import { bmForEach, bmCount } from "./blockmap";
import { gmemPages, anonPages, nextPfn, stackLen, detachedGmem, detachedAnon } from "./frames";
import { StreamHead, clearStream, openStream, closeStream, reserve, emit, emitPage, emitSpte, emitRuns, emitFile, emitSlots, emitMap } from "./stream";

const stream = changetype<StreamHead>(memory.data(offsetof<StreamHead>(), 8));

export function resetSnapshot(): void {
  clearStream(stream);
}

export function snapshotPtr(): usize {
  return stream.buf;
}

export function snapshot(): i32 {
  openStream(stream);
  for (let id = 0, end = inodes.end; id < end; id++) {
    let p = inodes.get(id);
    if (p == 0) continue;
    let ino = changetype<Inode>(p);
    let n = bmCount(ino.pages);
    reserve(6);
    emit(SNAP_INODE); emit(id); emit(<f64>ino.npages); emit(ino.kind); emit(ino.gmemFlags); emit(<f64>n);
    bmForEach(ino.pages, 0, u64.MAX_VALUE, emitPage);
  }
  for (let id = 0, end = files.end; id < end; id++) {
    let p = files.get(id);
    if (p == 0) continue;
    emitFile(SNAP_FILE, id, changetype<GmemFile>(p));
  }
  for (let id = 0, end = vms.end; id < end; id++) {
    let p = vms.get(id);
    if (p == 0) continue;
    let vm = changetype<Kvm>(p);
    reserve(2);
    emit(SNAP_VM); emit(id);
    emitSlots(vm);
    reserve(1);
    emit(<f64>vm.sptes);
    bmForEach(vm.s2, 0, u64.MAX_VALUE, emitSpte);
    reserve(5);
    emit(<f64>vm.sptes); emit(<f64>vm.faults); emit(<f64>vm.zaps); emit(<f64>vm.exits); emit(vm.ctx);
  }
  for (let id = 0, end = maps.end; id < end; id++) {
    let p = maps.get(id);
    if (p == 0) continue;
    emitMap(SNAP_MAP, id, changetype<HostMap>(p));
  }
  for (let id = 0, end = inodes.end; id < end; id++) {
    let p = inodes.get(id);
    if (p == 0) continue;
    let a = changetype<Inode>(p).priv;
    if (a.len == 0) continue;
    reserve(2);
    emit(SNAP_ATTR); emit(id);
    emitRuns(a);
  }
  if (detachedGmem != 0 || detachedAnon != 0) {
    reserve(3);
    emit(SNAP_DETACHED); emit(<f64>detachedGmem); emit(<f64>detachedAnon);
  }
  reserve(5);
  emit(SNAP_END); emit(<f64>gmemPages); emit(<f64>anonPages); emit(nextPfn); emit(stackLen);
  return closeStream();
}
