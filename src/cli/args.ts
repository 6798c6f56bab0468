/** Command-line parsing shared by the subcommands: strict, with a sentence for every mistake. */
import { parseArgs, type ParseArgsConfig } from "node:util";

export function parse(argv: string[], options: NonNullable<ParseArgsConfig["options"]>, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`gmemsim: ${(e as Error).message}\nusage: ${usage}`);
    process.exit(2);
  }
}

export function die(message: string, code = 2): never {
  console.error(`gmemsim: ${message}`);
  process.exit(code);
}
