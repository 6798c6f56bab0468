/**
 * The JSONL reader's fast path and the streaming replay: a line the native
 * JSON.parse would read differently (a key given twice, an integer past 2^53,
 * a fraction, nesting past MAX_DEPTH) still goes through the exact reader, and
 * a trace split into arbitrary chunks replays exactly as the whole text does.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { JsonFraction, MAX_DEPTH, parseJson } from "../src/trace/json.js";
import { Host } from "../src/kvm/host.js";
import { ReferenceCore } from "../src/core/reference/index.js";
import { linesOf, replayPieces, replayText, type LineRecord } from "../src/trace/replay.js";
import { resultJson } from "../src/trace/result-json.js";

test("a key given twice is a syntax error even where the native parser would keep the last", () => {
  assert.throws(() => parseJson('{"op":"fstat","fd":"g","fd":"h"}'), /duplicate key "fd"/);
  // A string holding '":' only sends the line to the exact reader, which reads it as the native one would.
  assert.equal({ ...(parseJson('{"op":"x\\":","fd":"g"}') as object) }, { op: 'x":', fd: "g" });
});

test("integers past 2^53 stay exact bigints and fractions stay fractions, whatever path reads them", () => {
  assert.is((parseJson('{"gpa":9007199254740993}') as { gpa: unknown }).gpa, 9007199254740993n);
  assert.is((parseJson('{"gpa":4096}') as { gpa: unknown }).gpa, 4096);
  assert.ok((parseJson('{"gpa":1.0}') as { gpa: unknown }).gpa instanceof JsonFraction);
  assert.ok((parseJson('{"gpa":1e3}') as { gpa: unknown }).gpa instanceof JsonFraction);
});

test("nesting past MAX_DEPTH is refused on the fast path too", () => {
  const deep = "[".repeat(MAX_DEPTH + 1) + "]".repeat(MAX_DEPTH + 1);
  assert.throws(() => parseJson(deep), /nesting deeper than/);
  const ok = "[".repeat(MAX_DEPTH) + "]".repeat(MAX_DEPTH);
  assert.ok(Array.isArray(parseJson(ok)));
});

const TRACE = [
  '{"op":"create_vm","as":"a","type":"default"}',
  '{"op":"create_guest_memfd","vm":"a","as":"g","size":65536,"flags":["MMAP","INIT_SHARED"]}',
  '{"op":"set_user_memory_region2","vm":"a","slot":0,"flags":"GUEST_MEMFD","guest_phys_addr":0,"memory_size":65536,"guest_memfd":"g"}',
  "# a comment: no result line",
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"write","value":7}',
  '{"op":"vcpu_access","vm":"a","gpa":"0x1000","access":"read","note":"é"}',
  "",
  '{"op":"fallocate","fd":"g","mode":3,"offset":4096,"len":4096}',
  '{"op":"vcpu_access","vm":"a","gpa":4096,"access":"read"}',
  '{"op":"vcpu_access","vm":"a","gpa":18446744073709551615,"access":"read"}',
].join("\n");

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let k = 0; k < bytes.length; k += size) yield bytes.subarray(k, k + size);
}

const lines = (batches: Iterable<LineRecord[]>) => [...batches].flat().map((r) => `${r.lineNo} ${resultJson(r)}`);

test("a trace read in chunks of any size (a multi-byte character split between them) replays exactly as the whole text", async () => {
  const want = lines(replayText(new Host(new ReferenceCore()), TRACE, 2));
  assert.is(want.length, 8);
  const bytes = new TextEncoder().encode(TRACE);
  for (const size of [1, 3, 7, 64, 1 << 16]) {
    const got: LineRecord[][] = [];
    for await (const b of replayPieces(new Host(new ReferenceCore()), linesOf(chunked(bytes, size)), 2)) got.push(b);
    assert.equal(lines(got), want, `chunks of ${size} bytes`);
  }
});

test.run();
