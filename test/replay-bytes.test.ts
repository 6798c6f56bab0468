/**
 * Replays whose output is bytes (`replay --json`): a JSONL trace's result
 * lines as UTF-8 (replayTextJson()), a binary trace's lent as views of the
 * core's output buffer, and the command line writing either to a pipe read
 * slowly, where each piece must stay as it is until its write is done.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineCore } from "../src/core/engine.js";
import { ReferenceCore } from "../src/core/reference/index.js";
import { Host } from "../src/kvm/host.js";
import { linesOf, replayText } from "../src/trace/replay.js";
import { resultJson } from "../src/trace/result-json.js";
import { replayTextJson, replayTextJsonStream } from "../src/trace/text-json.js";
import { encodeTrace } from "../src/trace/binary.js";
import { replayBinaryJson } from "../src/trace/binary-replay.js";

const root = new URL("..", import.meta.url).pathname;
const bin = join(root, "bin/gmemsim.js");
const decode = (pieces: Iterable<Uint8Array>) => {
  const d = new TextDecoder("utf-8", { fatal: true });
  let s = "";
  for (const p of pieces) s += d.decode(p, { stream: true });
  return s + d.decode();
};

/** A guest's traffic on one VM: writes and reads over 64 pages, a punch every 50 lines; an error line naming "vé" every 1,000. */
function traffic(n: number): string {
  const lines = [
    '{"op":"create_vm","as":"vm","type":"default"}',
    '{"op":"create_guest_memfd","vm":"vm","as":"g","size":262144,"flags":["MMAP","INIT_SHARED"]}',
    '{"op":"set_user_memory_region2","vm":"vm","slot":0,"flags":"GUEST_MEMFD","guest_phys_addr":0,"memory_size":262144,"guest_memfd":"g","guest_memfd_offset":0}',
  ];
  for (let k = 0; k < n; k++) {
    const gpa = ((k * 7919) % 64) * 4096 + (k % 4096);
    if (k % 1000 === 999) lines.push('{"op":"vcpu_access","vm":"vé","gpa":0,"access":"read"}');
    else if (k % 50 === 49) lines.push(`{"op":"fallocate","fd":"g","mode":3,"offset":${gpa & ~4095},"len":4096}`);
    else if (k % 3 === 0) lines.push(`{"op":"vcpu_access","vm":"vm","gpa":${gpa},"access":"write","value":${k & 255}}`);
    else lines.push(`{"op":"vcpu_access","vm":"vm","gpa":${gpa},"access":"read"}`);
  }
  return lines.join("\n");
}

/** Whether two outputs are the same, and where they first differ (uvu's diff of megabytes of text would take minutes). */
function same(got: string, want: string, what: string): void {
  if (got === want) return;
  let k = 0;
  while (k < got.length && got[k] === want[k]) k++;
  assert.unreachable(`${what}: output differs from byte ${k} (${got.length} against ${want.length} bytes): ${JSON.stringify(got.slice(k, k + 60))} where ${JSON.stringify(want.slice(k, k + 60))}`);
}

/** resultJson() of each record replayText() yields, a newline after each: what every bytes form must equal. */
function want(text: string): string {
  let s = "";
  for (const batch of replayText(new Host(new EngineCore()), text, 97)) for (const r of batch) s += resultJson(r) + "\n";
  return s;
}

test("a JSONL trace's result lines as bytes, lent or not, are resultJson() of each record and a newline, in UTF-8", async () => {
  const text = traffic(5000);
  const expected = want(text);
  assert.ok(expected.includes("vé"), "the error lines name the VM with its accent");
  for (const lend of [false, true]) {
    same(decode(replayTextJson(new Host(new EngineCore()), text, 97, undefined, lend)), expected, `lend ${lend}`);
    const bytes = new TextEncoder().encode(text);
    async function* pieces() {
      for (let k = 0; k < bytes.length; k += 777) yield bytes.subarray(k, k + 777);
    }
    let got = "";
    const d = new TextDecoder();
    for await (const b of replayTextJsonStream(new Host(new EngineCore()), linesOf(pieces()), 97, undefined, lend)) got += d.decode(b, { stream: true });
    same(got, expected, `stream, lend ${lend}`);
  }
  // Lent pieces are views of one buffer, grown (by doubling) to the longest chunk's bytes.
  const kept = [...replayTextJson(new Host(new EngineCore()), text, 97, undefined, true)];
  assert.ok(kept.length > 50 && new Set(kept.map((p) => p.buffer)).size <= 3, "lent pieces share their buffers");
  const copies = [...replayTextJson(new Host(new EngineCore()), text, 97)];
  assert.ok(new Set(copies.map((p) => p.buffer)).size === copies.length, "without lend, each piece is the caller's own");
});

test("a binary trace's result lines lent as views of the core's output buffer read as the copies do", () => {
  const text = traffic(40000);
  const expected = want(text);
  const copies = [...replayBinaryJson(new Host(new EngineCore()), encodeTrace(text))];
  same(decode(copies), expected, "copies");
  const core = new EngineCore();
  const memory = () => core.typed!.binOut().buffer;
  let lent = 0;
  let got = "";
  const d = new TextDecoder();
  for (const b of replayBinaryJson(new Host(core), encodeTrace(text), 4096, undefined, true)) {
    if (b.buffer === memory()) lent++;
    got += d.decode(b, { stream: true });
  }
  same(got, expected, "lent");
  // On a core without the binary replay entry (the reference model), the records' lines are a JSONL trace's bytes.
  same(decode(replayBinaryJson(new Host(new ReferenceCore()), encodeTrace(text), 4096, undefined, true)), expected, "reference, lent");
  assert.ok(lent >= 10, `the output's 64 KiB pieces go out as views (${lent} of them)`);
  assert.ok(copies.every((p) => p.buffer !== memory()));
});

/**
 * `gmemsim replay --json FILE` with its output read slowly: once the first bytes come, nothing read for 400 ms (the
 * replay is running by then: a pause from the start would end while the process still starts), then a piece at a
 * time.
 */
function replaySlowly(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "replay", "--json", file], { cwd: root });
    const parts: Buffer[] = [];
    let err = "";
    child.stderr.on("data", (b) => (err += b));
    child.stdout.on("data", (b: Buffer) => {
      parts.push(b);
      // Each piece read makes the writer wait again: its pipe fills while this reader sleeps.
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), parts.length === 1 ? 400 : 2);
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(parts).toString("utf8")) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

test("replay --json to a pipe read slowly writes every result line as it was made, for JSONL and binary traces", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gmemsim-bytes-"));
  try {
    const text = traffic(60000);
    const expected = want(text);
    writeFileSync(join(dir, "t.jsonl"), text);
    writeFileSync(join(dir, "t.bin"), encodeTrace(text));
    assert.ok(expected.length > 1 << 20, "more output than a pipe holds");
    same(await replaySlowly(join(dir, "t.jsonl")), expected, "JSONL");
    same(await replaySlowly(join(dir, "t.bin")), expected, "binary");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
