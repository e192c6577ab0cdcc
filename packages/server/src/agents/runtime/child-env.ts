/**
 * @module agents/runtime/child-env
 * The environment a run-agent's process gets: a few harmless variables of the node's own (PATH so the command is
 * found, HOME, locale and time zone), the values of the vault secrets its spec names, and what it needs to register:
 * `KAI_URL` (the node), `KAI_TOKEN` (its own short-lived token) and `KAI_AGENT_ID`. Nothing else of the node's
 * environment is passed on: it may hold the vault passphrase or the database URL.
 */
import type { VaultActor } from "../../vault/vault.js";

/** The node's variables a child may see. */
const INHERITED = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT", "USER", "LOGNAME"] as const;

export interface RunSecrets {
  getSecret(name: string, actor: VaultActor): Promise<{ value: string }>;
}

export interface ChildEnvInput {
  agentId: string;
  nodeUrl: string;
  token: string;
  /** Variable name → vault secret name. */
  secretEnv: Record<string, string>;
  secrets: RunSecrets | undefined;
  actor: VaultActor;
  parent?: NodeJS.ProcessEnv;
}

export async function childEnvOf(input: ChildEnvInput): Promise<Record<string, string>> {
  const parent = input.parent ?? process.env;
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, secret] of Object.entries(input.secretEnv)) {
    if (!input.secrets) throw new Error("this node has no vault to read the agent's environment from");
    env[name] = (await input.secrets.getSecret(secret, input.actor)).value;
  }
  // Last, so that a secret cannot stand in for the node's URL or the agent's token.
  env.KAI_URL = input.nodeUrl;
  env.KAI_TOKEN = input.token;
  env.KAI_AGENT_ID = input.agentId;
  return env;
}
