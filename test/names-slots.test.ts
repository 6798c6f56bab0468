/**
 * Names.peek() (src/trace/names.ts) finds a name met lately in a slot chosen
 * by the name's length and end characters, compared in JavaScript, before the
 * Map: it must answer exactly as the Map would, for any names, any strings
 * (made per call, sliced, concatenated, two-byte, lone surrogates) and any
 * order of binds and peeks, including names that share a slot, a length and
 * both ends.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Names, type Named } from "../src/trace/names.js";

/** A fresh string with the same characters (another object, as a caller's per-op template string is). */
const fresh = (s: string): string => (" " + s).slice(1);

const dead = (k: number): Named => ({ dead: "vm", k }) as unknown as Named;

/** A namespace whose slots are made (peek() makes them after its first misses): a name bound and peeked until then. */
function slotted(): Names {
  const names = new Names();
  const warm = dead(-1);
  names.bind("warm-up", warm, "vm");
  for (let k = 0; k < 100; k++) assert.is(names.peek(fresh("warm-up")), warm);
  return names;
}

test("a name that shares its slot, its length and its end characters with another is told apart by the characters between", () => {
  const names = slotted();
  const a = dead(1);
  const b = dead(2);
  // vAAx, vBAx and vCAx differ only in their second character, which the slot's hash does not read: one slot.
  names.bind("vAAx", a, "vm");
  assert.is(names.peek(fresh("vBAx")), undefined, "never bound");
  assert.is(names.peek(fresh("vAAx")), a);
  names.bind("vBAx", b, "vm");
  assert.is(names.peek(fresh("vAAx")), a, "its slot was taken by vBAx: the Map answers");
  assert.is(names.peek(fresh("vBAx")), b);
  assert.is(names.peek(fresh("vAAx")), a);
  assert.is(names.peek(fresh("vCAx")), undefined);
});

test("a name bound again is found bound to its new object, under a fresh string, whether its slot was taken meanwhile or not", () => {
  const names = slotted();
  const [a, b, c] = [dead(1), dead(2), dead(3)];
  names.bind("v7", a, "vm");
  assert.is(names.peek(fresh("v7")), a);
  names.bind(fresh("v7"), b, "vm");
  assert.is(names.peek(fresh("v7")), b);
  // One-character and two-character names are wholly their ends.
  names.bind("x", c, "vm");
  assert.is(names.peek("x"), c);
  assert.is(names.peek("y"), undefined);
  assert.is(names.peek("v8"), undefined);
});

test("the empty name and names past the slots' length are found through the Map", () => {
  const names = slotted();
  const long = "n".repeat(33);
  names.bind("", dead(1), "vm");
  names.bind(long, dead(2), "vm");
  assert.equal(names.peek(fresh("")), dead(1));
  assert.equal(names.peek(fresh(long)), dead(2));
  assert.is(names.peek("n".repeat(32)), undefined);
});

/** Names over a small alphabet so that lengths, ends and slots collide often; two-byte and lone surrogate characters too. */
const nameArb = fc.oneof(
  fc.constantFrom("v1", "v2", "v11", "vAAx", "vABx", "x", "", "a".repeat(33), "\ud800", "\u00e9\u4e00"),
  fc.string({ unit: fc.constantFrom("a", "b", "\u00e9", "\u4e00", "\ud800", "\udc00"), maxLength: 6 }),
  fc.string({ unit: fc.constantFrom("a", "b"), minLength: 28, maxLength: 36 }),
  fc.integer({ min: 0, max: 40 }).map((k) => `v${k}`),
);

/** The same characters as another string object: a copy, a slice of a longer string, a concatenation. */
const reshape = (s: string, how: number): string => (how === 0 ? s : how === 1 ? fresh(s) : how === 2 ? ("@@" + s + "@@").slice(2, 2 + s.length) : s.slice(0, s.length >> 1) + s.slice(s.length >> 1));

test("peek() answers as a Map of the names bound, for any binds and peeks (property)", () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(fc.tuple(fc.boolean(), nameArb, fc.integer({ min: 0, max: 3 })), { minLength: 20, maxLength: 200, size: "max" }), (warm, steps) => {
      // Slots made before the first step, or along the way (after peek()'s first misses).
      const names = warm ? slotted() : new Names();
      const ref = new Map<string, Named>();
      let k = 0;
      for (const [isBind, name, how] of steps) {
        const s = reshape(name, how);
        if (isBind) {
          const o = dead(k++);
          names.bind(s, o, "vm");
          ref.set(name, o);
        } else if (names.peek(s) !== ref.get(name)) return false;
      }
      for (const name of ref.keys()) if (names.peek(fresh(name)) !== ref.get(name)) return false;
      return true;
    }),
    { numRuns: 300 },
  );
});

test.run();
