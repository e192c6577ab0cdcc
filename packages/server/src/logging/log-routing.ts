/**
 * @module logging/log-routing
 * Which log folders a line goes to besides `logs/system/` (which gets every line): `logs/security/` takes the
 * security log (sign-ins and the rest of auth/security-log.ts, plugin calls through it, vault access from the vault's
 * audit writer: all write `category: "security"`), `logs/agents/` the agent mesh's lines (kCore, kPlanner, the agents
 * the node runs: their loggers carry `agent`, and a task's `taskId`/`planId`).
 *
 * The rule reads the serialised line, not a parsed object: it runs for every line the node writes, and pino writes
 * keys as `"key":` with the quotes unescaped only for real keys (a quote inside a message or value is `\"`), so a
 * substring test cannot be fooled by text someone logged. A nested object with such a key also matches, which sends
 * a line to one folder more, never one fewer.
 */
import { LOG_NAMES } from "@kai/protocol";

/** The folders under `<dataDir>/logs/`: the system log and the protocol's dedicated logs (`LOG_NAMES`, a filter of the API's). */
export const LOG_FOLDERS = ["system", ...LOG_NAMES] as const;
export type LogFolder = (typeof LOG_FOLDERS)[number];

const SECURITY = '"category":"security"';
const AGENT_KEYS = ['"taskId":"', '"agent":"', '"agentId":"', '"planId":"'];

/** Whether one serialised pino line belongs in `folder`. */
export function belongsIn(folder: LogFolder, line: string): boolean {
  switch (folder) {
    case "system":
      return true;
    case "security":
      return line.includes(SECURITY);
    case "agents":
      return AGENT_KEYS.some((key) => line.includes(key));
  }
}
