/**
 * @module commands/agent-a2a
 * `kai agent add-a2a <url>` (issue 16): add an external A2A agent by the URL of its agent card (the agent's base URL,
 * or the card's own `.json` URL). The node reads the card, registers the agent (transport `a2a`, its skills as
 * capabilities) and keeps it fresh; `kai agent rm <id>` removes it. Scope `agents:write`.
 */
import { Command } from "commander";
import { addGlobalOptions, contextOf } from "../command-kit.js";

export function addA2aCommand(): Command {
  const command = new Command("add-a2a")
    .description("add an external A2A agent by its URL: the node reads its agent card and registers it (skills become capabilities)")
    .argument("<url>", "the agent's base URL (card at /.well-known/agent-card.json) or the card's own URL")
    .option("--id <id>", "the agent id (kClass:name); default kA2a:<the card's name>")
    .option("--visibility <visibility>", "private (default), internal or public");
  addGlobalOptions(command);
  return command.action(async (url: string, flags: { id?: string; visibility?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const { agent, created } = await client().agents.addA2a(url, {
      ...(flags.id !== undefined ? { id: flags.id } : {}),
      ...(flags.visibility !== undefined ? { visibility: flags.visibility as "private" } : {}),
    });
    if (out.json) out.document(agent);
    else out.info(`${created ? "added" : "updated"} A2A agent ${agent.id} (${agent.capabilities.join(", ")})`);
  });
}
