/**
 * @module commands/plugin
 * `kai plugin list|show|rescan|sign` (docs/plugins.md):
 * - `list`: every plugin folder the node read (scope `plugins:admin`), table ID VERSION STATE TRUST SOURCE PROBLEM;
 * - `show ID`: one plugin's manifest, trust level and why, node API check, problems;
 * - `rescan`: the node reads its plugin folders again (after adding, signing or fixing one; changed running plugins restart);
 * - `new FOLDER`: local: a plugin folder from the template (plugin-new.ts);
 * - `enable ID` / `disable ID`: every instance of the node starts or stops the plugin (its state after is printed);
 * - `sign FOLDER --key FILE`: local, no node: hashes every file of the folder and writes `plugin.sig.json`, signed
 *   with the Ed25519 key in FILE (the forms `kai agent-login --key` reads). Prints the signer's DID, which the
 *   operator adds to `plugins.trustedKeys`.
 */
import { Command } from "commander";
import type { PluginDetail, PluginSummary } from "@kai/protocol";
import { klp } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { usageError } from "../cli-error.js";
import { readAgentKey } from "../agent-key-file.js";
import { formatKeyValues } from "../output.js";
import { pluginNewCommand } from "./plugin-new.js";
import { pluginLifecycleCommands } from "./plugin-lifecycle.js";

function firstProblem(plugin: PluginSummary): string {
  const problem = plugin.errors[0];
  if (!problem) return plugin.trust.level === "unverified" ? plugin.trust.reason : "-";
  return `${problem.field ? `${problem.field}: ` : ""}${problem.message}`;
}

function listCommand(): Command {
  const command = new Command("list").alias("ls").description("the plugins the node found: state, trust level, problems (plugins:admin)");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const listing = await client().plugins.list();
    if (out.json) return out.document(listing);
    out.table(
      ["ID", "VERSION", "STATE", "RUN", "TRUST", "SOURCE", "PROBLEM"],
      listing.plugins.map((plugin) => [plugin.id, plugin.version ?? "-", plugin.state, plugin.runtime?.state ?? "-", plugin.trust.level, plugin.source, plugin.runtime?.state === "failed" || plugin.runtime?.state === "restarting" ? (plugin.runtime.reason ?? firstProblem(plugin)) : firstProblem(plugin)]),
      "no plugins",
    );
    for (const problem of listing.errors) out.warn(`${problem.file}: ${problem.message}`);
    out.info(`${listing.plugins.length} plugin(s); node plugin API ${listing.apiVersion}; read at ${listing.scannedAt}`);
  });
}

function printDetail(out: ReturnType<typeof contextOf>["out"], plugin: PluginDetail): void {
  const manifest = plugin.manifest;
  out.line(
    formatKeyValues([
      ["id", plugin.id],
      ["name", plugin.name ?? "-"],
      ["version", plugin.version ?? "-"],
      ["state", plugin.state],
      ["trust", `${plugin.trust.level}: ${plugin.trust.reason}`],
      ["node api", `${plugin.compatibility.compatible ? "compatible" : "incompatible"}: ${plugin.compatibility.reason}`],
      ["source", `${plugin.source} (${plugin.path})`],
      ["run", plugin.runtime ? `${plugin.runtime.enabled ? "enabled" : "not enabled"}, ${plugin.runtime.state}${plugin.runtime.reason ? `: ${plugin.runtime.reason}` : ""}${plugin.runtime.restarts > 0 ? ` (${plugin.runtime.restarts} restart(s))` : ""}${plugin.runtime.lastEnd ? `; last ended: ${plugin.runtime.lastEnd}` : ""}` : "-"],
      ["entrypoint", manifest?.entrypoint ?? "-"],
      ["permissions", manifest && manifest.permissions.length > 0 ? manifest.permissions.join(", ") : "-"],
      ["capabilities", manifest && manifest.capabilities.length > 0 ? manifest.capabilities.map((capability) => capability.name).join(", ") : "-"],
    ]),
  );
  for (const problem of plugin.errors) out.line(`problem: ${problem.file}${problem.field ? ` ${problem.field}` : ""}: ${problem.message}`);
}

function showCommand(): Command {
  const command = new Command("show").description("one plugin: manifest, trust level and why, node API check, problems (plugins:admin)").argument("<id>", "the plugin's id (or, for an invalid one, its folder's name)");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const plugin = await client().plugins.get(id);
    if (out.json) return out.document(plugin);
    printDetail(out, plugin);
  });
}

function rescanCommand(): Command {
  const command = new Command("rescan").description("have the node read its plugin folders again (plugins:admin)");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const listing = await client().plugins.rescan();
    if (out.json) return out.document(listing);
    out.info(`${listing.plugins.length} plugin(s) read at ${listing.scannedAt}`);
  });
}

function switchCommand(action: "enable" | "disable"): Command {
  const command = new Command(action)
    .description(action === "enable" ? "enable a plugin: every instance of the node starts it (plugins:admin)" : "disable a plugin: every instance stops it (plugins:admin)")
    .argument("<id>", "the plugin's id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const plugin = action === "enable" ? await client().plugins.enable(id) : await client().plugins.disable(id);
    if (out.json) return out.document(plugin);
    const runtime = plugin.runtime;
    out.line(`${plugin.id}: ${runtime ? `${runtime.state}${runtime.reason ? ` (${runtime.reason})` : ""}` : action === "enable" ? "enabled" : "disabled"}`);
    if (action === "enable" && runtime && runtime.state !== "running") out.warn(`${plugin.id} is enabled but not running here: ${runtime.reason ?? runtime.state}`);
  });
}

function signCommand(): Command {
  const command = new Command("sign")
    .description("sign a plugin folder: SHA-256 of every file and an Ed25519 signature, written to plugin.sig.json (local)")
    .argument("<folder>", "the plugin folder (with its plugin.yaml)")
    .requiredOption("--key <file>", "the signing key: PEM (PKCS #8), an Ed25519 JWK, or the 32-byte seed (base64url or hex); - for stdin");
  addGlobalOptions(command);
  return command.action(async (folder: string, flags: { key: string }, self: Command) => {
    const { out } = contextOf(self);
    // Loaded only here, as serve and storage copy do: the server package costs seconds to load, on every command.
    const { readPluginManifest, signPluginFolder } = await import("@kai/server");
    const read = await readPluginManifest(folder);
    if (!read.ok) throw usageError(read.problems.map((problem) => `${problem.file}${problem.field ? ` ${problem.field}` : ""}: ${problem.message}`).join("; "));
    const keyPair = klp.keyPairFromSeed(await readAgentKey(flags.key, (text) => out.warn(text)));
    const signed = await signPluginFolder(folder, read.manifest, keyPair);
    if (out.json) return out.document({ plugin: signed.plugin, version: signed.version, did: signed.did, files: Object.keys(signed.files).length });
    out.line(signed.did);
    out.info(`signed ${signed.plugin}@${signed.version}: ${Object.keys(signed.files).length} file(s); trust it with plugins.trustedKeys: ["${signed.did}"]`);
  });
}

export function pluginCommand(): Command {
  const command = new Command("plugin")
    .description("plugins: what the node found in its plugin folders, their trust levels; sign a plugin folder")
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(rescanCommand())
    .addCommand(switchCommand("enable"))
    .addCommand(switchCommand("disable"))
    .addCommand(signCommand())
    .addCommand(pluginNewCommand());
  // Install, remove, history, rollback, update (plugin-lifecycle.ts).
  for (const lifecycle of pluginLifecycleCommands()) command.addCommand(lifecycle);
  return command;
}
