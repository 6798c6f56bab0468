/**
 * Ending a command with a sentence. Flag values are read and checked by the
 * parsers of ./flags.ts, declared once in ./commands.ts; what is left to a
 * command are the rules that join several flags.
 */
import { err } from "./style.js";

/** Prints "gmemsim: MESSAGE" on standard error and exits (2: a usage error; 3: not available here). */
export function die(message: string, code = 2): never {
  console.error(`${err.red("gmemsim:")} ${message}`);
  process.exit(code);
}
