/**
 * The gmemsim command line (bin/gmemsim.js runs its bundle). Usage errors exit 2
 * with a sentence naming the flag and the value; help and --version exit 0.
 */
import { CommanderError } from "commander";
import { buildProgram } from "./program.js";

// A closed pipe (`gmemsim replay t.jsonl | head`) ends the run quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const program = buildProgram();
let argv = process.argv.slice(2);
// `gmemsim help NAME` for a NAME that is no command: the same refusal and suggestion as `gmemsim NAME`.
if (argv[0] === "help" && argv.length === 2 && !program.commands.some((c) => c.name() === argv[1])) argv = [argv[1]];
try {
  // A bare `gmemsim` prints the overview, as `gmemsim --help` does.
  await program.parseAsync(argv.length ? argv : ["--help"], { from: "user" });
} catch (e) {
  if (!(e instanceof CommanderError)) throw e;
  // Help and --version end with exit code 0; every usage error with 2.
  process.exitCode = e.exitCode === 0 ? 0 : 2;
}
