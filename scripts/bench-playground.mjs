#!/usr/bin/env node
// Prints the playground benchmark (bench/playground.ts): a 100,000-line trace in Debian's chromium.
//   node --import tsx scripts/bench-playground.mjs [LINES]
const { playgroundBench } = await import("../bench/playground.ts");
const lines = process.argv[2] === undefined ? 100_000 : Number(process.argv[2]);
if (!Number.isSafeInteger(lines) || lines < 7) {
  console.error(`LINES must be a whole number of at least 7, not "${process.argv[2]}"`);
  process.exit(2);
}
console.log((await playgroundBench(lines)).join("\n"));
