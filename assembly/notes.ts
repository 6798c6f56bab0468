/**
 * The change log's notes (core-abi.ts "Change log"): while tracking, what a
 * command may change and every gfn range the stage-2 table installs in or
 * zaps, as (record tag, id, start, end). The lowest part of the change log:
 * the tables note into it without importing the writer of the change stream
 * (changelog.ts), which reads the notes back and forgets them. Off by default:
 * then each note costs one test of `tracking`.
 */
import { CHG_SPTES } from "../src/abi/core-abi";
import { resize } from "./alloc";
import { Kvm } from "./kvm";

export let tracking = false;

// Notes: (record tag, id, start, end) as doubles, 32 bytes each.
let notes: usize = 0;
let noteCap: usize = 0; // notes
let noteLen: usize = 0;

export function setTracking(on: bool): void {
  tracking = on;
  noteLen = 0;
}

/** Tracking off, the notes' memory let go with the rest of the heap (a reset). */
export function resetNotes(): void {
  tracking = false;
  notes = 0;
  noteCap = 0;
  noteLen = 0;
}

export function note(tag: i32, id: i32, start: u64, end: u64): void {
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

export function noteCount(): usize {
  return noteLen;
}

/** Note k's address (tag, id, start, end as doubles). */
export function noteAt(k: usize): usize {
  return notes + (k << 5);
}

export function forgetNotes(): void {
  noteLen = 0;
}
