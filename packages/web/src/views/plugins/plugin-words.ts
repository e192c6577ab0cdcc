/**
 * @module views/plugins/plugin-words
 * How the Plugins page words what the listing says: a permission with what it grants (`agent_invoke:kPlanner:main`
 * hands tasks to that agent), a manifest's CPU limits, whether a stop was the CPU watchdog's (`overloaded`), and which
 * of the listing's instance-wide problems belong to one plugin (`field: "cluster"`: a change made on another
 * instance that this one did not apply).
 */
import { splitPluginPermission, type PluginManifest, type PluginPermission, type PluginProblem } from "@kai/protocol";

const GRANTS: Record<string, (argument: string) => string> = {
  llm_access: () => "language models through the node's gateway",
  registry_read: () => "the service registry, and its changes",
  audio_output: () => "playing audio",
  memory_read: () => "searching its own memory namespaces",
  memory_write: () => "adding to its own memory namespaces",
  artifacts_read: () => "reading artifacts",
  artifacts_write: () => "storing artifacts",
  events_subscribe: () => "the node's events",
  vault_read: (name) => `the vault secret ${name}`,
  network: (host) => `HTTP requests to ${host}, made by the node`,
  invoke: (capability) => `the capability ${capability} of another plugin`,
  agent_invoke: (agent) => (agent.endsWith(":*") ? `tasks handed to any ${agent.slice(0, -2)} agent through kCore` : `tasks handed to the agent ${agent} through kCore`),
};

/** A permission's kind, argument and what it lets the plugin do (docs/plugins.md "Permissions"). */
export function describePermission(permission: PluginPermission): { kind: string; argument?: string; grants: string } {
  const { kind, argument } = splitPluginPermission(permission);
  const grants = GRANTS[kind]?.(argument ?? "") ?? "";
  return { kind, ...(argument !== undefined ? { argument } : {}), grants };
}

/** The manifest's own CPU limits, or undefined when it narrows nothing (its trust level's share applies). */
export function cpuLimitWords(limits: PluginManifest["limits"]): string | undefined {
  if (!limits || (limits.cpuPercent === undefined && limits.cpuWindowSeconds === undefined)) return undefined;
  const share = limits.cpuPercent !== undefined ? `${limits.cpuPercent}% of a CPU` : "its trust level's CPU share";
  const window = limits.cpuWindowSeconds !== undefined ? `${limits.cpuWindowSeconds} s` : "its trust level's window";
  return `at most ${share} on average over ${window} (the lower of this and its trust level's limits applies)`;
}

/**
 * Whether a plugin's stop reason is the CPU watchdog's (its process held more than its CPU share over the window:
 * `used 97% of a CPU over 10 s, more than its share of 50%`, docs/plugins.md "Runtime"). The API gives the supervisor's
 * state (`restarting`, or `failed` after a crash loop) and this reason; the reason's wording is what says `overloaded`.
 */
export function isOverloaded(reason: string | undefined): boolean {
  return reason !== undefined && /\bof a CPU over\b.*\bmore than its share\b/.test(reason);
}

/** The listing's per-instance problems about plugin `id` (a cluster change not applied here names the plugin's folder). */
export function problemsAbout(problems: readonly PluginProblem[], id: string): PluginProblem[] {
  return problems.filter((problem) => problem.field === "cluster" && problem.file.split(/[\\/]/).pop() === id);
}
