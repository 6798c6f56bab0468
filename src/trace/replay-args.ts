/**
 * A trace may name the kernel profile it was written for on a comment line,
 * `# replay-args: --kernel 6.18+swprot`. `replay` (and the test runners) use it
 * when no --kernel is given. Only --kernel is read there; anything else on the
 * line is an error, so a misspelt option never passes silently.
 */
export function replayArgsKernel(text: string): string | undefined {
  let kernel: string | undefined;
  for (const line of text.split("\n", 200)) {
    const m = /^\s*#\s*replay-args:(.*)$/.exec(line);
    if (!m) continue;
    const words = m[1].trim().split(/\s+/).filter(Boolean);
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      let value: string | undefined;
      if (w === "--kernel") value = words[++i];
      else if (w.startsWith("--kernel=")) value = w.slice("--kernel=".length);
      else throw new Error(`# replay-args: unknown option "${w}" (only --kernel is read from a trace)`);
      if (!value) throw new Error("# replay-args: --kernel needs a profile name");
      if (kernel !== undefined && kernel !== value) throw new Error(`# replay-args: --kernel given twice (${kernel}, ${value})`);
      kernel = value;
    }
  }
  return kernel;
}
