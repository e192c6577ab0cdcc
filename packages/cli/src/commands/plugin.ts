/**
 * @module commands/plugin
 * `kai plugin list|show|rescan|sign` (docs/plugins.md):
 * - `list`: every plugin folder the node read (scope `plugins:admin`), table ID VERSION STATE TRUST SOURCE PROBLEM;
 * - `show ID`: one plugin's manifest, trust level and why, node API check, problems;
 * - `rescan`: the node reads its plugin folders again (after adding, signing or fixing one);
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

function firstProblem(plugin: PluginSummary): string {
  const problem = plugin.errors[0];
  if (!problem) return plugin.trust.level === "unverified" ? plugin.trust.reason : "-";
  return `${problem.field ? `${problem.field}: ` : ""}${problem.message}`;
}

function listCommand(): Command {
  const command = new Command("list").description("the plugins the node found: state, trust level, problems (plugins:admin)");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const listing = await client().plugins.list();
    if (out.json) return out.document(listing);
    out.table(
      ["ID", "VERSION", "STATE", "TRUST", "SOURCE", "PROBLEM"],
      listing.plugins.map((plugin) => [plugin.id, plugin.version ?? "-", plugin.state, plugin.trust.level, plugin.source, firstProblem(plugin)]),
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
  return new Command("plugin")
    .description("plugins: what the node found in its plugin folders, their trust levels; sign a plugin folder")
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(rescanCommand())
    .addCommand(signCommand());
}
