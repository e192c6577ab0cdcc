/**
 * @module command-options
 * The option definitions every command shares: the global options (`--json`, `--url`, `--token`, `--ca-file`,
 * `--client-cert`, `--client-key`, `-q/--quiet`), accepted before or after the command name, and the parsers of list
 * and number flags. Apart from command-kit.ts (the context, which loads the SDK) so that building the command tree
 * loads only commander.
 */
import { InvalidArgumentError, type Command } from "commander";

export interface GlobalOptions {
  json?: boolean;
  quiet?: boolean;
  url?: string;
  token?: string;
}

/**
 * Adds the global options to `command`. The program uses positional options, so each leaf command
 * declares them again; that lets `kai services list -q text` mean a query while `-q` means quiet
 * elsewhere (pass `quietShort: false`).
 */
export function addGlobalOptions(command: Command, { quietShort = true }: { quietShort?: boolean } = {}): Command {
  return command
    .option("--json", "machine-readable output (JSON on stdout; errors also as JSON on stderr)")
    .option("--url <url>", "server URL (env KAI_URL; default: stored login, then http://127.0.0.1:7070)")
    .option("--token <token>", "access token; prefer env KAI_TOKEN or `kai login` (argv is visible to other users)")
    .option("--ca-file <file>", "also trust this CA (PEM) for the server's certificate (env KAI_CA_FILE)")
    .option("--client-cert <file>", "a client certificate (PEM), for a node that asks every client for one (env KAI_CLIENT_CERT)")
    .option("--client-key <file>", "the client certificate's private key (PEM) (env KAI_CLIENT_KEY)")
    .option(quietShort ? "-q, --quiet" : "--quiet", "no messages on stderr (data and errors are still printed)");
}

/** Collects a repeatable option; each occurrence may also be a comma-separated list. */
export function collectList(value: string, previous: string[] | undefined): string[] {
  const items = value.split(",").map((item) => item.trim()).filter((item) => item.length > 0);
  return [...(previous ?? []), ...items];
}

/** Parses an integer flag value; commander reports a failure as a usage error naming the flag (exit 2). */
export function integerOption(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
      throw new InvalidArgumentError(`must be a whole number between ${min} and ${max}`);
    }
    return number;
  };
}
