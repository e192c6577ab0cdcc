/**
 * @module commands/config
 * `kai config list|get|explain|set` (scope `config:admin`): the node's configuration through the SDK.
 * - `list`: every effective setting as `key = value` lines (secrets redacted by the node);
 * - `get KEY`: one setting's effective value;
 * - `explain KEY`: every layer's value for the key, which layer wins, the lock, whether it can change live;
 * - `--agent kClass:name` on those three: the agent's view, its overrides file applied (the `agent` layer). `set` has
 *   none: an agent's overrides are its operator-owned file, the runtime layer is node-wide (docs/configuration.md);
 * - `set KEY VALUE`: the runtime layer (`PATCH /api/config`); VALUE is read as JSON when it is JSON (`5`, `true`,
 *   `["a"]`, `null` to remove the runtime value) and as a string otherwise (`debug`). Refusals keep their codes:
 *   `config_locked` and `config_restart_required` exit 5 (conflict).
 */
import { Command } from "commander";
import { parseJson } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";

/** `key = value` lines of nested settings, arrays shown as JSON. */
function flatten(value: unknown, path: string, out: string[]): string[] {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) flatten(item, path === "" ? key : `${path}.${key}`, out);
  } else {
    out.push(`${path} = ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  return out;
}

function show(value: unknown): string {
  if (value === undefined) return "-";
  return typeof value === "string" ? value : JSON.stringify(value);
}

const AGENT_OPTION = ["--agent <id>", "in this agent's view (kClass:name, e.g. kPlanner:main): its overrides file applied"] as const;

/** The SDK's options for `--agent`. */
function agentOf(flags: { agent?: string }): { agent?: string } {
  return flags.agent !== undefined ? { agent: flags.agent } : {};
}

function listCommand(): Command {
  const command = new Command("list").alias("ls").description("every effective setting, secrets redacted (config:admin)").option(...AGENT_OPTION);
  addGlobalOptions(command);
  return command.action(async (flags: { agent?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const view = await client().config.get(agentOf(flags));
    if (out.json) return out.document(view);
    for (const line of flatten(view.config, "", [])) out.line(line);
    if (view.redacted.length > 0) out.info(`redacted: ${view.redacted.join(", ")}`);
    if (view.agent) out.info(view.agent.source === null ? `${view.agent.id} has no overrides file: the node's settings` : `${view.agent.id}'s overrides (${view.agent.source}): ${view.agent.keys.join(", ") || "none"}`);
  });
}

function getCommand(): Command {
  const command = new Command("get").description("one setting's effective value (config:admin)").argument("<key>", "dotted setting name, e.g. logging.level").option(...AGENT_OPTION);
  addGlobalOptions(command);
  return command.action(async (key: string, flags: { agent?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const explained = await client().config.explain(key, agentOf(flags));
    if (out.json) return out.document({ key, ...agentOf(flags), value: explained.value ?? null, winner: explained.winner });
    out.line(show(explained.value));
  });
}

function explainCommand(): Command {
  const command = new Command("explain").description("every layer's value for a setting and which one wins (config:admin; table: LAYER SOURCE VALUE)").argument("<key>", "dotted setting name").option(...AGENT_OPTION);
  addGlobalOptions(command);
  return command.action(async (key: string, flags: { agent?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const explained = await client().config.explain(key, agentOf(flags));
    if (out.json) return out.document(explained);
    out.table(
      ["LAYER", "SOURCE", "VALUE"],
      explained.layers.map((layer) => [
        `${layer.layer}${layer.layer === explained.winner ? " (wins)" : ""}`,
        layer.source,
        layer.set ? `${show(layer.value)}${layer.env ? ` (from $${layer.env})` : ""}` : "-",
      ]),
      "no layer sets this key",
    );
    out.info(`${key} = ${show(explained.value)}${explained.agent !== undefined ? ` for ${explained.agent}` : ""} from ${explained.winner}${explained.locked ? `; locked by the ${explained.locked.layer} layer (${explained.locked.source})` : ""}; ${explained.live ? "can change live" : "a change needs a restart"}`);
  });
}

function setCommand(): Command {
  const command = new Command("set")
    .description("change a setting at run time: the runtime layer (config:admin); refused when it needs a restart or is locked")
    .argument("<key>", "dotted setting name")
    .argument("<value>", "JSON (5, true, [\"a\"], null to remove the runtime value) or a plain string");
  addGlobalOptions(command);
  return command.action(async (key: string, raw: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const parsed = parseJson(raw);
    const result = await client().config.set({ [key]: parsed.ok ? parsed.value : raw });
    if (out.json) return out.document(result);
    if (result.changed.length === 0) out.info("nothing changed");
    for (const change of result.changed) out.line(`${change.key}: ${show(change.old)} -> ${show(change.new)}`);
  });
}

export function configCommand(): Command {
  return new Command("config")
    .description("the node's configuration: list, get, explain its layers, set at run time (config:admin)")
    .addCommand(listCommand())
    .addCommand(getCommand())
    .addCommand(explainCommand())
    .addCommand(setCommand());
}
