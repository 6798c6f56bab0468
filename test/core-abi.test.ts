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

test("a right is one bit per access (RIGHT_* = 1 << ACCESS_*) and the typed vCPU opcodes run in the accesses' order: the core computes both (spteAccess(), typedCmd())", () => {
  assert.equal([A.RIGHT_R, A.RIGHT_W, A.RIGHT_X], [1 << A.ACCESS_READ, 1 << A.ACCESS_WRITE, 1 << A.ACCESS_EXEC]);
  assert.equal([A.TYPED_WRITE - A.TYPED_READ, A.TYPED_EXEC - A.TYPED_READ], [A.ACCESS_WRITE - A.ACCESS_READ, A.ACCESS_EXEC - A.ACCESS_READ]);
});

test.run();
