/**
 * @module commands/plugin-new
 * `kai plugin new <folder> [--id ID] [--name NAME]`: local, no node: writes a plugin that runs as it is (a
 * `plugin.yaml` with one capability and its input schema, a `main.mjs` that implements it and a health check, a
 * README saying what to do next), into a folder that does not exist or is empty. The template is this project's own
 * (docs/contributing/write-a-plugin.md explains every line).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Command } from "commander";
import { PluginIdSchema } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { usageError } from "../cli-error.js";

function manifestOf(id: string, name: string): string {
  return `# The plugin's manifest (docs/plugins.md). The node validates it; unknown fields are errors.
id: ${id}
name: ${JSON.stringify(name)}
description: Greets whoever it is given
entrypoint: main.mjs
version: 0.1.0
node_api: ^1.0.0
# What it may use of the node over the ServiceBus (an unverified plugin gets only registry_read, events_subscribe, audio_output).
permissions:
  - registry_read
capabilities:
  - name: ${id.replace(/[^a-z0-9_]/g, "_")}_greet
    description: a greeting for a name, and how many services the node lists
    input:
      type: object
      required: [name]
      properties:
        name: { type: string, minLength: 1, maxLength: 100 }
    output:
      type: object
`;
}

function entrypointOf(id: string): string {
  return `// The plugin's entrypoint: one function per capability in plugin.yaml, called as handler(input, kai).
// It runs in its own process that can read only this folder; \`kai\` is its way to the node (docs/plugins.md, ServiceBus).

/** @type {import("@kai/sdk/plugin").PluginModule} */
export default {
  capabilities: {
    async ${id.replace(/[^a-z0-9_]/g, "_")}_greet({ name }, kai) {
      // registry_read is in the manifest's permissions; without it the node refuses this call.
      const { services } = await kai.registry.list({ limit: 500 });
      return { greeting: \`hello, \${name}\`, services: services.length };
    },
    // The health check: an update whose new version fails it is rolled back.
    async health() {
      return { ok: true };
    },
  },
};
`;
}

function readmeOf(id: string, folder: string): string {
  return `# ${id}

A kAI plugin made by \`kai plugin new\`. Next:

1. Edit \`plugin.yaml\` (its capabilities and permissions) and \`main.mjs\` (their functions).
2. Install it on a node: \`kai plugin install ${folder}\`, then \`kai plugin enable ${id}\`.
3. Call it: \`POST /api/route/${id.replace(/[^a-z0-9_]/g, "_")}_greet\` with \`{"request": {"name": "Ada"}}\`.
4. To make it \`trusted\`, sign it (\`kai plugin sign . --key <key file>\`) and add the printed key to the node's
   \`plugins.trustedKeys\`.

See docs/contributing/write-a-plugin.md.
`;
}

export function pluginNewCommand(): Command {
  const command = new Command("new")
    .description("write a new plugin folder from the template (local): plugin.yaml, main.mjs, README.md")
    .argument("<folder>", "where to write it (must not exist, or be empty)")
    .option("--id <id>", "the plugin's id (default: the folder's name)")
    .option("--name <name>", "its display name (default: the id)");
  addGlobalOptions(command);
  return command.action((folder: string, flags: { id?: string; name?: string }, self: Command) => {
    const { out } = contextOf(self);
    const target = resolve(folder);
    const id = flags.id ?? basename(target).toLowerCase();
    const valid = PluginIdSchema.safeParse(id);
    if (!valid.success) throw usageError(`the plugin id ${JSON.stringify(id)} ${valid.error.issues[0]?.message ?? "is not valid"}${flags.id ? "" : " (give one with --id)"}`);
    if (existsSync(target) && readdirSync(target).length > 0) throw usageError(`${target} is not empty: give a new folder`);
    mkdirSync(target, { recursive: true });
    const files: Record<string, string> = { "plugin.yaml": manifestOf(id, flags.name ?? id), "main.mjs": entrypointOf(id), "README.md": readmeOf(id, folder) };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(target, name), text, { flag: "wx" });
    if (out.json) return out.document({ id, folder: target, files: Object.keys(files) });
    out.line(target);
    out.info(`wrote plugin ${id}: ${Object.keys(files).join(", ")}`);
  });
}
