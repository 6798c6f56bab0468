/**
 * The command loop: decode each command of the batch (core-abi.ts) and write
 * its result. One call from JavaScript runs a whole batch.
 */
import {
  CMD_WORDS, RES_WORDS, CMD_CAPACITY, RES_OK,
  OP_VM_CREATE, OP_VM_DESTROY, OP_INODE_CREATE, OP_INODE_DESTROY, OP_FILE_CREATE,
  OP_FILE_RELEASE, OP_SLOT_CREATE, OP_SLOT_SET_UADDR, OP_SLOT_DELETE, OP_SLOT_MOVE,
  OP_ALLOCATE, OP_PUNCH, OP_HOST_ACCESS, OP_HOSTMAP_CREATE, OP_HOSTMAP_DESTROY, OP_HOSTMAP_COW,
  OP_GUEST_ACCESS, OP_ZAP_GFNS, OP_MEMORY_FAILURE, OP_FILE_SET_RIGHTS,
  OP_STATS_HOST, OP_STATS_VM, OP_STATS_INODE, OP_VM_SET_CTX, OP_FILE_BLOCK,
  OP_SET_ATTRIBUTES, OP_GFN_PRIVATE, OP_PIN, OP_UNPIN,
  OP_FILE_SET_FOREIGN,
  OP_INODE_RESIZE, OP_INODE_FILL, OP_COUNT_PRESENT,
} from "../src/abi/core-abi";
import { setAttributes, gfnPrivate } from "./attributes";
import { pin, unpin } from "./pins";
import { put } from "./result";
import { getVm } from "./kvm";
import { inodeCreate, inodeDestroy, getInode, allocate, inodeStats } from "./inode";
import { fileCreate, fileRelease, fileSetRights, fileSetForeign } from "./file";
import { vmCreate, vmDestroy, vmSetCtx, slotCreate, slotDelete, slotMoveTo, slotUaddr } from "./memory_region";
import { mapCreate, getMap, mapSetCow } from "./hostmap";
import { punch, memoryFailure, mapDestroy, fileBlock } from "./invalidate";
import { guestAccess, hostAccess } from "./fault";
import { zapRange } from "./stage2";
import { gmemPages, anonPages } from "./frames";
import { bmCount } from "./blockmap";
import { inodeResize, inodeFill, countPresent } from "./shmem";
import { tracking } from "./notes";
import { noteCommand } from "./changelog";
import { wordI32, wordU64 } from "./words";

export const cmdBuf = memory.data(CMD_CAPACITY * CMD_WORDS * 8, 16);
export const resBuf = memory.data(CMD_CAPACITY * RES_WORDS * 8, 16);

/** Both buffers as instantiation leaves them (JavaScript may have written commands it never ran). */
export function resetBatch(): void {
  memory.fill(cmdBuf, 0, CMD_CAPACITY * CMD_WORDS * 8);
  memory.fill(resBuf, 0, CMD_CAPACITY * RES_WORDS * 8);
}

@inline function i32At(c: usize, w: i32): i32 { return wordI32(load<f64>(c + (<usize>w << 3))); }
@inline function u64At(c: usize, w: i32): u64 { return wordU64(load<f64>(c + (<usize>w << 3))); }

