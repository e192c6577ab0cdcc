/**
 * @module config/layers/agent-layers
 * Issue 18's "agent overrides": one operator-owned YAML file per agent, in the agents' folder (`KAI_AGENT_CONFIG_DIR`,
 * else `agents/` beside the user file), read into an `agent` layer that only that agent's view has
 * (`LayeredConfig.forAgent`, docs/decisions/0014-config-layers.md).
 *
 * - **File names.** Agent ids are `kClass:name`; a colon is not a file name on every system (Windows, macOS' Finder,
 *   some archive and sync tools), so the file of `kPlanner:main` is `kPlanner.main.yaml` (or `.yml`): the class has
 *   no dot, so the first dot splits class from name unambiguously, and the id read back is checked with the
 *   protocol's AgentIdSchema. Names starting with `.` are skipped (editors' swap files, Kubernetes' `..data` links),
 *   other names not ending in `.yaml`/`.yml` are ignored; a YAML file whose name is no agent id is an error naming
 *   the file, as is a second file for the same agent.
 * - **Allowlist.** A file may set only AGENT_KEYS: keys whose consumer reads them per agent at use time (kCore per
 *   step, kPlanner per plan). Anything else is refused naming the file and key: a per-agent `server.port` or
 *   `storage` would mean nothing, and a key nobody reads per agent would be a setting that silently does nothing.
 * - Locks, `@env:NAME` and validation are the other layers' (read-layer.ts, resolve-layers.ts); an agent file may not
 *   lock keys itself.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { AgentIdSchema } from "@kai/protocol";
import { ConfigError } from "./config-error.js";
import { isPlainObject, overlaps, splitKey, type Settings } from "./key-paths.js";
import type { ConfigLayer } from "./layer-model.js";
import { readFileLayer } from "./read-layer.js";
import { validateLayer } from "./resolve-layers.js";

/** A key an agent's file may set, and who reads it per agent. */
export interface AgentKey {
  /** A dotted key; everything under it is allowed too. */
  key: string;
  /** Only agents of these classes (`kPlanner`) may set it; absent: any agent. */
  classes?: readonly string[];
  /** Who reads it in the agent's view (docs, and the refusal's message). */
  consumer: string;
}

export const AGENT_KEYS: readonly AgentKey[] = [
  { key: "agents.tasks.stepTimeoutMs", consumer: "kCore, for a step assigned to this agent unless the step gives its own timeout (above the agent's manifest: the operator's word on the agent)" },
  { key: "agents.planner", classes: ["kPlanner"], consumer: "kPlanner, for each plan it makes (model, attempts, temperature)" },
];

const FILE_NAME = /^(k[A-Z][A-Za-z0-9]*)\.(.+)\.ya?ml$/;

/** The agent id a file name stands for (`kPlanner.main.yaml` → `kPlanner:main`), or undefined. */
export function agentIdOfFile(fileName: string): string | undefined {
  const match = FILE_NAME.exec(fileName);
  if (!match) return undefined;
  const id = `${match[1] as string}:${match[2] as string}`;
  return AgentIdSchema.safeParse(id).success ? id : undefined;
}

/** The file name of an agent's overrides (`kPlanner:main` → `kPlanner.main.yaml`). */
export function agentFileName(id: string): string {
  return `${id.replace(":", ".")}.yaml`;
}

function leaves(value: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, item] of Object.entries(value)) leaves(item, [...path, key], out);
  } else if (!isPlainObject(value)) {
    out.push(path);
  }
  return out;
}

/** The AGENT_KEYS entry that allows `key` (a leaf at or under it), if any. */
export function agentKeyOf(key: readonly string[]): AgentKey | undefined {
  return AGENT_KEYS.find((entry) => key.length >= splitKey(entry.key).length && overlaps(splitKey(entry.key), key));
}

/** Refuses a key outside AGENT_KEYS, or one of them in the file of an agent whose class does not read it. */
export function checkAgentKeys(layer: ConfigLayer): void {
  const agent = layer.agent ?? "";
  const agentClass = agent.split(":")[0] ?? "";
  const problems = leaves(layer.values).flatMap((path) => {
    const key = path.join(".");
    const entry = agentKeyOf(path);
    if (!entry) return [{ key, message: `not a per-agent setting (an agent's file may set only ${AGENT_KEYS.map((one) => one.key).join(", ")})` }];
    if (entry.classes && !entry.classes.includes(agentClass)) return [{ key, message: `only ${entry.classes.join(", ")} agents read ${entry.key}, not ${agent}` }];
    return [];
  });
  if (problems.length === 0) return;
  throw new ConfigError(
    `agent overrides file ${layer.source} (agent ${agent}) sets keys it may not:\n${problems.map((p) => `  ${p.key}: ${p.message}`).join("\n")}`,
    problems.map((p) => ({ layer: "agent", source: layer.source, key: p.key, message: p.message })),
  );
}

/**
 * The agent layers of the files in `dir`, by file name. A missing folder is no layers unless `required` (a folder
 * named explicitly, where a typo must not pass silently).
 */
export function readAgentLayers(dir: string, env: NodeJS.ProcessEnv, required = false): ConfigLayer[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    if (code === "ENOENT" && !required) return [];
    throw new ConfigError(`cannot read the agent overrides folder ${dir}: ${code}`, [{ layer: "agent", source: dir, key: "", message: "cannot be read" }]);
  }
  const layers: ConfigLayer[] = [];
  const byAgent = new Map<string, string>();
  for (const name of names.sort()) {
    if (name.startsWith(".") || !/\.ya?ml$/.test(name)) continue;
    const file = join(dir, name);
    const agent = agentIdOfFile(name);
    if (agent === undefined) {
      const message = "the file name must be <kClass>.<name>.yaml for the agent kClass:name (kPlanner.main.yaml for kPlanner:main)";
      throw new ConfigError(`agent overrides file ${file}: ${message}`, [{ layer: "agent", source: file, key: "", message }]);
    }
    const other = byAgent.get(agent);
    if (other !== undefined) {
      const message = `a second file for agent ${agent} (the first is ${other})`;
      throw new ConfigError(`agent overrides file ${file}: ${message}`, [{ layer: "agent", source: file, key: "", message }]);
    }
    byAgent.set(agent, file);
    const layer: ConfigLayer = { ...readFileLayer("agent", file, env), agent };
    checkAgentKeys(layer);
    validateLayer(layer);
    layers.push(layer);
  }
  return layers;
}

/** The dotted keys an agent layer sets (its leaves). */
export function agentLayerKeys(values: Settings): string[] {
  return leaves(values).map((path) => path.join(".")).filter((key) => key !== "");
}
