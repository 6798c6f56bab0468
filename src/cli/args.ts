/**
 * Ending a command with a sentence. Flag values are read and checked by the
 * parsers of ./flags.ts, declared once in ./commands.ts.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { err } from "./style.js";

/** Prints "gmemsim: MESSAGE" on standard error and exits (2: a usage error; 3: not available here). */
export function die(message: string, code = 2): never {
  console.error(`${err.red("gmemsim:")} ${message}`);
  process.exit(code);
}

/**
 * node:util's strict parseArgs, for a subcommand whose flags are not yet in
 * ./commands.ts. A declared subcommand gets typed options from the declaration
 * instead (and its --help, suggestions and value checks): declare new flags there.
 */
export function parse(argv: string[], options: NonNullable<ParseArgsConfig["options"]>, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    die(`${(e as Error).message}\nusage: ${usage}`);
  }
}
