/**
 * The binary trace format (src/trace/binary.ts): converting a JSONL trace and
 * back gives the same text byte for byte, and replaying the binary form gives
 * the same result lines and the same state as replaying the text.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { traceArbitrary } from "../src/fuzz/arbitraries.js";
import { compactLines, decodeTrace, encodeTrace, isBinaryTrace, MORE, Reader, type Rec } from "../src/trace/binary.js";
import { replayBinary, replayBinaryJson, replayBinaryJsonStream, replayBinaryStream } from "../src/trace/binary-replay.js";
import { ReferenceCore } from "../src/core/reference/index.js";
import { resultJson } from "../src/trace/result-json.js";
import { Replayer, replayText, resultLine, explain, type LineRecord } from "../src/trace/replay.js";
import { TypedBatch } from "../src/api/typed.js";
import { BIN_IN_CAP, BIN_OUT_CAP } from "../src/abi/core-abi.js";
import { Host } from "../src/kvm/host.js";
import { EngineCore } from "../src/core/engine.js";
import { digestSnapshot } from "../src/core/digest.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A guest access in the form a compact record takes, where the op allows it
 * (no "private": false, no "value" on a read or exec; the same op to the trace
 * reader), so that the binary fast path is exercised.
 */
function canonical(op: Record<string, unknown>): Record<string, unknown> {
  if (op.op !== "vcpu_access" || op.private !== false) return op;
  const { private: _, value, ...rest } = op;
  return op.access === "write" ? { ...rest, value } : rest;
}

/** A trace's JSONL, with comments, blank lines and odd spacing mixed in, as people write them. */
function jsonl(trace: object[], seed: number): string {
  const lines: string[] = [];
  const ops = trace.map((op, k) => ((seed + k) % 5 ? canonical(op as Record<string, unknown>) : op));
  ops.forEach((op, k) => {
    if ((seed + k) % 7 === 0) lines.push("# a comment");
    if ((seed + k) % 11 === 0) lines.push("");
    lines.push((seed + k) % 13 === 0 ? JSON.stringify(op, null, 1).replace(/\n/g, "") : JSON.stringify(op));
  });
  return lines.join("\n") + (seed % 2 ? "\n" : "");
}

function replay(gen: Generator<LineRecord[]>, host: Host) {
  const lines: unknown[] = [];
  const why: Array<string | undefined> = [];
  for (const batch of gen)
    for (const rec of batch) {
      lines.push({ ...resultLine(rec), lineNo: rec.lineNo, op: rec.op });
      why.push(explain(rec));
    }
  return { lines, why, state: digestSnapshot(host.core.snapshot()) };
}

/** A VM bound whole to a 1 MiB gmem file (v, g): the start of most traces here. */
const ONE_VM = ['{"op":"create_vm","as":"v","type":"default"}', '{"op":"create_guest_memfd","vm":"v","as":"g","size":1048576,"flags":["MMAP","INIT_SHARED"]}', '{"op":"set_user_memory_region2","vm":"v","slot":0,"flags":"GUEST_MEMFD","guest_phys_addr":0,"memory_size":1048576,"guest_memfd":"g"}'];

test("a JSONL trace converted to binary and back is the same text, byte for byte", () => {
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 48 }), fc.nat(1000), (trace, seed) => {
      const text = jsonl(trace, seed);
      const bin = encodeTrace(text);
      assert.ok(isBinaryTrace(bin));
      assert.is(decodeTrace(bin), text);
    }),
    { numRuns: 1500, seed: 11 },
  );
  for (const text of ["", "\n", "\n\n# only a comment\n", '{"op":"stats"}', "not json at all", '{"op":"vcpu_access","vm":"é","gpa":9007199254740991,"access":"read"}\n'])
    assert.is(decodeTrace(encodeTrace(text)), text);
});

test("hot lines take compact records: a guest-traffic trace is several times smaller than its text", () => {
  const lines = ['{"op":"create_vm","as":"v","type":"default"}'];
  for (let k = 0; k < 1000; k++) lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: (k % 64) * 4096, access: k & 1 ? "read" : "write", ...(k & 1 ? {} : { value: k & 255 }) }));
  const text = lines.join("\n");
  const bin = encodeTrace(text);
  assert.ok(bin.length * 5 < text.length, `${bin.length} bytes for ${text.length} of text`);
});

