/**
 * @module commands/agent-login
 * `kai agent-login --key-file <file> [--did <did>]`: an agent signs in with its KLP key. The SDK asks the server
 * for a one-time challenge for the DID, signs its message with the key and sends the signature; the key never
 * leaves this process. The session is kept like a person's (`kai login`), so later commands run as the agent.
 */
import { Command } from "commander";
import { klp } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { checkUrl, DEFAULT_URL } from "../connection.js";
import { usageError } from "../cli-error.js";
import { readAgentKey } from "../agent-key-file.js";
import { keepSession, signInClient } from "../sign-in-session.js";

export function agentLoginCommand(): Command {
  const command = new Command("agent-login")
    .description("sign an agent in with its Ed25519 key (challenge, signature) and keep the session for later commands")
    .requiredOption("--key-file <file>", "the agent's private key: PEM, JWK, or the 32-byte seed (base64url or hex); - for stdin")
    .option("--did <did>", "the agent's DID (default: the DID of the key); refused when it is not the key's");
  addGlobalOptions(command);
  return command.action(async (flags: { keyFile: string; did?: string }, self: Command) => {
    const { out, flags: global } = contextOf(self);
    const url = global.url || process.env.KAI_URL || DEFAULT_URL;
    checkUrl(url);
    const seed = await readAgentKey(flags.keyFile, out.warn);
    const did = klp.keyPairFromSeed(seed).did;
    if (flags.did !== undefined && flags.did !== did) throw usageError(`--did: the key in ${flags.keyFile} is ${did}, not ${flags.did}`);
    const { client, tokens } = signInClient(url);
    const response = await client.auth.signInAsAgent({ did, seed });
    seed.fill(0);
    await keepSession(out, url, response, tokens());
  });
}
