/**
 * @module plugins/runtime/isolation-policy
 * How a discovered plugin's process is set up from its trust level and permissions (docs/plugins.md "Runtime"):
 * unverified plugins get the narrowest set whatever they ask for (no network, the smallest heap and CPU share, the
 * shortest timeouts); a manifest's `limits` may only narrow its CPU share and window further. Only `system` plugins (shipped with the node) get a network of their own, when a `network:`
 * permission asks for it; a trusted plugin's `network:<host>` is served by the node (`kai.net.fetch`, plugin-bus.ts),
 * which checks each request's host against it, so its network is narrowed to the hosts it names.
 */
import type { PluginDetail, PluginTrustLevel } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { PluginProcessOptions } from "./plugin-process.js";

export const LIMITS_BY_TRUST: Readonly<Record<PluginTrustLevel, Required<Pick<PluginProcessOptions, "maxOldSpaceMb" | "cpuSeconds" | "cpuPercent" | "cpuWindowMs" | "invokeTimeoutMs" | "startTimeoutMs">>>> = {
  // CPU: the share over the window is the limit (cpu-watchdog.ts); the lifetime seconds (RLIMIT_CPU) are a backstop
  // for a node that could not watch (no /proc), sized so a plugin busy at its full share for hours still runs.
  unverified: { maxOldSpaceMb: 64, cpuSeconds: 3_600, cpuPercent: 50, cpuWindowMs: 10_000, invokeTimeoutMs: 5_000, startTimeoutMs: 5_000 },
  trusted: { maxOldSpaceMb: 256, cpuSeconds: 36_000, cpuPercent: 100, cpuWindowMs: 30_000, invokeTimeoutMs: 30_000, startTimeoutMs: 15_000 },
  system: { maxOldSpaceMb: 512, cpuSeconds: 86_400, cpuPercent: 200, cpuWindowMs: 60_000, invokeTimeoutMs: 60_000, startTimeoutMs: 30_000 },
};

/** The process options for a plugin the catalog found; 409 `conflict` for one that cannot run (invalid, incompatible). */
export function processOptionsFor(plugin: PluginDetail): PluginProcessOptions {
  if (plugin.state !== "discovered" || !plugin.manifest) {
    throw new ApiError("conflict", `plugin ${plugin.id} cannot run: it is ${plugin.state}`);
  }
  const level = plugin.trust.level;
  const asksNetwork = plugin.manifest.permissions.some((permission) => permission.startsWith("network:"));
  const limits = LIMITS_BY_TRUST[level];
  // The manifest may ask for less than its trust level gives, never for more.
  const asked = plugin.manifest.limits;
  return {
    folder: plugin.path,
    entrypoint: plugin.manifest.entrypoint,
    ...limits,
    cpuPercent: Math.min(limits.cpuPercent, asked?.cpuPercent ?? Infinity),
    cpuWindowMs: Math.min(limits.cpuWindowMs, (asked?.cpuWindowSeconds ?? Infinity) * 1000),
    network: level === "system" && asksNetwork,
  };
}
