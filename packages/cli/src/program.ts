/**
 * @module program
 * The `kai` command tree and `run()`, which executes one command line and returns the exit code
 * instead of exiting, so that every failure path goes through one error printer.
 */
import { Command, CommanderError } from "commander";
import { addGlobalOptions } from "./command-kit.js";
import { describeError } from "./cli-error.js";
import { EXIT, EXIT_CODES_HELP, type ExitCode } from "./exit-codes.js";
import { createOutput } from "./output.js";
import { loginCommand } from "./commands/login.js";
import { serveCommand } from "./commands/serve.js";
import { servicesCommand } from "./commands/services.js";
import { statusCommand } from "./commands/status.js";
import { clusterCommand } from "./commands/cluster.js";
import { tokenCommand } from "./commands/token.js";
import { vaultCommand } from "./commands/vault.js";
import { watchCommand } from "./commands/watch.js";
import { chatCommand, connectorsCommand, modelsCommand, routeCommand } from "./commands/gateway.js";
import { peerCommand } from "./commands/peer.js";
import { klpCommand } from "./commands/klp.js";
import { storageCommand } from "./commands/storage.js";
import { backupCommand } from "./commands/backup.js";
import { agentLoginCommand } from "./commands/agent-login.js";
import { logoutCommand, whoamiCommand } from "./commands/logout.js";
import { usersCommand } from "./commands/users.js";
import { rolesCommand } from "./commands/roles.js";
import { sessionsCommand } from "./commands/sessions.js";
import { mfaCommand } from "./commands/mfa.js";
import { meCommand } from "./commands/me.js";
import { securityCommand } from "./commands/security.js";
import { planCommand } from "./commands/plan.js";
import { agentCommand } from "./commands/agent.js";
import { taskCommand } from "./commands/task.js";
import { promptCommand } from "./commands/prompt.js";
import { memoryCommand } from "./commands/memory.js";
import { artifactCommand } from "./commands/artifact.js";
import { eventsCommand } from "./commands/events.js";
import { logsCommand } from "./commands/logs.js";
import { configCommand } from "./commands/config.js";
import { pluginCommand } from "./commands/plugin.js";
import { VERSION } from "./version.js";
import { caFileOf, trustCaFile } from "./tls-trust.js";

const EPILOGUE = `
Server and token: --url/--token flags, else KAI_URL/KAI_TOKEN, else the session of \`kai login\`
(renewed by itself), else http://127.0.0.1:7070 with ./data/admin.token. Prefer \`kai login\` or
KAI_TOKEN over --token: command lines are visible to other users of the machine.

${EXIT_CODES_HELP}`;

export function buildProgram(): Command {
  const program = new Command("kai")
    .description("kAI service registry: run a server, register and discover AI services")
    .version(VERSION, "-V, --version")
    // Global options go before or after the command (each command declares them again); positional
    // parsing is what lets `services list -q <text>` and `-q` (quiet) coexist.
    .enablePositionalOptions()
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EPILOGUE);
  addGlobalOptions(program);
  program
    .addCommand(serveCommand())
    .addCommand(statusCommand())
    .addCommand(clusterCommand())
    .addCommand(loginCommand())
    .addCommand(agentLoginCommand())
    .addCommand(agentCommand())
    .addCommand(taskCommand())
    .addCommand(promptCommand())
    .addCommand(memoryCommand())
    .addCommand(artifactCommand())
    .addCommand(eventsCommand())
    .addCommand(logsCommand())
    .addCommand(configCommand())
    .addCommand(pluginCommand())
    .addCommand(logoutCommand())
    .addCommand(whoamiCommand())
    .addCommand(servicesCommand())
    .addCommand(tokenCommand())
    .addCommand(usersCommand())
    .addCommand(rolesCommand())
    .addCommand(sessionsCommand())
    .addCommand(mfaCommand())
    .addCommand(meCommand())
    .addCommand(securityCommand())
    .addCommand(vaultCommand())
    .addCommand(watchCommand())
    .addCommand(chatCommand())
    .addCommand(modelsCommand())
    .addCommand(connectorsCommand())
    .addCommand(routeCommand())
    .addCommand(peerCommand())
    .addCommand(klpCommand())
    .addCommand(storageCommand())
    .addCommand(backupCommand())
    .addCommand(planCommand());
  applyRecursively(program, (command) => command.exitOverride());
  return program;
}

function applyRecursively(command: Command, apply: (command: Command) => void): void {
  apply(command);
  for (const child of command.commands) applyRecursively(child, apply);
}

/** Runs `kai <argv>` and returns the exit code. `argv` excludes `node` and the script path. */
export async function run(argv: string[]): Promise<ExitCode> {
  const program = buildProgram();
  try {
    const caFile = caFileOf(argv, process.env);
    if (caFile !== undefined) await trustCaFile(caFile);
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help / version) on the right stream.
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? EXIT.ok : EXIT.usage;
    }
    const reported = describeError(error);
    const json = argv.includes("--json");
    createOutput({ json, quiet: false }).error(reported);
    if (reported.exitCode === EXIT.unexpected && process.env.KAI_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? ""}\n`);
    return reported.exitCode;
  }
}
