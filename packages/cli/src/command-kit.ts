/**
 * @module command-kit
 * What every command shares: the global options and flag parsers (command-options.ts, re-exported), and a context
 * that hands out the output and the SDK client.
 */
import type { Command } from "commander";
import type { KaiClient } from "@kai/sdk";
import { connect } from "./connection.js";
import type { GlobalOptions } from "./command-options.js";
import { createOutput, type Output } from "./output.js";

export { addGlobalOptions, collectList, integerOption, type GlobalOptions } from "./command-options.js";

export interface CommandContext {
  out: Output;
  flags: GlobalOptions;
  /** The SDK client for the resolved server and token (created on first use). */
  client(): KaiClient;
}

export function contextOf(command: Command): CommandContext {
  const flags = command.optsWithGlobals<GlobalOptions>();
  const out = createOutput({ json: flags.json === true, quiet: flags.quiet === true });
  let client: KaiClient | undefined;
  return {
    out,
    flags,
    client: () => (client ??= connect({ ...(flags.url ? { url: flags.url } : {}), ...(flags.token ? { token: flags.token } : {}) })),
  };
}
