/**
 * The change log of core-abi.ts ("Change log"): while tracking, each command
 * notes what it may change (noteCommand(), before it runs) into notes.ts,
 * where the stage-2 table notes the gfns it installs or zaps; changes() then
 * writes the current state of everything noted, and forgets the notes.
 */
import {
  CMD_WORDS,
  OP_VM_CREATE, OP_VM_DESTROY, OP_INODE_CREATE, OP_INODE_DESTROY, OP_FILE_CREATE,
  OP_FILE_RELEASE, OP_SLOT_CREATE, OP_SLOT_SET_UADDR, OP_SLOT_DELETE, OP_SLOT_MOVE,
  OP_ALLOCATE, OP_PUNCH, OP_HOST_ACCESS, OP_HOSTMAP_CREATE, OP_HOSTMAP_DESTROY, OP_HOSTMAP_COW,
  OP_GUEST_ACCESS, OP_MEMORY_FAILURE, OP_FILE_SET_RIGHTS, OP_VM_SET_CTX, OP_FILE_BLOCK,
  OP_INODE_RESIZE, OP_INODE_FILL, CHG_ALL, OP_SET_ATTRIBUTES, OP_PIN,
  CHG_SPTES, CHG_PAGES, CHG_INODE, CHG_FILE, CHG_VM, CHG_MAP, CHG_GONE, CHG_END, CHG_ATTRS, CHG_SLOT, CHG_BINDING, CHG_BLOCKED,
} from "../src/abi/core-abi";
import { inodes, Inode } from "./inode";
import { files, GmemFile } from "./file";
import { vms, Kvm } from "./kvm";
import { maps, HostMap, findMap, isPrivate } from "./hostmap";
import { Memslot, slotByGfn, findSlot } from "./memslot";
import { bmForEach } from "./blockmap";
import { bindingAt } from "./binding";
import { gmemPages, anonPages, nextPfn, stackLen, detachedGmem, detachedAnon } from "./frames";
import { resetNotes, note, noteCount, noteAt, forgetNotes } from "./notes";
import { StreamHead, clearStream, openStream, closeStream, reserve, emit, mark, patch, entries, resetEntries, emitPage, emitSpte, emitRuns, emitRunsAround, emitFile, emitSlots, emitSlot, emitBinding, emitMap } from "./stream";

// The stream changes() writes.
const stream = changetype<StreamHead>(memory.data(offsetof<StreamHead>(), 8));

export function resetChanges(): void {
  resetNotes();
  clearStream(stream);
}

export function changesPtr(): usize {
  return stream.buf;
}

@inline function arg(c: usize, w: i32): f64 {
  return load<f64>(c + (<usize>w << 3));
}

@inline function notePage(ino: Inode, pgoff: u64): void {
  note(CHG_PAGES, ino.id, pgoff, pgoff + 1);
}

/** The page a host map shows at hva page, if a map holds it. */
function noteHostPage(hva: u64): void {
  let m = findMap(hva);
  if (m === null) return;
  notePage(m.inode, m.pgoff + (hva - m.hva));
  if (isPrivate(m)) notePage(m.cow, hva - m.hva);
}

/** Every copy of the inode's private maps (a resize may free them). */
function noteCopies(ino: Inode): void {
  let ml = ino.maps;
  for (let i = 0, n = ml.len; i < n; i++) {
    let m = changetype<HostMap>(<usize>ml.get(i));
    if (isPrivate(m)) note(CHG_PAGES, m.cow.id, 0, <u64>CHG_ALL);
  }
}

/** The binding of memslot `slotId` of VM vmId in its file, at its pgoff, before a command changes the memslot. */
function noteSlotBinding(vmId: i32, slotId: i32): void {
  let p = vms.get(vmId);
  if (p == 0) return;
  let m = findSlot(changetype<Kvm>(p), slotId);
  if (m !== null && m.file >= 0) note(CHG_BINDING, m.file, <u64>slotId, m.pgoff);
}

