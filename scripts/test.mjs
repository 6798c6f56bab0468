#!/usr/bin/env node
// Runs every uvu suite in test/ under tsx, echoes it, and closes with one line
// "N passed, N failed, N skipped" (uvu prints no failed count). Exits non-zero on
// any failure, on no test at all, or when uvu's summary is missing.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const uvuBin = join(dirname(require.resolve("uvu")), "..", "bin.js");
// Only *.test.ts: test/ also holds trace files and helpers.
const pattern = process.argv[2] ? `${process.argv[2]}.*\\.test\\.ts$` : "\\.test\\.ts$";
const args = ["--import", "tsx", uvuBin, "test", pattern];
const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, FORCE_COLOR: "0" } });
let out = "";
child.stdout.on("data", (d) => {
  out += d;
  process.stdout.write(d);
});
child.on("close", (code) => {
  // uvu colours some counts even with FORCE_COLOR=0: read the text without escape codes.
  const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
  const num = (label) => {
    const m = new RegExp(`${label}:\\s+(\\d+)`).exec(plain);
    return m ? Number(m[1]) : null;
  };
  const total = num("Total");
  const passed = num("Passed");
  const skipped = num("Skipped") ?? 0;
  if (total === null || passed === null) {
    console.log(`\n0 passed, 1 failed (no uvu summary; exit code ${code})`);
    process.exit(1);
  }
  // uvu's Total counts the tests that ran; skipped ones come on top.
  const failed = total - passed;
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code !== 0 || failed > 0 || total + skipped === 0 ? 1 : 0);
});
