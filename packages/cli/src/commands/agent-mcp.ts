/**
 * @module commands/agent-mcp
 * `kai agent add-mcp <id> --endpoint U | --command "cmd args"` and `kai agent rm-mcp <id>` (issue 16): add an MCP tool
 * server; the node connects, lists its tools and registers them as capabilities `mcp.<id>.<tool>` of a `tool`
 * record, kept fresh. A command (stdio) server runs on the node, so admins only; `--env NAME=secret` gives it an
 * environment variable from the vault secret of that name (the value is read by the node, never sent or stored).
 */
import { Command } from "commander";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { usageError } from "../cli-error.js";

/** "cmd a 'b c'" → ["cmd", "a", "b c"]: whitespace separates, single or double quotes group. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of line.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3]!);
  return words;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function addMcpCommand(): Command {
  const command = new Command("add-mcp")
    .description("add an MCP tool server by URL (streamable HTTP) or command (stdio, admin only): its tools become capabilities mcp.<id>.<tool>")
    .argument("<id>", "the server's id (lower-case letters, digits, _ and -): the record id and the middle of its capabilities")
    // Not --url: that is every command's server URL (the node's).
    .option("--endpoint <url>", "the MCP server's streamable-HTTP endpoint")
    .option("--command <command line>", 'the program and its arguments, e.g. "npx -y @modelcontextprotocol/server-everything"')
    .option("--env <NAME=secret>", "an environment variable for the command from a vault secret (repeatable)", collect, [])
    .option("--name <name>", "a display name (default: what the server calls itself)")
    .option("--visibility <visibility>", "private (default), internal or public");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { endpoint?: string; command?: string; env: string[]; name?: string; visibility?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    if ((flags.endpoint === undefined) === (flags.command === undefined)) throw usageError("give exactly one of --endpoint and --command");
    const env: Record<string, string> = {};
    for (const pair of flags.env) {
      const at = pair.indexOf("=");
      if (at < 1) throw usageError(`--env takes NAME=secret-name, not ${pair}`);
      env[pair.slice(0, at)] = pair.slice(at + 1);
    }
    const words = flags.command === undefined ? [] : splitCommandLine(flags.command);
    if (flags.command !== undefined && words.length === 0) throw usageError("--command is empty");
    const { tool, created } = await client().agents.addMcp({
      id,
      ...(flags.endpoint !== undefined ? { url: flags.endpoint } : { command: { command: words[0]!, args: words.slice(1), env } }),
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags.visibility !== undefined ? { visibility: flags.visibility as "private" } : {}),
    });
    if (out.json) out.document(tool);
    else out.info(`${created ? "added" : "updated"} MCP server ${tool.id} (${tool.capabilities.join(", ")})`);
  });
}

export function removeMcpCommand(): Command {
  const command = new Command("rm-mcp").description("remove an MCP tool server: its record goes and the node closes the connection").argument("<id>", "the server's id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().agents.removeMcp(id);
    out.info(`removed MCP server ${id}`);
  });
}
