#!/usr/bin/env node
// Writes one of bench --probes' traces (bench/probes.ts) at a size, with the
// profile and design it runs under in its `# replay-args:` line, so that a
// probe can be replayed as a whole process:
//   node --import tsx scripts/probe-trace.mjs NAME N > t.jsonl && gmemsim replay t.jsonl [--check]
const { PROBES, probeTraceText } = await import("../bench/probes.ts");
const [name, size] = process.argv.slice(2);
const n = Number(size);
if (!PROBES.some((p) => p.name === name) || !Number.isSafeInteger(n) || n < 1) {
  console.error(`usage: probe-trace.mjs NAME N, NAME one of ${PROBES.map((p) => p.name).join(", ")}, N a whole number of objects`);
  process.exit(2);
}
process.stdout.write(probeTraceText(name, n));
