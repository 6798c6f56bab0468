// The newest modification time under a folder: what the build steps compare
// their outputs against to skip work that is already done.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export function newestIn(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestIn(p) : statSync(p).mtimeMs);
  }
  return t;
}
