/**
 * @module plugins/runtime/isolation-policy
 * How a discovered plugin's process is set up from its trust level and permissions (docs/plugins.md "Runtime"):
 * unverified plugins get the narrowest set whatever they ask for (no network, the smallest heap and CPU budget, the
 * shortest timeouts). Only `system` plugins (shipped with the node) get a network of their own, when a `network:`
 * permission asks for it; a trusted plugin's `network:<host>` is served by the node (`kai.net.fetch`, plugin-bus.ts),
 * which checks each request's host against it, so its network is narrowed to the hosts it names.
 */
import type { PluginDetail, PluginTrustLevel } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { PluginProcessOptions } from "./plugin-process.js";

export const LIMITS_BY_TRUST: Readonly<Record<PluginTrustLevel, Required<Pick<PluginProcessOptions, "maxOldSpaceMb" | "cpuSeconds" | "invokeTimeoutMs" | "startTimeoutMs">>>> = {
  unverified: { maxOldSpaceMb: 64, cpuSeconds: 30, invokeTimeoutMs: 5_000, startTimeoutMs: 5_000 },
  trusted: { maxOldSpaceMb: 256, cpuSeconds: 600, invokeTimeoutMs: 30_000, startTimeoutMs: 15_000 },
  system: { maxOldSpaceMb: 512, cpuSeconds: 3_600, invokeTimeoutMs: 60_000, startTimeoutMs: 30_000 },
};

/** The process options for a plugin the catalog found; 409 `conflict` for one that cannot run (invalid, incompatible). */
export function processOptionsFor(plugin: PluginDetail): PluginProcessOptions {
  if (plugin.state !== "discovered" || !plugin.manifest) {
    throw new ApiError("conflict", `plugin ${plugin.id} cannot run: it is ${plugin.state}`);
  }
  const level = plugin.trust.level;
  const asksNetwork = plugin.manifest.permissions.some((permission) => permission.startsWith("network:"));
  return {
    folder: plugin.path,
    entrypoint: plugin.manifest.entrypoint,
    ...LIMITS_BY_TRUST[level],
    network: level === "system" && asksNetwork,
  };
}
