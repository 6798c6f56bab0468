/**
 * The change log of core-abi.ts ("Change log"): while tracking, each command
 * notes what it may change (noteCommand(), before it runs) and the stage-2
 * table notes the gfns it installs or zaps (noteSptes()); changes() then
 * writes the current state of everything noted, and forgets the notes. Off by
 * default: then each note costs one test of `tracking`.
 */
import {
  CMD_WORDS,
  OP_VM_CREATE, OP_VM_DESTROY, OP_INODE_CREATE, OP_INODE_DESTROY, OP_FILE_CREATE,
  OP_FILE_RELEASE, OP_SLOT_CREATE, OP_SLOT_SET_UADDR, OP_SLOT_DELETE, OP_SLOT_MOVE,
  OP_ALLOCATE, OP_PUNCH, OP_HOST_ACCESS, OP_HOSTMAP_CREATE, OP_HOSTMAP_DESTROY,
  OP_GUEST_ACCESS, OP_MEMORY_FAILURE, OP_FILE_SET_RIGHTS, OP_VM_SET_CTX, OP_FILE_BLOCK,
  OP_INODE_RESIZE, OP_INODE_FILL, CHG_ALL, OP_SET_ATTRIBUTES, OP_PIN,
  CHG_SPTES, CHG_PAGES, CHG_INODE, CHG_FILE, CHG_VM, CHG_MAP, CHG_GONE, CHG_END,
} from "../src/abi/core-abi";
import { inodes, Inode } from "./inode";
import { files, GmemFile } from "./file";
import { vms, Kvm } from "./kvm";
import { maps, HostMap, findMap } from "./hostmap";
import { Memslot, slotByGfn } from "./memslot";
import { resize } from "./alloc";
import { SPTE_SHIFT, SPTE_BITS } from "./stage2";
import { bmForEach } from "./blockmap";
import { frameByte, frameFlags, frameCtx, gmemPages, anonPages, nextPfn, stackLen, detachedGmem, detachedAnon } from "./frames";

export let tracking = false;

// Notes: (record tag, id, start, end) as doubles.
let notes: usize = 0;
let noteCap: usize = 0; // notes
let noteLen: usize = 0;

// The stream changes() writes.
let buf: usize = 0;
let cap: usize = 0; // doubles
let len: usize = 0;

export function setTracking(on: bool): void {
  tracking = on;
  noteLen = 0;
}

export function resetChanges(): void {
  tracking = false;
  notes = 0;
  noteCap = 0;
  noteLen = 0;
  buf = 0;
  cap = 0;
  len = 0;
}

export function changesPtr(): usize {
  return buf;
}

function note(tag: i32, id: i32, start: u64, end: u64): void {
  if (noteLen == noteCap) {
    let c = noteCap < 64 ? <usize>64 : noteCap << 1;
    notes = resize(notes, noteCap << 5, c << 5);
    noteCap = c;
  }
  let p = notes + (noteLen << 5);
  store<f64>(p, <f64>tag);
  store<f64>(p, <f64>id, 8);
  store<f64>(p, <f64>start, 16);
  store<f64>(p, <f64>end, 24);
  noteLen++;
}

/** Called by the stage-2 table for every gfn range it installed in or zapped. */
export function noteSptes(vm: Kvm, start: u64, end: u64): void {
  note(CHG_SPTES, vm.id, start, end);
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
  if (m !== null) notePage(m.inode, m.pgoff + (hva - m.hva));
}

/** The memslot's file, before a command changes the memslot. */
function noteSlotFile(vmId: i32, slotId: i32): void {
  let p = vms.get(vmId);
  if (p == 0) return;
  let v = changetype<Kvm>(p).byId;
  for (let i = 0; i < v.len; i++) {
    let m = changetype<Memslot>(<usize>v.get(i));
    if (m.id == slotId && m.file >= 0) note(CHG_FILE, m.file, 0, 0);
  }
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
    case OP_INODE_RESIZE:
      note(CHG_INODE, a, 0, 0);
      note(CHG_PAGES, a, <u64>arg(c, 2), <u64>CHG_ALL);
      break;
    case OP_MEMORY_FAILURE:
      note(CHG_PAGES, a, <u64>arg(c, 2), <u64>arg(c, 2) + 1);
      break;
    // ---- profile next: a to-shared conversion unprepares its pages; a pin faults in the pages it pins ----
    case OP_SET_ATTRIBUTES:
      note(CHG_PAGES, a, <u64>arg(c, 2), <u64>arg(c, 3));
      note(CHG_INODE, a, 0, 0);
      break;
    case OP_PIN: {
      let hva = <u64>arg(c, 2);
      let m = findMap(hva);
      if (m !== null) note(CHG_PAGES, m.inode.id, m.pgoff + (hva - m.hva), m.pgoff + (hva - m.hva) + <u64>arg(c, 3));
      break;
    }
    case OP_VM_CREATE:
    case OP_VM_DESTROY:
    case OP_VM_SET_CTX:
    case OP_SLOT_SET_UADDR:
      note(CHG_VM, a, 0, 0);
      break;
    case OP_SLOT_CREATE:
      note(CHG_VM, a, 0, 0);
      if (<i32>arg(c, 5) >= 0) note(CHG_FILE, <i32>arg(c, 5), 0, 0);
      break;
    case OP_SLOT_DELETE:
    case OP_SLOT_MOVE:
      note(CHG_VM, a, 0, 0);
      noteSlotFile(a, <i32>arg(c, 2));
      break;
    case OP_INODE_CREATE:
    case OP_INODE_DESTROY:
      note(CHG_INODE, a, 0, 0);
      break;
    case OP_FILE_RELEASE: {
      let f = files.get(a);
      if (f != 0) note(CHG_VM, changetype<GmemFile>(f).vm.id, 0, 0);
      note(CHG_FILE, a, 0, 0);
      break;
    }
    case OP_FILE_CREATE:
    case OP_FILE_SET_RIGHTS:
    case OP_FILE_BLOCK:
      note(CHG_FILE, a, 0, 0);
      break;
    case OP_HOSTMAP_CREATE:
    case OP_HOSTMAP_DESTROY:
      note(CHG_MAP, a, 0, 0);
      break;
    default:
      break;
  }
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

