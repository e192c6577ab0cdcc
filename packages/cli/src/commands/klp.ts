/**
 * @module commands/klp
 * `kai klp grant <did>` (admin): a grant signed by this node that lets a key register a service over KLP
 * with its own key. The grant goes to the service's owner, who puts it in the `auth` of its signed
 * `capability_announce`; it is bound to that DID and useless to anyone else.
 */
import { Command } from "commander";
import { fieldErrorsFromZod, klp } from "@kai/protocol";
import { addGlobalOptions, collectList, contextOf, integerOption } from "../command-kit.js";
import { usageError } from "../cli-error.js";

function grantCommand(): Command {
  const command = new Command("grant")
    .description("print a grant (JSON) that lets the key <did> register over KLP on this node")
    .argument("<did>", "the service's KLP DID (kind:did:…#ed25519)")
    .option("--capability <cap>", `what the grant allows; repeatable (default ${klp.KLP_REGISTER_CAPABILITY})`, collectList)
    .option("--ttl <seconds>", "lifetime in seconds (default 30 days)", integerOption(60, 31_536_000));
  addGlobalOptions(command);
  return command.action(async (did: string, flags: { capability?: string[]; ttl?: number }, self: Command) => {
    const { out, client } = contextOf(self);
    const parsed = klp.KlpGrantRequestSchema.safeParse({
      for: did,
      ...(flags.capability ? { capabilities: flags.capability } : {}),
      ...(flags.ttl !== undefined ? { ttl: flags.ttl } : {}),
    });
    if (!parsed.success) throw usageError("invalid grant", fieldErrorsFromZod(parsed.error).map((d) => ({ ...d, path: d.path === "for" ? "<did>" : `--${d.path}` })));
    const grant = await client().klp.grant(parsed.data);
    out.document(grant);
  });
}

export function klpCommand(): Command {
  return new Command("klp").description("the node's KLP administration (admin)").addCommand(grantCommand());
}
