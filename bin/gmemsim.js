#!/usr/bin/env node
// The gmemsim command: the built CLI bundle (npm run build makes it).
import { existsSync } from "node:fs";

const cli = new URL("../build/node/cli.js", import.meta.url);
if (!existsSync(cli)) {
  console.error("gmemsim: build/node/cli.js is missing; run `npm run build` first");
  process.exit(2);
}
await import(cli.href);
