/**
 * Ordinary shmem files (memfds): the two things their file I/O does to the page
 * cache that guest_memfd never does. truncate_setsize() changes the size (and
 * frees what lies past a shrunk end); write(2) fills pages through the page
 * cache (shmem_write_begin()/shmem_write_end()).
 */
import { Inode, faultPage } from "./inode";
import { bmForEach } from "./blockmap";
import { punch } from "./invalidate";
import { HostMap, isPrivate } from "./hostmap";
import { setFrameByte, anonPages, gmemPages } from "./frames";

/**
 * The inode's size becomes npages; a truncating resize (a shrink) is a punch
 * of everything from the new end on, past the old end too, then the private
 * maps' copies of those pages go as well (truncate_pagecache() unmaps even
 * the COWed pages). Returns the inode's pages freed.
 */
export function inodeResize(ino: Inode, npages: u64, truncate: bool): i64 {
  let freed: i64 = 0;
  if (truncate) {
    freed = punch(ino, npages, u64.MAX_VALUE);
    let ml = ino.maps;
    for (let i = 0, n = ml.len; i < n; i++) {
      let m = changetype<HostMap>(<usize>ml.get(i));
      if (!isPrivate(m)) continue;
      // Map pages showing pgoffs from npages on.
      let from = npages > m.pgoff ? npages - m.pgoff : 0;
      if (from < m.npages) punch(m.cow, from, m.npages);
    }
  }
  ino.npages = npages;
  return freed;
}

/** Every page of [start, end) got or created, made uptodate, then filled with byte. Returns pages created. */
export function inodeFill(ino: Inode, start: u64, end: u64, byte: u32): i64 {
  // Frames are counted per kind as they are made: the difference is what this fill created.
  let before = anonPages + gmemPages;
  for (let p = start; p < end; p++) setFrameByte(faultPage(ino, p), byte);
  return <i64>(anonPages + gmemPages - before);
}

let counted: i64 = 0;

function countOne(_pgoff: u64, _pfn: u32): void {
  counted++;
}

/** Present pages in [start, end): a walk over what is populated there. */
export function countPresent(ino: Inode, start: u64, end: u64): i64 {
  counted = 0;
  bmForEach(ino.pages, start, end, countOne);
  return counted;
}