test("replaying the binary form gives the same result lines, explanations and state as replaying the text", () => {
  let ops = 0;
  let compact = 0;
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 48 }), fc.nat(1000), (trace, seed) => {
      ops += trace.length;
      const text = jsonl(trace, seed);
      compact += compactLines(encodeTrace(text));
      const h1 = new Host(new EngineCore());
      const want = replay(replayText(h1, text, 7), h1);
      const h2 = new Host(new EngineCore());
      const got = replay(replayBinary(h2, encodeTrace(text), 7), h2);
      assert.equal(got.lines, want.lines);
      assert.equal(got.why, want.why);
      assert.is(got.state, want.state);
    }),
    { numRuns: 1500, seed: 12 },
  );
  assert.ok(ops > 10_000);
  assert.ok(compact > ops / 8, `the fast path ran a fair share of the ops (${compact} of ${ops})`);
});

test("the binary replay's result-line bytes are exactly the text replay's result lines (resultJson), chunk sizes aside", () => {
  let lines = 0;
  fc.assert(
    fc.property(traceArbitrary({ maxLength: 48 }), fc.nat(1000), fc.constantFrom(1, 3, 7, 4096), (trace, seed, chunk) => {
      const text = jsonl(trace, seed);
      const h1 = new Host(new EngineCore());
      let want = "";
      for (const batch of replayText(h1, text, 5)) for (const rec of batch) want += resultJson(rec) + "\n";
      const h2 = new Host(new EngineCore());
      let got = "";
      for (const bytes of replayBinaryJson(h2, encodeTrace(text), chunk)) got += new TextDecoder().decode(bytes);
      assert.is(got, want);
      assert.is(digestSnapshot(h2.core.snapshot()), digestSnapshot(h1.core.snapshot()));
      lines += want.split("\n").length - 1;
    }),
    { numRuns: 800, seed: 13 },
  );
  assert.ok(lines > 5_000);
});

test("a long binary trace (many input windows and output buffers of the core) answers as its text does, names rebound and objects closed on the way", () => {
  const lines = [...ONE_VM, '{"op":"mmap","fd":"g","as":"m","offset":0,"len":65536,"prot":"rw","shared":true}'];
  let x = 7;
  for (let k = 0; k < 60_000; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const page = (x >>> 8) % 300; // some past the 256-page memslot: MMIO exits, and allocations past EOF
    const r = x & 15;
    if (r < 5) lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: page * 4096, access: "read" }));
    else if (r < 9) lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: page * 4096 + 1, access: "write", value: x >>> 24 }));
    else if (r < 11) lines.push(JSON.stringify({ op: "fallocate", fd: "g", mode: r === 9 ? 1 : 3, offset: page * 4096, len: 4096 }));
    else if (r < 13) lines.push(JSON.stringify({ op: "load", map: "m", offset: (x >>> 4) % 70000 }));
    else if (r < 14) lines.push(JSON.stringify({ op: "store", map: "m", offset: (x >>> 4) % 65536, value: 3 }));
    else if (k % 500 === 0) lines.push("# a comment", '{"op":"stats","vm":"v"}');
    else lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: page * 4096, access: "exec" }));
    if (k === 40_000) lines.push('{"op":"close","fd":"v"}', '{"op":"create_vm","as":"v","type":"default"}');
  }
  const text = lines.join("\n") + "\n";
  const h1 = new Host(new EngineCore());
  let want = "";
  for (const batch of replayText(h1, text)) for (const rec of batch) want += resultJson(rec) + "\n";
  const h2 = new Host(new EngineCore());
  const bin = encodeTrace(text);
  assert.ok(bin.length > 3 * 65536, `several input windows (${bin.length} bytes)`);
  let got = "";
  for (const bytes of replayBinaryJson(h2, bin)) got += new TextDecoder().decode(bytes);
  assert.ok(got.length > 3 * 65536, "several output buffers");
  const g = got.split("\n");
  const w = want.split("\n");
  for (let k = 0; k < w.length; k++) if (g[k] !== w[k]) assert.unreachable(`line ${k}: ${g[k]} vs ${w[k]}`);
  assert.is(g.length, w.length);
  assert.is(digestSnapshot(h2.core.snapshot()), digestSnapshot(h1.core.snapshot()));
});

