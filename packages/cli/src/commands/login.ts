/**
 * @module commands/login
 * `kai login`: checks a URL and token against the server and stores them for later commands. The token
 * comes from a file or stdin rather than argv, where other users of the machine could read it.
 */
import { Command } from "commander";
import { createClient } from "@kai/sdk";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { checkUrl, DEFAULT_URL } from "../connection.js";
import { usageError } from "../cli-error.js";
import { readStdin, readText } from "../input-file.js";
import { storedLoginPath, writeStoredLogin } from "../stored-login.js";

async function readToken(flags: { token?: string; tokenFile?: string }, prompt: (text: string) => void): Promise<string> {
  if (flags.token && flags.tokenFile) throw usageError("give --token or --token-file, not both");
  let token = flags.token;
  if (token === undefined && flags.tokenFile !== undefined) token = await readText(flags.tokenFile);
  if (token === undefined) {
    if (process.stdin.isTTY) prompt("paste the token, then press Enter and Ctrl-D:");
    token = await readStdin();
  }
  token = token.trim();
  if (!token) throw usageError("the token is empty");
  return token;
}

export function loginCommand(): Command {
  const command = new Command("login")
    .description("check a server URL and token, and store them (mode 0600) for later commands")
    .option("--token-file <file>", "read the token from this file (default: read it from stdin)");
  addGlobalOptions(command);
  return command.action(async (flags: { tokenFile?: string }, self: Command) => {
    const { out, flags: global } = contextOf(self);
    const url = global.url || process.env.KAI_URL || DEFAULT_URL;
    checkUrl(url);
    const token = await readToken({ ...(global.token ? { token: global.token } : {}), ...(flags.tokenFile ? { tokenFile: flags.tokenFile } : {}) }, out.info);
    // Verify before storing: a typo should fail now, not on the next command.
    const status = await createClient({ url, token }).status();
    const path = storedLoginPath();
    writeStoredLogin({ url, token }, path);
    if (out.json) out.document({ url, owner: status.caller.owner, scopes: status.caller.scopes, path });
    else out.info(`logged in to ${url} as ${status.caller.owner} (${status.caller.scopes.join(", ")}); saved to ${path}`);
  });
}