/** Before command c runs: note what it may change (core-abi.ts lists it). */
export function noteCommand(c: usize): void {
  let op = <i32>arg(c, 0);
  let a = <i32>arg(c, 1);
  switch (op) {
    case OP_GUEST_ACCESS: {
      let p = vms.get(a);
      if (p == 0) break;
      let gfn = <u64>arg(c, 2);
      let m = slotByGfn(changetype<Kvm>(p), gfn);
      if (m === null) break;
      if (m.file >= 0) {
        let f = files.get(m.file);
        if (f != 0) notePage(changetype<GmemFile>(f).inode, m.pgoff + (gfn - m.base));
      }
      noteHostPage(m.uaddr + (gfn - m.base));
      break;
    }
    case OP_HOST_ACCESS:
      noteHostPage(<u64>arg(c, 1));
      break;
    case OP_ALLOCATE:
    case OP_PUNCH:
    case OP_INODE_FILL:
      note(CHG_PAGES, a, <u64>arg(c, 2), <u64>arg(c, 3));
      break;
    case OP_INODE_RESIZE: {
      note(CHG_INODE, a, 0, 0);
      note(CHG_PAGES, a, <u64>arg(c, 2), <u64>CHG_ALL);
      let p = inodes.get(a);
      if (p != 0) noteCopies(changetype<Inode>(p));
      break;
    }
    case OP_MEMORY_FAILURE:
      note(CHG_PAGES, a, <u64>arg(c, 2), <u64>arg(c, 2) + 1);
      break;
    // ---- profile next: a to-shared conversion unprepares its pages; a pin faults in the pages it pins ----
    case OP_SET_ATTRIBUTES:
      note(CHG_PAGES, a, <u64>arg(c, 2), <u64>arg(c, 3));
      note(CHG_ATTRS, a, <u64>arg(c, 2), <u64>arg(c, 3));
      break;
    case OP_PIN: {
      let hva = <u64>arg(c, 2);
      let m = findMap(hva);
      if (m === null) break;
      note(CHG_PAGES, m.inode.id, m.pgoff + (hva - m.hva), m.pgoff + (hva - m.hva) + <u64>arg(c, 3));
      if (isPrivate(m)) note(CHG_PAGES, m.cow.id, hva - m.hva, hva - m.hva + <u64>arg(c, 3));
      break;
    }
    case OP_VM_CREATE:
    case OP_VM_DESTROY:
    case OP_VM_SET_CTX:
      note(CHG_VM, a, 0, 0);
      break;
    case OP_SLOT_CREATE:
    case OP_SLOT_SET_UADDR:
    case OP_SLOT_DELETE:
    case OP_SLOT_MOVE:
      // The memslot alone (its id in start), and its binding: in the file it has now, and in the one it will have.
      note(CHG_SLOT, a, <u64>arg(c, 2), 0);
      noteSlotBinding(a, <i32>arg(c, 2));
      if (op == OP_SLOT_CREATE && <i32>arg(c, 5) >= 0) note(CHG_BINDING, <i32>arg(c, 5), <u64>arg(c, 2), <u64>arg(c, 6));
      break;
    case OP_INODE_CREATE:
    case OP_INODE_DESTROY:
      note(CHG_INODE, a, 0, 0);
      break;
    case OP_FILE_RELEASE: {
      // Its memslots lose the file: each of them, not the VM's every memslot.
      let f = files.get(a);
      if (f != 0) {
        let v = changetype<GmemFile>(f).bindings;
        for (let i = 0, n = v.len; i < n; i++) {
          let m = bindingAt(v, i);
          note(CHG_SLOT, m.vm.id, <u64>m.id, 0);
        }
      }
      note(CHG_FILE, a, 0, 0);
      break;
    }
    case OP_FILE_BLOCK:
      note(CHG_BLOCKED, a, <u64>arg(c, 2), <u64>arg(c, 3));
      break;
    case OP_FILE_CREATE:
    case OP_FILE_SET_RIGHTS:
      note(CHG_FILE, a, 0, 0);
      break;
    case OP_HOSTMAP_CREATE:
    case OP_HOSTMAP_DESTROY:
    case OP_HOSTMAP_COW:
      note(CHG_MAP, a, 0, 0);
      break;
    default:
      break;
  }
}