test("a binary trace whose successes fill the core's output buffer between lines of text answers in the text's order (the lines held before a full buffer go out first)", () => {
  const lines = [...ONE_VM];
  let x = 11;
  for (let k = 0; k < 40_000; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const page = (x >>> 8) % 256;
    // A line of text every 4,000: more than an output buffer of successes (some 2,700 lines) lies between two.
    if (k % 4_000 === 1_000) lines.push('{"op":"stats","vm":"v"}');
    else if (x & 1) lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: page * 4096, access: "read" }));
    else lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: page * 4096, access: "write", value: x >>> 24 }));
  }
  const text = lines.join("\n") + "\n";
  const h1 = new Host(new EngineCore());
  let want = "";
  for (const batch of replayText(h1, text)) for (const rec of batch) want += resultJson(rec) + "\n";
  const h2 = new Host(new EngineCore());
  let got = "";
  let full = 0;
  for (const bytes of replayBinaryJson(h2, encodeTrace(text))) {
    if (bytes.length > 60_000) full++;
    got += new TextDecoder().decode(bytes);
  }
  assert.ok(full >= 10, `full output buffers (${full})`);
  const g = got.split("\n");
  const w = want.split("\n");
  for (let k = 0; k < w.length; k++) if (g[k] !== w[k]) assert.unreachable(`line ${k}: ${g[k]} vs ${w[k]}`);
  assert.is(g.length, w.length);
});

/** How many times TypedBatch's `method` was called while fn ran, and what fn returned. */
function callsOf<T>(method: "run" | "handle", fn: () => T): [number, T] {
  const proto = TypedBatch.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const original = proto[method];
  let n = 0;
  proto[method] = function (this: TypedBatch, ...a: unknown[]) {
    n++;
    return original.apply(this, a);
  };
  try {
    const out = fn();
    return [n, out];
  } finally {
    proto[method] = original;
  }
}

test("on the engine, the first compact record of a name (after the trace's start, and after each line of text) runs in the core once the name enters its table, as the records after it do, and so do the trace's last records: the kernel layer runs no typed command for them", () => {
  const setup = [...ONE_VM, '{"op":"mmap","fd":"g","as":"m","offset":0,"len":65536,"prot":"rw","shared":true}'];
  const traffic: string[] = [];
  for (let k = 0; k < 300; k++) {
    traffic.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: (k % 64) * 4096, access: k & 1 ? "read" : "write", ...(k & 1 ? {} : { value: k & 255 }) }));
    traffic.push(JSON.stringify({ op: "fallocate", fd: "g", mode: 1, offset: (k % 200) * 4096, len: 4096 }));
    traffic.push(JSON.stringify({ op: "load", map: "m", offset: k * 7 }));
    // Lines of text on the way: each empties the name table, so every name enters it again.
    if (k % 100 === 50) traffic.push('{"op":"create_vm","as":"w' + k + '","type":"default"}', "# a comment");
  }
  const typedRuns = (run: () => void): number => callsOf("run", run)[0];
  const text = [...setup, ...traffic].join("\n") + "\n";
  const h1 = new Host(new EngineCore());
  let want = "";
  for (const batch of replayText(h1, text)) for (const rec of batch) want += resultJson(rec) + "\n";
  const h2 = new Host(new EngineCore());
  let got = "";
  assert.is(typedRuns(() => { for (const b of replayBinaryJson(h2, encodeTrace(text))) got += new TextDecoder().decode(b); }), 0);
  assert.is(got, want);
  assert.is(digestSnapshot(h2.core.snapshot()), digestSnapshot(h1.core.snapshot()));
  // A trace whose first line is a compact record, on names a replayer already holds.
  const h3 = new Host(new EngineCore());
  const rp = new Replayer(h3);
  setup.forEach((line, k) => rp.line(line, k + 1));
  let rest = "";
  assert.is(typedRuns(() => { for (const b of replayBinaryJson(h3, encodeTrace(traffic.join("\n")), 4096, rp)) rest += new TextDecoder().decode(b); }), 0);
  assert.is(rest, want.split("\n").slice(setup.length).join("\n"));
});

