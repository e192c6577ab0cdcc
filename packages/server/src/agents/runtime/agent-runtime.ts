/**
 * @module agents/runtime/agent-runtime
 * The agents this node runs itself (issue 16, seed 002's `kai agent start|stop`; docs/agents/runtime.md): those of
 * `agents.run` in the config and those an admin added over the API since the node started. `open()` (once the node
 * listens: the children need its URL) revokes run tokens a previous process left and starts the `autostart` ones;
 * `close()` stops them all. Who may see, start and stop one: admins, and the user its spec names as `owner`. Adding
 * one is for admins only: it runs a command on the node's machine.
 */
import type { AgentRunState, RunAgentSpec } from "@kai/protocol";
import { isAdmin, type Principal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";
import type { Logger } from "../../logging/logger.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { VaultActor } from "../../vault/vault.js";
import { childEnvOf, type RunSecrets } from "./child-env.js";
import { runOwnerOf, type RunTokens } from "./run-token.js";
import { SupervisedAgent, type LaunchPort } from "./supervised-agent.js";

export interface AgentRuntimeDeps {
  specs: readonly RunAgentSpec[];
  logger: Logger;
  tokens: RunTokens;
  secrets?: RunSecrets;
  /** Puts an ended agent's record offline at once. */
  registry: Pick<RegistryService, "get" | "setStatusBySystem">;
  /** The node's URL, once it listens (null before). */
  nodeUrl: () => string | null;
}

/** The node reading the vault for a run-agent's environment: read scope only. */
const RUNTIME_ACTOR: VaultActor = { tokenId: null, owner: "node:agent-runtime", scopes: ["vault:read"] };
const NODE: Principal = { tokenId: "node:agent-runtime", owner: "node", scopes: ["admin"], expiresAt: Number.MAX_SAFE_INTEGER };

export class AgentRuntime {
  private readonly agents = new Map<string, SupervisedAgent>();
  private readonly port: LaunchPort;
  private opened = false;
  private closed = false;

  constructor(private readonly deps: AgentRuntimeDeps) {
    this.port = {
      prepare: async (spec) => {
        const url = deps.nodeUrl();
        if (url === null) throw new Error("the node is not listening yet");
        const { token, tokenId } = await deps.tokens.mint(spec.id);
        try {
          const env = await childEnvOf({ agentId: spec.id, nodeUrl: url, token, secretEnv: spec.env, secrets: deps.secrets, actor: RUNTIME_ACTOR });
          return { env, token, tokenId };
        } catch (error) {
          await deps.tokens.revoke(tokenId);
          throw error;
        }
      },
      release: (tokenId) => deps.tokens.revoke(tokenId),
      ended: async (spec) => {
        const record = await deps.registry.get(NODE, spec.id).catch(() => null);
        // Only the record this agent's own token registered: another owner's agent of the same id is not ours to touch.
        if (record && record.owner === runOwnerOf(spec.id)) {
          await deps.registry.setStatusBySystem(spec.id, "offline", "the agent's process ended", record.revision);
        }
      },
    };
    for (const spec of deps.specs) this.agents.set(spec.id, this.supervise(spec, "config"));
  }

  /** Once the node listens: forgets tokens of a previous run, starts the autostart agents (without waiting for them). */
  async open(): Promise<void> {
    if (this.opened || this.closed) return;
    this.opened = true;
    const revoked = await this.deps.tokens.revokeLeftovers().catch((error: unknown) => {
      this.deps.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "left-over run-agent tokens could not be revoked");
      return 0;
    });
    if (revoked > 0) this.deps.logger.info({ revoked }, "run-agent tokens of an earlier run revoked");
    for (const agent of this.agents.values()) if (agent.spec.autostart) void agent.start();
  }

  /** The run-agents the caller may see. */
  list(principal: Principal): AgentRunState[] {
    return [...this.agents.values()].filter((agent) => this.maySee(principal, agent)).map((agent) => agent.state());
  }

  /** One run-agent's state, or undefined when the node does not run it (or the caller may not see it). */
  stateOf(principal: Principal, id: string): AgentRunState | undefined {
    const agent = this.agents.get(id);
    return agent && this.maySee(principal, agent) ? agent.state() : undefined;
  }

  start(principal: Principal, id: string): Promise<AgentRunState> {
    if (this.closed) throw new ApiError("unavailable", "the node is shutting down");
    if (!this.opened) throw new ApiError("unavailable", "the node is still starting");
    return this.find(principal, id).start();
  }

  stop(principal: Principal, id: string): Promise<AgentRunState> {
    return this.find(principal, id).stop();
  }

  /** Adds a run-agent (admins only; kept until the node stops) and starts it unless `autostart` is false. */
  async add(principal: Principal, spec: RunAgentSpec): Promise<AgentRunState> {
    if (!isAdmin(principal)) throw new ApiError("forbidden", "only an admin may add an agent the node runs: it runs a command on the node");
    if (this.closed) throw new ApiError("unavailable", "the node is shutting down");
    if (this.agents.has(spec.id)) throw new ApiError("conflict", `the node already runs an agent ${spec.id}`);
    // The secrets named must be readable by the admin adding them (their token's secret patterns apply).
    const actor: VaultActor = { tokenId: principal.tokenId, owner: principal.owner, scopes: principal.scopes, ...(principal.secretPatterns ? { secretPatterns: principal.secretPatterns } : {}) };
    for (const secret of Object.values(spec.env)) {
      if (!this.deps.secrets) throw new ApiError("unavailable", "this node has no vault to read the agent's environment from");
      await this.deps.secrets.getSecret(secret, actor);
    }
    const agent = this.supervise(spec, "api");
    this.agents.set(spec.id, agent);
    this.deps.logger.info({ agent: spec.id, by: principal.owner }, "run-agent added");
    if (spec.autostart && this.opened) return agent.start();
    return agent.state();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.agents.values()].map((agent) => agent.stop().catch(() => undefined)));
  }

  private supervise(spec: RunAgentSpec, source: "config" | "api"): SupervisedAgent {
    return new SupervisedAgent(spec, source, this.port, this.deps.logger.child({ agent: spec.id }));
  }

  private maySee(principal: Principal, agent: SupervisedAgent): boolean {
    return isAdmin(principal) || (agent.spec.owner !== undefined && agent.spec.owner === principal.owner);
  }

  private find(principal: Principal, id: string): SupervisedAgent {
    const agent = this.agents.get(id);
    if (!agent || !this.maySee(principal, agent)) throw new ApiError("not_found", `the node runs no agent ${id} you may start or stop`);
    return agent;
  }
}
