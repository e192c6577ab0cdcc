/**
 * @module plugins/runtime/plugin-dependencies
 * The dependency check before a plugin starts: every package its manifest's `dependencies` names must be in the
 * plugin's own folder (`node_modules/<name>/package.json`) at a version the range accepts. A plugin's process can read
 * nothing outside its folder, so a dependency installed anywhere else would fail at its first import; this says which
 * one and why before the process starts, and the plugin stays stopped (a missing package does not come back on its
 * own, so restarting would only loop).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import semverSatisfies from "semver/functions/satisfies.js";
import { parseJson, pluginDependencies, type PluginManifest } from "@kai/protocol";

/** The problems with `manifest`'s dependencies in `folder` (empty: all present at accepted versions). */
export async function dependencyProblems(folder: string, manifest: PluginManifest): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, range] of Object.entries(pluginDependencies(manifest))) {
    let text: string;
    try {
      text = await readFile(join(folder, "node_modules", ...name.split("/"), "package.json"), "utf8");
    } catch {
      problems.push(`dependency ${name} (${range}) is not installed in the plugin's folder (node_modules/${name})`);
      continue;
    }
    const parsed = parseJson(text);
    const version = parsed.ok && parsed.value !== null && typeof parsed.value === "object" ? (parsed.value as { version?: unknown }).version : undefined;
    if (typeof version !== "string" || !semverSatisfies(version, range)) {
      problems.push(`dependency ${name} is ${typeof version === "string" ? version : "of no readable version"}, the manifest needs ${range}`);
    }
  }
  return problems;
}