test("a blank line, a comment or a stats line between compact records changes no name nor object, so the binary replay keeps what each name resolves to across it; any other line of text resolves every name again", () => {
  const lines = [...ONE_VM];
  for (let k = 0; k < 400; k++) {
    lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: (k % 64) * 4096, access: "read" }), JSON.stringify({ op: "fallocate", fd: "g", mode: 3, offset: (k % 64) * 4096, len: 4096 }));
    if (k % 4 === 1) lines.push(k % 8 === 1 ? "# a comment" : "");
    if (k % 50 === 3) lines.push(k % 100 === 3 ? '{"op":"stats","vm":"v"}' : '{"op":"stats","fd":"g"}', '{"op":"stats"}', '{"op":"stats","vm":"nope"}');
    if (k === 200) lines.push('{"op":"create_vm","as":"w","type":"default"}');
  }
  lines.push('{"op":"stats","vm":"v"}');
  const text = lines.join("\n") + "\n";
  const h0 = new Host(new EngineCore());
  let want = "";
  for (const batch of replayText(h0, text)) for (const rec of batch) want += resultJson(rec) + "\n";
  const handles = (run: () => string): [number, string] => callsOf("handle", run);
  // The two names are resolved at the start and again after create_vm: never for a comment, a blank line or stats.
  for (const core of [() => new EngineCore(), () => new ReferenceCore()]) {
    const h1 = new Host(core());
    assert.equal(handles(() => [...replayBinaryJson(h1, encodeTrace(text))].map((b) => new TextDecoder().decode(b)).join("")), [4, want]);
    const h2 = new Host(core());
    assert.equal(handles(() => [...replayBinary(h2, encodeTrace(text))].flat().map((rec) => resultJson(rec) + "\n").join("")), [4, want]);
  }
});

test("on the engine, the binary replay gathers its result lines, the core's and those of lines of text, in the core's output buffer across input windows, and gives them out a full buffer at a time", () => {
  const lines = [...ONE_VM];
  let x = 5;
  for (let k = 0; k < 60_000; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const page = (x >>> 8) % 256;
    // Lines of text close together, with long result lines: one often comes when the buffer is too full for its line.
    if (k % 5 === 3) lines.push(k % 2 ? '{"op":"stats","vm":"a-name-no-line-of-this-trace-has-made-so-far"}' : JSON.stringify({ op: "vcpu_access", vm: "v", gpa: page * 4096, access: "read", private: false }));
    else lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: page * 4096 + 3, access: "write", value: x >>> 24 }));
  }
  const text = lines.join("\n") + "\n";
  const h1 = new Host(new EngineCore());
  let want = "";
  for (const batch of replayText(h1, text)) for (const rec of batch) want += resultJson(rec) + "\n";
  const bin = encodeTrace(text);
  assert.ok(bin.length > 3 * BIN_IN_CAP, `several input windows (${bin.length} bytes)`);
  const h2 = new Host(new EngineCore());
  const chunks = [...replayBinaryJson(h2, bin)];
  assert.is(chunks.map((b) => new TextDecoder().decode(b)).join(""), want);
  assert.is(digestSnapshot(h2.core.snapshot()), digestSnapshot(h1.core.snapshot()));
  assert.ok(chunks.length > 20, `${chunks.length} chunks`);
  // The bytes fed are taken twice (as fed, then once the trace is known to end there): each time, what is ready goes out.
  const sizes = chunks.slice(0, -2).map((b) => b.length);
  assert.ok(sizes.every((n) => n > BIN_OUT_CAP - 1024 && n <= BIN_OUT_CAP), `chunk sizes ${sizes.join(" ")}`);
});

test("a binary trace's varints of every length answer as its text does: gpas of 5, 6 and 7 varint bytes run in the core, 8 bytes go the kernel layer's way", () => {
  // Memslots high in the guest physical space (up to 2^52), one gmem file each.
  const bases = [2 ** 30 + 2 ** 29, 2 ** 37 + 2 ** 36, 2 ** 45 + 2 ** 44, 2 ** 50];
  const lines = ['{"op":"create_vm","as":"v","type":"default"}'];
  bases.forEach((base, k) => {
    lines.push(JSON.stringify({ op: "create_guest_memfd", vm: "v", as: `g${k}`, size: 65536, flags: ["MMAP", "INIT_SHARED"] }));
    lines.push(JSON.stringify({ op: "set_user_memory_region2", vm: "v", slot: k, flags: "GUEST_MEMFD", guest_phys_addr: base, memory_size: 65536, guest_memfd: `g${k}` }));
  });
  let x = 5;
  for (let k = 0; k < 4_000; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    // Pages 16 to 19 lie past each memslot (MMIO exits); an offset within the page too.
    const gpa = bases[x & 3] + ((x >>> 8) % 20) * 4096 + ((x >>> 3) & 31);
    if (x & 4) lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa, access: "read" }));
    else lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa, access: "write", value: x >>> 24 }));
  }
  const text = lines.join("\n") + "\n";
  const h1 = new Host(new EngineCore());
  let want = "";
  for (const batch of replayText(h1, text)) for (const rec of batch) want += resultJson(rec) + "\n";
  assert.ok((want.match(/"value":/g) ?? []).length > 1_000, "reads that succeed");
  const h2 = new Host(new EngineCore());
  let got = "";
  for (const bytes of replayBinaryJson(h2, encodeTrace(text))) got += new TextDecoder().decode(bytes);
  const g = got.split("\n");
  const w = want.split("\n");
  for (let k = 0; k < w.length; k++) if (g[k] !== w[k]) assert.unreachable(`line ${k}: ${g[k]} vs ${w[k]}`);
  assert.is(g.length, w.length);
  assert.is(digestSnapshot(h2.core.snapshot()), digestSnapshot(h1.core.snapshot()));
});