let counted: i32 = 0;

function emitPage(pgoff: u64, pfn: u32): void {
  reserve(5);
  emit(<f64>pgoff); emit(<f64>pfn); emit(<f64>frameByte(pfn)); emit(<f64>frameFlags(pfn)); emit(<f64>frameCtx(pfn));
  counted++;
}

function emitSpte(gfn: u64, v: u32): void {
  reserve(3);
  emit(<f64>gfn); emit(<f64>(v >>> SPTE_SHIFT)); emit(<f64>(v & SPTE_BITS));
  counted++;
}

function gone(tag: i32, id: i32): void {
  reserve(3);
  emit(CHG_GONE); emit(tag); emit(id);
}

/** A range record: header, then its entries, then the count patched in. */
function emitRange(tag: i32, id: i32, root: u32, start: u64, end: u64, pages: bool): void {
  reserve(5);
  emit(tag); emit(id); emit(<f64>start); emit(<f64>end);
  let at = len;
  emit(0);
  counted = 0;
  bmForEach(root, start, end, pages ? emitPage : emitSpte);
  store<f64>(buf + (at << 3), <f64>counted);
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
    let a = ino.priv;
    reserve(6 + <usize>a.len * 2);
    emit(CHG_INODE); emit(id); emit(<f64>ino.npages); emit(ino.kind); emit(ino.gmemFlags);
    emit(a.len);
    for (let i = 0; i < a.len; i++) {
      emit(<f64>a.start(i)); emit(<f64>a.end(i));
    }
  } else if (tag == CHG_FILE) {
    let p = files.get(id);
    if (p == 0) return gone(tag, id);
    let f = changetype<GmemFile>(p);
    let v = f.bindings;
    let b = f.blocked;
    reserve(7 + <usize>v.len * 3 + <usize>b.len * 2);
    emit(CHG_FILE); emit(id); emit(f.inode.id); emit(f.vm.id); emit(f.rights); emit(v.len);
    for (let i = 0; i < v.len; i++) {
      let m = changetype<Memslot>(<usize>v.get(i));
      emit(<f64>m.pgoff); emit(<f64>m.npages); emit(m.id);
    }
    emit(b.len);
    for (let i = 0; i < b.len; i++) {
      emit(<f64>b.start(i)); emit(<f64>b.end(i));
    }
  } else if (tag == CHG_VM) {
    let p = vms.get(id);
    if (p == 0) return gone(tag, id);
    let vm = changetype<Kvm>(p);
    let v = vm.byId;
    reserve(4 + <usize>v.len * 7);
    emit(CHG_VM); emit(id); emit(v.len);
    for (let i = 0; i < v.len; i++) {
      let m = changetype<Memslot>(<usize>v.get(i));
      emit(m.id); emit(<f64>m.base); emit(<f64>m.npages); emit(m.flags);
      emit(m.file); emit(<f64>m.pgoff); emit(<f64>m.uaddr);
    }
    emit(vm.ctx);
  } else if (tag == CHG_MAP) {
    let p = maps.get(id);
    if (p == 0) return gone(tag, id);
    let m = changetype<HostMap>(p);
    reserve(8);
    emit(CHG_MAP); emit(id); emit(<f64>m.hva); emit(<f64>m.npages); emit(m.inode.id); emit(<f64>m.pgoff); emit(m.rights); emit(m.file);
  }
}

/** Write the change stream (its length in doubles is returned; read it at changesPtr()), and forget the notes. */
export function changes(): i32 {
  len = 0;
  for (let k: usize = 0; k < noteLen; k++) {
    let p = notes + (k << 5);
    emitNote(<i32>load<f64>(p), <i32>load<f64>(p, 8), <u64>load<f64>(p, 16), <u64>load<f64>(p, 24));
  }
  noteLen = 0;
  reserve(7);
  emit(CHG_END); emit(<f64>gmemPages); emit(<f64>anonPages); emit(nextPfn); emit(stackLen);
  // Frames detached from their inode while pinned (PIN): counted in the pages above, held by no inode.
  emit(<f64>detachedGmem); emit(<f64>detachedAnon);
  return <i32>len;
}