function gone(tag: i32, id: i32): void {
  reserve(3);
  emit(CHG_GONE); emit(tag); emit(id);
}

/** A range record: header, then its entries, then the count patched in. */
function emitRange(tag: i32, id: i32, root: u32, start: u64, end: u64, pages: bool): void {
  reserve(5);
  emit(tag); emit(id); emit(<f64>start); emit(<f64>end);
  let at = mark();
  emit(0);
  resetEntries();
  bmForEach(root, start, end, pages ? emitPage : emitSpte);
  patch(at, <f64>entries);
}

function emitNote(tag: i32, id: i32, start: u64, end: u64): void {
  if (tag == CHG_SPTES) {
    let p = vms.get(id);
    if (p != 0) emitRange(CHG_SPTES, id, changetype<Kvm>(p).s2, start, end, false);
  } else if (tag == CHG_PAGES) {
    let p = inodes.get(id);
    if (p != 0) emitRange(CHG_PAGES, id, changetype<Inode>(p).pages, start, end, true);
  } else if (tag == CHG_INODE) {
    let p = inodes.get(id);
    if (p == 0) return gone(tag, id);
    let ino = changetype<Inode>(p);
    reserve(5);
    emit(CHG_INODE); emit(id); emit(<f64>ino.npages); emit(ino.kind); emit(ino.gmemFlags);
    emitRuns(ino.priv);
  } else if (tag == CHG_ATTRS) {
    let p = inodes.get(id);
    // An inode gone since has its CHG_GONE from its destroy's own note.
    if (p != 0) emitRunsAround(CHG_ATTRS, id, changetype<Inode>(p).priv, start, end);
  } else if (tag == CHG_BLOCKED) {
    let p = files.get(id);
    // A file gone since has its CHG_GONE from its release's own note.
    if (p != 0) emitRunsAround(CHG_BLOCKED, id, changetype<GmemFile>(p).blocked, start, end);
  } else if (tag == CHG_FILE) {
    let p = files.get(id);
    if (p == 0) return gone(tag, id);
    emitFile(CHG_FILE, id, changetype<GmemFile>(p));
  } else if (tag == CHG_VM) {
    let p = vms.get(id);
    if (p == 0) return gone(tag, id);
    let vm = changetype<Kvm>(p);
    reserve(2);
    emit(CHG_VM); emit(id);
    emitSlots(vm);
    reserve(1);
    emit(vm.ctx);
  } else if (tag == CHG_SLOT) {
    let p = vms.get(id);
    // A VM gone since has its CHG_GONE from its destroy's own note.
    if (p != 0) emitSlot(id, <i32>start, findSlot(changetype<Kvm>(p), <i32>start));
  } else if (tag == CHG_BINDING) {
    let p = files.get(id);
    // A file gone since has its CHG_GONE from its release's own note.
    if (p != 0) emitBinding(id, changetype<GmemFile>(p).bindings, <i32>start, end);
  } else if (tag == CHG_MAP) {
    let p = maps.get(id);
    if (p == 0) return gone(tag, id);
    emitMap(CHG_MAP, id, changetype<HostMap>(p));
  }
}

/** Write the change stream (its length in doubles is returned; read it at changesPtr()), and forget the notes. */
export function changes(): i32 {
  openStream(stream);
  for (let k: usize = 0, n = noteCount(); k < n; k++) {
    let p = noteAt(k);
    emitNote(<i32>load<f64>(p), <i32>load<f64>(p, 8), <u64>load<f64>(p, 16), <u64>load<f64>(p, 24));
  }
  forgetNotes();
  reserve(7);
  emit(CHG_END); emit(<f64>gmemPages); emit(<f64>anonPages); emit(nextPfn); emit(stackLen);
  // Frames detached from their inode while pinned (PIN): counted in the pages above, held by no inode.
  emit(<f64>detachedGmem); emit(<f64>detachedAnon);
  return closeStream();
}