/** Bytes in pieces of the given sizes (cycled), as a pipe delivers them. */
async function* pieces(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = sizes[k % sizes.length];
    yield bytes.slice(at, at + n);
    at += n;
  }
}

test("a binary trace fed in pieces (a byte at a time, or any split) replays to the same bytes and state as fed whole, on both cores", async () => {
  await fc.assert(
    fc.asyncProperty(traceArbitrary({ maxLength: 40 }), fc.nat(1000), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }), fc.constantFrom("wasm", "reference"), async (trace, seed, sizes, engine) => {
      const text = jsonl(trace, seed);
      const bin = encodeTrace(text);
      const core = () => (engine === "wasm" ? new EngineCore() : new ReferenceCore());
      const h1 = new Host(core());
      let want = "";
      for (const b of replayBinaryJson(h1, bin)) want += new TextDecoder().decode(b);
      const h2 = new Host(core());
      let got = "";
      for await (const b of replayBinaryJsonStream(h2, pieces(bin, sizes))) got += new TextDecoder().decode(b);
      assert.is(got, want);
      assert.is(digestSnapshot(h2.core.snapshot()), digestSnapshot(h1.core.snapshot()));
      const h3 = new Host(core());
      const recs: unknown[] = [];
      for await (const batch of replayBinaryStream(h3, pieces(bin, sizes), 5)) for (const rec of batch) recs.push(resultJson(rec));
      assert.is(recs.map((l) => l + "\n").join(""), want);
    }),
    { numRuns: 300, seed: 14 },
  );
});

test("near the frame limit the binary replay answers as the text does: a fault past the headroom the kernel layer granted goes its way (ENOMEM, SIGBUS)", () => {
  const lines = ['{"op":"create_vm","as":"v","type":"default"}', '{"op":"create_guest_memfd","vm":"v","as":"g","size":262144,"flags":["MMAP","INIT_SHARED"]}', '{"op":"set_user_memory_region2","vm":"v","slot":0,"flags":"GUEST_MEMFD","guest_phys_addr":0,"memory_size":262144,"guest_memfd":"g"}', '{"op":"mmap","fd":"g","as":"m","offset":0,"len":262144,"prot":"rw"}'];
  for (let k = 0; k < 3000; k++) {
    const page = (k * 7) % 64;
    const r = k % 5;
    if (r < 2) lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: page * 4096, access: r ? "read" : "write", ...(r ? {} : { value: k & 255 }) }));
    else if (r === 2) lines.push(JSON.stringify({ op: "fallocate", fd: "g", mode: 1, offset: ((k * 3) % 64) * 4096, len: 8192 }));
    else if (r === 3) lines.push(JSON.stringify({ op: "load", map: "m", offset: ((k * 5) % 64) * 4096 }));
    else lines.push(JSON.stringify({ op: "fallocate", fd: "g", mode: 3, offset: ((k * 11) % 64) * 4096, len: 4096 }));
  }
  const text = lines.join("\n");
  for (const frameLimit of [1, 5, 20]) {
    const h1 = new Host(new EngineCore(), { frameLimit });
    let want = "";
    for (const batch of replayText(h1, text)) for (const rec of batch) want += resultJson(rec) + "\n";
    assert.ok(/ENOMEM|SIGBUS/.test(want), "the limit was reached");
    const h2 = new Host(new EngineCore(), { frameLimit });
    let got = "";
    for (const b of replayBinaryJson(h2, encodeTrace(text))) got += new TextDecoder().decode(b);
    assert.is(got, want, `frame limit ${frameLimit}`);
    assert.is(digestSnapshot(h2.core.snapshot()), digestSnapshot(h1.core.snapshot()));
  }
});

