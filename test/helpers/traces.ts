/** Reading trace files of test/ and splitting them into the rule blocks their # comments name. */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export const CONFORMANCE_DIR = new URL("../conformance/", import.meta.url).pathname;

export function traceFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .sort();
}

export function readTraceFile(dir: string, name: string): string {
  return readFileSync(join(dir, name), "utf8");
}

/** Blocks of counted lines, each named by the comment that opens it: [name, first line no, last line no]. */
export function ruleBlocks(text: string): Array<{ name: string; from: number; to: number }> {
  const lines = text.split("\n");
  const blocks: Array<{ name: string; from: number; to: number }> = [];
  let name = "setup";
  let inComment = false;
  for (let n = 0; n < lines.length; n++) {
    const t = lines[n].trim();
    if (t.startsWith("#")) {
      if (!inComment) name = t.replace(/^#\s*/, "");
      inComment = true;
      continue;
    }
    inComment = false;
    if (t === "") continue;
    const last = blocks[blocks.length - 1];
    if (last && last.name === name) last.to = n + 1;
    else blocks.push({ name, from: n + 1, to: n + 1 });
  }
  return blocks;
}
