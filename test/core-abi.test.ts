/**
 * The core ABI (src/abi/core-abi.ts): each command has its own opcode, so that
 * both cores' switch statements dispatch every command to its own handler.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as A from "../src/abi/core-abi.js";

test("every OP_* opcode of the core ABI is unique", () => {
  const byValue = new Map<number, string[]>();
  for (const [name, value] of Object.entries(A)) {
    if (!name.startsWith("OP_") || typeof value !== "number") continue;
    byValue.set(value, [...(byValue.get(value) ?? []), name]);
  }
  assert.ok(byValue.size >= 30, `found ${byValue.size} opcodes`);
  assert.equal([...byValue.values()].filter((names) => names.length > 1), []);
});

test.run();