test("a binary trace read in pieces holds what is not yet read, not the trace: 8 MiB in 64 KiB pieces, at most 256 KiB held", () => {
  const lines = ['{"op":"create_vm","as":"v","type":"default"}'];
  for (let k = 0; k < 1_600_000; k++) lines.push(JSON.stringify({ op: "vcpu_access", vm: "v", gpa: (k % 4096) * 4096, access: "read" }));
  lines.push(JSON.stringify({ op: "stats", vm: "v", note: "x".repeat(100_000) })); // one long line of text
  const bin = encodeTrace(lines.join("\n"));
  assert.ok(bin.length > 8 * 1024 * 1024, `${bin.length} bytes`);
  const rd = new Reader();
  const r = {} as Rec;
  let records = 0;
  let most = 0;
  for (let at = 0; at < bin.length; at += 65536) {
    rd.feed(bin.subarray(at, at + 65536));
    for (let got = rd.next(r); got !== MORE && got !== null; got = rd.next(r)) records++;
    most = Math.max(most, rd.held);
  }
  rd.finish();
  for (let got = rd.next(r); got !== null; got = rd.next(r)) records++;
  assert.is(records, lines.length);
  assert.ok(most <= 256 * 1024, `held at most ${most} bytes`);
});

test("a binary trace cut short in a record is refused at its end, not taken as a shorter trace", async () => {
  const bin = encodeTrace('{"op":"create_vm","as":"v","type":"default"}\n{"op":"vcpu_access","vm":"v","gpa":409600,"access":"read"}');
  const h = new Host(new EngineCore());
  let error = "";
  try {
    for await (const _ of replayBinaryJsonStream(h, pieces(bin.subarray(0, bin.length - 1), [3]))) void _;
  } catch (e) {
    error = (e as Error).message;
  }
  assert.match(error, /binary trace: unexpected end at byte/);
});

