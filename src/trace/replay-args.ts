/**
 * A trace may name the kernel profile and the design it was written for on a
 * comment line, `# replay-args: --kernel 6.18+swprot --design system`.
 * `replay` (and the test runners) use them where the command line gives none.
 * Only --kernel and --design are read there; anything else on the line is an
 * error, so a misspelt option never passes silently. The values are checked
 * by whoever uses them (profileByName(), designByName()).
 */
export interface ReplayArgs {
  kernel?: string;
  design?: string;
}

const OPTIONS = ["kernel", "design"] as const;

export function replayArgs(text: string): ReplayArgs {
  const found: ReplayArgs = {};
  for (const line of text.split("\n", 200)) {
    const m = /^\s*#\s*replay-args:(.*)$/.exec(line);
    if (!m) continue;
    const words = m[1].trim().split(/\s+/).filter(Boolean);
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      const name = OPTIONS.find((o) => w === `--${o}` || w.startsWith(`--${o}=`));
      if (!name) throw new Error(`# replay-args: unknown option "${w}" (only --kernel and --design are read from a trace)`);
      const value = w === `--${name}` ? words[++i] : w.slice(name.length + 3);
      if (!value) throw new Error(`# replay-args: --${name} needs a value`);
      const before = found[name];
      if (before !== undefined && before !== value) throw new Error(`# replay-args: --${name} given twice (${before}, ${value})`);
      found[name] = value;
    }
  }
  return found;
}
