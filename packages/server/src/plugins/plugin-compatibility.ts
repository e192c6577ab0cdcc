/**
 * @module plugins/plugin-compatibility
 * Whether a plugin's `node_api` range includes this node's plugin API version (PLUGIN_API_VERSION): a plugin that
 * needs `^2` does not load on `3`. Pre-releases of the node count as their release (`includePrerelease`), so a
 * development build does not refuse every plugin.
 */
import satisfies from "semver/functions/satisfies.js";
import { PLUGIN_API_VERSION, type PluginCompatibility, type PluginManifest } from "@kai/protocol";

export function checkCompatibility(manifest: Pick<PluginManifest, "node_api">, apiVersion: string = PLUGIN_API_VERSION): PluginCompatibility {
  const range = manifest.node_api;
  if (range === undefined) return { compatible: true, apiVersion, reason: "no node_api range declared: assumed compatible" };
  const compatible = satisfies(apiVersion, range, { includePrerelease: true });
  return {
    compatible,
    range,
    apiVersion,
    reason: compatible ? `node plugin API ${apiVersion} satisfies ${range}` : `needs node plugin API ${range}; this node offers ${apiVersion}`,
  };
}