test("gmemsim replay of a damaged binary trace prints the lines it could read, then a sentence saying where, and exits 2, as for a trace it cannot read (no stack trace)", () => {
  const dir = mkdtempSync(join(tmpdir(), "gmemsim-damaged-"));
  try {
    const bin = encodeTrace('{"op":"create_vm","as":"v","type":"default"}\n{"op":"vcpu_access","vm":"v","gpa":409600,"access":"read"}\n{"op":"stats","vm":"v"}');
    const cut = join(dir, "cut.bin");
    writeFileSync(cut, bin.subarray(0, bin.length - 3));
    for (const json of [true, false]) {
      const r = spawnSync(process.execPath, ["bin/gmemsim.js", "replay", cut, ...(json ? ["--json"] : [])], { encoding: "utf8" });
      assert.is(r.status, 2, r.stderr);
      assert.match(r.stderr, /cut\.bin: binary trace: unexpected end at byte \d+/);
      assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
      assert.is(r.stdout.trim().split("\n").length, 2, "the two lines before the damage were answered");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a damaged binary trace is refused with a sentence saying where", () => {
  const bin = encodeTrace('{"op":"create_vm","as":"v","type":"default"}\n{"op":"vcpu_access","vm":"v","gpa":0,"access":"read"}');
  assert.throws(() => decodeTrace(bin.subarray(0, bin.length - 1)), /binary trace: unexpected end at byte/);
  const bad = bin.slice();
  bad[8] = 9;
  assert.throws(() => decodeTrace(bad), /version 9 is not 1/);
  assert.throws(() => decodeTrace(new TextEncoder().encode("{}")), /not a gmemsim binary trace/);
});

test("a fallocate record the core stops at after its offset (a len of 8 varint bytes, a damaged mode form) is taken from its first byte: answered as its text, or refused as the record reader refuses it", () => {
  const lines = [...ONE_VM];
  const reads = (n: number) => Array.from({ length: n }, (_, k) => JSON.stringify({ op: "vcpu_access", vm: "v", gpa: k * 4096, access: "read" }));
  // The first fallocate on g gives its name a handle in the core; the core reads the next ones itself.
  lines.push(...reads(10), JSON.stringify({ op: "fallocate", fd: "g", mode: 3, offset: 8192, len: 4096 }));
  lines.push(JSON.stringify({ op: "fallocate", fd: "g", mode: 1, offset: 4096, len: 2 ** 50 }), ...reads(10));
  const text = lines.join("\n") + "\n";
  const h1 = new Host(new EngineCore());
  let want = "";
  for (const batch of replayText(h1, text)) for (const rec of batch) want += resultJson(rec) + "\n";
  assert.match(want, /"errno":"EINVAL"|"errno":"EFBIG"|"errno":"ENOSPC"/, "the long len is refused by the kernel layer");
  const bin = encodeTrace(text);
  const h2 = new Host(new EngineCore());
  let got = "";
  for (const b of replayBinaryJson(h2, bin)) got += new TextDecoder().decode(b);
  assert.is(got, want);
  // The punch's mode form (2, then its len 4096 as 0x80 0x20) damaged to 9.
  let at = -1;
  for (let i = 0; i + 4 < bin.length; i++) if (bin[i] === 5 && bin[i + 2] === 0x80 && bin[i + 3] === 0x40 && bin[i + 4] === 2) at = i;
  assert.ok(at > 0, "the punch's record");
  const bad = bin.slice();
  bad[at + 4] = 9;
  const refusal = (core: EngineCore | ReferenceCore) => {
    try {
      for (const _ of replayBinaryJson(new Host(core), bad)) void _;
    } catch (e) {
      return (e as Error).message;
    }
    return "no refusal";
  };
  assert.is(refusal(new EngineCore()), refusal(new ReferenceCore()));
  assert.match(refusal(new EngineCore()), /unknown mode form 9 at byte/);
});

test("gmemsim convert makes a binary trace that gmemsim replay runs to the same output, and converts it back exactly", () => {
  const dir = mkdtempSync(join(tmpdir(), "gmemsim-binary-"));
  try {
    const lines = [
      "# two VMs sharing nothing; guest traffic, allocate and punch",
      '{"op":"create_vm","as":"v","type":"default"}',
      '{"op":"create_guest_memfd","vm":"v","as":"g","size":1048576,"flags":["MMAP","INIT_SHARED"]}',
      '{"op":"set_user_memory_region2","vm":"v","slot":0,"flags":"GUEST_MEMFD","guest_phys_addr":0,"memory_size":1048576,"guest_memfd":"g"}',
      '{"op":"mmap","fd":"g","as":"m","offset":0,"len":1048576,"prot":"rw","shared":true}',
    ];
    for (let k = 0; k < 300; k++) {
      const gpa = (k % 40) * 4096;
      lines.push(k % 3 ? `{"op":"vcpu_access","vm":"v","gpa":${gpa},"access":"read"}` : `{"op":"vcpu_access","vm":"v","gpa":${gpa},"access":"write","value":${k & 255}}`);
      if (k % 7 === 0) lines.push(`{"op":"fallocate","fd":"g","mode":["KEEP_SIZE","PUNCH_HOLE"],"offset":${gpa},"len":4096}`);
      if (k % 11 === 0) lines.push(`{"op":"load","map":"m","offset":${gpa + 5}}`);
    }
    lines.push('{"op": "stats", "vm": "v", "expect": {"ret": 0}}', '{"op":"load","map":"m","offset":4194304}', '{"op":"vcpu_access","vm":"nobody","gpa":0,"access":"read"}');
    const text = lines.join("\n") + "\n";
    const [src, bin, back] = ["t.jsonl", "t.bin", "back.jsonl"].map((f) => join(dir, f));
    writeFileSync(src, text);
    const run = (...args: string[]) => spawnSync(process.execPath, ["bin/gmemsim.js", ...args], { encoding: "utf8" });
    assert.is(run("convert", src, bin).status, 0);
    assert.ok(isBinaryTrace(readFileSync(bin)));
    assert.is(run("convert", bin, back).status, 0);
    assert.is(readFileSync(back, "utf8"), text);
    assert.ok(compactLines(readFileSync(bin)) > 300);
    for (const flags of [["--json"], []]) {
      const a = run("replay", src, ...flags);
      const b = run("replay", bin, ...flags);
      assert.is(a.status, 0, a.stderr);
      assert.is(b.stdout, a.stdout);
      assert.ok(a.stdout.includes("error"), "the trace errors at the end are in both outputs");
    }
    assert.match(run("convert", src).stderr, /missing required argument 'OUT'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