export function runBatch(n: i32): void {
  if (<u32>n > <u32>CMD_CAPACITY) n = CMD_CAPACITY;
  for (let i = 0; i < n; i++) {
    let c = cmdBuf + <usize>i * (CMD_WORDS * 8);
    let r = resBuf + <usize>i * (RES_WORDS * 8);
    let op = i32At(c, 0);
    if (tracking) noteCommand(c);
    // Guest traffic first, by plain branches (guest accesses, punches, allocations): on a mix of these the
    // switch's table jump mispredicted more (0.3-2 ns per op in bench --tiers' core alone, side by side).
    if (op == OP_GUEST_ACCESS) {
      guestAccess(r, i32At(c, 1), u64At(c, 2), i32At(c, 3), i32At(c, 4), <u32>i32At(c, 5), i32At(c, 6));
      continue;
    }
    if (op == OP_PUNCH) {
      put(r, RES_OK, <f64>punch(getInode(i32At(c, 1)), u64At(c, 2), u64At(c, 3)));
      continue;
    }
    if (op == OP_ALLOCATE) {
      put(r, RES_OK, <f64>allocate(getInode(i32At(c, 1)), u64At(c, 2), u64At(c, 3)));
      continue;
    }
    switch (op) {
      case OP_HOST_ACCESS:
        hostAccess(r, u64At(c, 1), i32At(c, 2) != 0, <u32>i32At(c, 3));
        break;
      case OP_ZAP_GFNS:
        zapRange(getVm(i32At(c, 1)), u64At(c, 2), u64At(c, 3));
        put(r, RES_OK);
        break;
      case OP_MEMORY_FAILURE:
        memoryFailure(r, getInode(i32At(c, 1)), u64At(c, 2));
        break;
      case OP_VM_CREATE:
        vmCreate(i32At(c, 1));
        put(r, RES_OK);
        break;
      case OP_VM_DESTROY:
        vmDestroy(i32At(c, 1));
        put(r, RES_OK);
        break;
      case OP_INODE_CREATE:
        inodeCreate(i32At(c, 1), u64At(c, 2), i32At(c, 3), <u32>i32At(c, 4));
        put(r, RES_OK);
        break;
      case OP_INODE_DESTROY:
        put(r, RES_OK, <f64>inodeDestroy(i32At(c, 1)));
        break;
      case OP_FILE_CREATE:
        fileCreate(i32At(c, 1), i32At(c, 2), i32At(c, 3), <u32>i32At(c, 4));
        put(r, RES_OK);
        break;
      case OP_FILE_RELEASE:
        fileRelease(i32At(c, 1));
        put(r, RES_OK);
        break;
      case OP_FILE_SET_RIGHTS:
        fileSetRights(i32At(c, 1), <u32>i32At(c, 2));
        put(r, RES_OK);
        break;
      case OP_SLOT_CREATE:
        slotCreate(i32At(c, 1), i32At(c, 2), u64At(c, 3), u64At(c, 4), i32At(c, 5), u64At(c, 6), <u32>i32At(c, 7));
        put(r, RES_OK);
        break;
      case OP_SLOT_SET_UADDR:
        slotUaddr(i32At(c, 1), i32At(c, 2), u64At(c, 3));
        put(r, RES_OK);
        break;
      case OP_SLOT_DELETE:
        slotDelete(i32At(c, 1), i32At(c, 2));
        put(r, RES_OK);
        break;
      case OP_SLOT_MOVE:
        slotMoveTo(i32At(c, 1), i32At(c, 2), u64At(c, 3));
        put(r, RES_OK);
        break;
      case OP_HOSTMAP_CREATE:
        mapCreate(i32At(c, 1), u64At(c, 2), u64At(c, 3), i32At(c, 4), u64At(c, 5), <u32>i32At(c, 6), i32At(c, 7));
        put(r, RES_OK);
        break;
      case OP_HOSTMAP_DESTROY:
        mapDestroy(getMap(i32At(c, 1)));
        put(r, RES_OK);
        break;
      case OP_HOSTMAP_COW:
        mapSetCow(i32At(c, 1), i32At(c, 2));
        put(r, RES_OK);
        break;
      case OP_STATS_HOST:
        put(r, RES_OK, <f64>gmemPages, <f64>anonPages);
        break;
      case OP_STATS_VM: {
        let vm = getVm(i32At(c, 1));
        put(r, RES_OK, <f64>vm.sptes, <f64>vm.faults, <f64>vm.zaps, <f64>vm.exits);
        break;
      }
      case OP_STATS_INODE: {
        let ino = getInode(i32At(c, 1));
        put(r, RES_OK, <f64>bmCount(ino.pages), <f64>inodeStats(ino));
        break;
      }
      case OP_VM_SET_CTX:
        vmSetCtx(i32At(c, 1), <u32>u64At(c, 2));
        put(r, RES_OK);
        break;
      case OP_FILE_BLOCK:
        fileBlock(i32At(c, 1), u64At(c, 2), u64At(c, 3));
        put(r, RES_OK);
        break;
      // ---- in-place conversion (profile next) ----
      case OP_SET_ATTRIBUTES:
        setAttributes(r, getInode(i32At(c, 1)), u64At(c, 2), u64At(c, 3), i32At(c, 4) != 0);
        break;
      case OP_GFN_PRIVATE:
        put(r, RES_OK, gfnPrivate(i32At(c, 1), u64At(c, 2)) ? 1 : 0);
        break;
      case OP_PIN:
        pin(r, i32At(c, 1), u64At(c, 2), u64At(c, 3));
        break;
      case OP_UNPIN:
        unpin(i32At(c, 1));
        put(r, RES_OK);
        break;
      // ---- foreign encryption contexts (both designs) ----
      case OP_FILE_SET_FOREIGN:
        fileSetForeign(i32At(c, 1), <u32>i32At(c, 2));
        put(r, RES_OK);
        break;
      case OP_INODE_RESIZE:
        put(r, RES_OK, <f64>inodeResize(getInode(i32At(c, 1)), u64At(c, 2), i32At(c, 3) != 0));
        break;
      case OP_INODE_FILL:
        put(r, RES_OK, <f64>inodeFill(getInode(i32At(c, 1)), u64At(c, 2), u64At(c, 3), <u32>i32At(c, 4)));
        break;
      case OP_COUNT_PRESENT:
        put(r, RES_OK, <f64>countPresent(getInode(i32At(c, 1)), u64At(c, 2), u64At(c, 3)));
        break;
      default:
        // The kernel layer sends only the opcodes above.
        unreachable();
    }
  }
}
