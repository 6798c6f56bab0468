/**
 * Colours for the command line, through picocolors, decided per stream: off
 * under NO_COLOR (any value, https://no-color.org), on a stream that is not a
 * terminal, and with TERM=dumb; FORCE_COLOR turns them on anyway. Every
 * message stays readable without them: colour only repeats what the words say.
 */
import pc from "picocolors";

type Colors = ReturnType<typeof pc.createColors>;

export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if ("NO_COLOR" in env && env.NO_COLOR !== undefined) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

/** Colours for standard output and for standard error. */
export const out: Colors = pc.createColors(colorEnabled(process.stdout));
export const err: Colors = pc.createColors(colorEnabled(process.stderr));
