/**
 * The commander program built from the one declaration in ./commands.ts:
 * parsing, `--help` of every subcommand, `gmemsim help CMD`, `--version` and
 * "did you mean" all come from it.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { readFileSync } from "node:fs";
import { COMMANDS, type CommandDecl } from "./commands.js";
import { colorEnabled, err, out } from "./style.js";

// Both src/cli/main.ts (under tsx) and build/node/cli.js (the bundle) sit two levels below the package root.
const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string; description: string };

/** The commander program for the declaration (exported for the tests, which read its help). */
export function buildProgram(): Command {
  const program = new Command("gmemsim")
    .description(pkg.description)
    .version(pkg.version, "-V, --version", "print the version")
    .helpOption("-h, --help", "print this help")
    .helpCommand("help [COMMAND]", "print the help of a command")
    .showSuggestionAfterError(true)
    .showHelpAfterError(err.dim("(gmemsim help COMMAND, or COMMAND --help, prints its flags)"))
    .exitOverride()
    .configureOutput({
      getOutHasColors: () => colorEnabled(process.stdout),
      getErrHasColors: () => colorEnabled(process.stderr),
      outputError: (text, write) => write(`${err.red("gmemsim:")} ${text.replace(/^error: /, "")}`),
    })
    .configureHelp({
      styleTitle: (s) => out.bold(s),
      styleCommandText: (s) => out.cyan(s),
      styleSubcommandText: (s) => out.cyan(s),
      styleOptionText: (s) => out.green(s),
      styleArgumentText: (s) => out.yellow(s),
      showGlobalOptions: false,
    });
  // Settings reach a subcommand made apart (addCommand) only when copied: output, colours, exit override, suggestions.
  for (const decl of COMMANDS) program.addCommand(subcommand(decl).copyInheritedSettings(program));
  program.addHelpText("after", `\n${out.dim("Exit status: 0 done, 1 a check or a run failed, 2 a usage error, 3 the live kernel is not available here.")}`);
  return program;
}

function subcommand(decl: CommandDecl): Command {
  const cmd = new Command(decl.name).description(decl.summary).helpOption("-h, --help", "print this help");
  for (const a of decl.args) cmd.argument(`<${a.name}>`, a.description);
  for (const f of decl.flags) {
    const opt = new Option(f.flags, f.description);
    const read = f.parse ?? ((text: string) => text);
    if (f.multiple) opt.argParser((text: string, previous: unknown) => [...((previous as unknown[] | undefined) ?? []), read(text)]);
    else if (f.parse) opt.argParser((text: string) => read(text));
    if (f.required) opt.makeOptionMandatory(true);
    if (f.choices) opt.choices(f.choices);
    if (f.default !== undefined) opt.default(f.default, f.default);
    if (f.conflicts) opt.conflicts(f.conflicts);
    cmd.addOption(opt);
  }
  if (decl.more) cmd.addHelpText("after", `\n${decl.more}`);
  cmd.action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command;
    // commander does not pass defaults through the value readers: read them here, so that they are checked alike.
    for (const f of decl.flags) {
      const key = self.options.find((o) => o.flags === f.flags)!.attributeName();
      if (f.parse && f.default !== undefined && self.getOptionValueSource(key) === "default") {
        try {
          self.setOptionValueWithSource(key, f.parse(f.default), "default");
        } catch (e) {
          if (e instanceof InvalidArgumentError) self.error(`option '${f.flags}' default '${f.default}' is invalid. ${e.message}`, { exitCode: 2, code: "commander.invalidArgument" });
          throw e;
        }
      }
    }
    process.exitCode = await decl.run(self.processedArgs as string[], self.opts());
  });
  return cmd;
}

