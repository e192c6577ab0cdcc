/**
 * @module views/settings/config-words
 * What the configuration panels share: their React Query keys (all under `["settings", "config"]`, so a change
 * refreshes every view and explanation), the overrides file name of an agent, and how a value is written.
 */

export const configKeys = {
  all: ["settings", "config"] as const,
  view: (agent: string) => ["settings", "config", "view", agent] as const,
  explain: (key: string, agent: string) => ["settings", "config", "explain", key, agent] as const,
};

/** The file an agent's overrides are read from, by the node's naming rule (`kPlanner:main` → `kPlanner.main.yaml`). */
export function agentFileName(agent: string): string {
  return `${agent.replace(":", ".")}.yaml`;
}

/** A value as one line of text: absent says so, anything else as JSON (strings quoted, so `"5"` and `5` differ). */
export function shownValue(value: unknown): string {
  return value === undefined ? "(unset)" : JSON.stringify(value);
}
