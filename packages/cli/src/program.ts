/**
 * @module program
 * The `kai` command tree and `run()`, which executes one command line and returns the exit code
 * instead of exiting, so that every failure path goes through one error printer.
 */
import { Command, CommanderError, Option } from "commander";
import { addGlobalOptions } from "./command-options.js";
import { CliError, describeCliError } from "./cli-error.js";
import { EXIT, EXIT_CODES_HELP, type ExitCode } from "./exit-code-numbers.js";
import { createOutput } from "./output.js";
import { VERSION } from "./version.js";
import { applyTlsFiles, tlsFilesOf } from "./tls-trust.js";
import { TOP_LEVEL_COMMANDS, topLevelCommandNamed, type TopLevelCommand } from "./commands/catalog.js";

const EPILOGUE = `
Server and token: --url/--token flags, else KAI_URL/KAI_TOKEN, else the session of \`kai login\`
(renewed by itself), else http://127.0.0.1:7070 with ./data/admin.token. Prefer \`kai login\` or
KAI_TOKEN over --token: command lines are visible to other users of the machine.

${EXIT_CODES_HELP}`;

/** The whole command tree: every command's module is loaded. */
export async function buildProgram(): Promise<Command> {
  return assemble(await Promise.all(TOP_LEVEL_COMMANDS.map((entry) => entry.load())));
}

/**
 * The tree for one command line: the top-level command it names built in full, a stand-in for each of the others
 * (enough for `kai --help`'s list and commander's "did you mean"). Loading every command's module costs more than
 * most commands take to run (zod schemas, the SDK, YAML, tar): see docs/benchmarks.md, "CLI start-up".
 */
async function programFor(argv: readonly string[]): Promise<Command> {
  const named = topLevelCommandNamed(commandWordOf(argv));
  return assemble(await Promise.all(TOP_LEVEL_COMMANDS.map((entry) => (entry === named ? entry.load() : Promise.resolve(standIn(entry))))));
}

function assemble(commands: readonly Command[]): Command {
  const program = new Command("kai")
    .description("kAI service registry: run a server, register and discover AI services")
    .version(VERSION, "-V, --version")
    // Global options go before or after the command (each command declares them again); positional
    // parsing is what lets `services list -q <text>` and `-q` (quiet) coexist.
    .enablePositionalOptions()
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EPILOGUE);
  addGlobalOptions(program);
  for (const command of commands) program.addCommand(command);
  // Commander is about to run a stand-in: the word scan below missed (an unusual command line); start again with
  // the whole tree. Nothing has run yet, and nothing was printed.
  program.hook("preSubcommand", (_program, command) => {
    if (standIns.has(command)) throw new StandInReached();
  });
  applyRecursively(program, (command) => {
    command.exitOverride();
    // Commander's own refusals (a missing option, a bad choice, an unknown command) read like every other error of
    // the CLI: `error: <message> (usage)` (the line commander writes starts with `error: `).
    command.configureOutput({ outputError: (text, write) => write(`${text.trimEnd()} (usage)\n`) });
  });
  return program;
}

const standIns = new WeakSet<Command>();

class StandInReached extends Error {}

/** What `kai --help` shows of a command not loaded: its name, aliases, `[options]`, arguments and description. */
function standIn(entry: TopLevelCommand): Command {
  const command = new Command(entry.name).description(entry.description);
  for (const alias of entry.aliases ?? []) command.alias(alias);
  // The help list shows `[options]` when a command has any option, hidden or not.
  if (entry.options) command.addOption(new Option("--options").hideHelp());
  for (const argument of entry.args ?? []) command.argument(argument);
  standIns.add(command);
  return command;
}

/** The options `kai` itself takes before the command word (command-options.ts), and which of them take a value. */
const PROGRAM_FLAGS = new Set(["--json", "-q", "--quiet", "-V", "--version"]);
const PROGRAM_VALUE_OPTIONS = new Set(["--url", "--token", "--ca-file", "--client-cert", "--client-key"]);

/**
 * The top-level command a command line runs (or asks help for: `kai help <command>`), found the way commander finds
 * it: the first word after kai's own options. Any other option before it (`-h`, a typo, combined short flags) and
 * commander dispatches to no command, or to one this scan did not name: the preSubcommand hook above catches that.
 */
function commandWordOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === "--") return wordAt(argv, i + 1);
    if (PROGRAM_VALUE_OPTIONS.has(arg)) {
      i += 1;
      continue;
    }
    if (PROGRAM_FLAGS.has(arg) || /^--(url|token|ca-file|client-cert|client-key)=/.test(arg)) continue;
    if (arg.length > 1 && arg.startsWith("-")) return undefined;
    return wordAt(argv, i);
  }
  return undefined;
}

function wordAt(argv: readonly string[], index: number): string | undefined {
  return argv[index] === "help" ? argv[index + 1] : argv[index];
}

function applyRecursively(command: Command, apply: (command: Command) => void): void {
  apply(command);
  for (const child of command.commands) applyRecursively(child, apply);
}

/** Runs `kai <argv>` and returns the exit code. `argv` excludes `node` and the script path. */
export async function run(argv: string[]): Promise<ExitCode> {
  try {
    await applyTlsFiles(tlsFilesOf(argv, process.env));
    try {
      await (await programFor(argv)).parseAsync(argv, { from: "user" });
    } catch (error) {
      if (!(error instanceof StandInReached)) throw error;
      await (await buildProgram()).parseAsync(argv, { from: "user" });
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help / version) on the right stream.
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.ok;
      // With --json, the error body a script reads for every other failure follows, as for those.
      if (argv.includes("--json")) process.stderr.write(`${JSON.stringify({ error: { code: "usage", message: error.message.replace(/^error: /, "") } })}\n`);
      return EXIT.usage;
    }
    // The SDK (for its error classes) is loaded only for a failure that is not the CLI's own.
    const reported =
      error instanceof CliError
        ? describeCliError(error)
        : (await import("./describe-error.js")).describeError(await (await import("./tls-diagnosis.js")).diagnoseConnectionError(error));
    const json = argv.includes("--json");
    createOutput({ json, quiet: false }).error(reported);
    if (reported.exitCode === EXIT.unexpected && process.env.KAI_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? ""}\n`);
    return reported.exitCode;
  }
}
