/**
 * @module agents/runtime/agent-runtime
 * The agents this node runs itself (issue 16, seed 002's `kai agent start|stop`; docs/agents/runtime.md): those of
 * `agents.run` in the config and those an admin added over the API since the node started. They run where the
 * singleton jobs run (`singletonJob`: the leader of many instances; always, on one): when this instance leads and
 * listens (`open()`: the children need its URL), it revokes run tokens a previous leader left and starts those
 * wanted running; when it stops leading, and at `close()`, it stops them all. On many instances a start or stop
 * asked of any instance reaches the leader, and the others show the leader's states (run-agent-relay.ts).
 * Who may see, start and stop one: admins, and the user its spec names as `owner`. Adding one is for admins only:
 * it runs a command on the node's machine; on many instances it is refused (put it in every instance's config).
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
import { RunAgentRelay, type RunOp, type RuntimeCluster } from "./run-agent-relay.js";
import type { SingletonJob } from "../../cluster/singleton-jobs.js";

export interface AgentRuntimeDeps {
  specs: readonly RunAgentSpec[];
  logger: Logger;
  tokens: RunTokens;
  secrets?: RunSecrets;
  /** Puts an ended agent's record offline at once. */
  registry: Pick<RegistryService, "get" | "setStatusBySystem">;
  /** The node's URL, once it listens (null before). */
  nodeUrl: () => string | null;
  /**
   * The node's cluster: the run-agents run while this instance leads (`singletonJob`, which the node adds to its
   * singleton jobs). Absent: this instance alone, always leading.
   */
  cluster?: RuntimeCluster;
}

/** How long an instance waits for the leader's answer to a start or stop, beyond the agent's stop grace. */
const ANSWER_WAIT_MS = 30_000;

/** The node reading the vault for a run-agent's environment: read scope only. */
const RUNTIME_ACTOR: VaultActor = { tokenId: null, owner: "node:agent-runtime", scopes: ["vault:read"] };
const NODE: Principal = { tokenId: "node:agent-runtime", owner: "node", scopes: ["admin"], expiresAt: Number.MAX_SAFE_INTEGER };

export class AgentRuntime {
  private readonly agents = new Map<string, SupervisedAgent>();
  private readonly port: LaunchPort;
  private opened = false;
  private closed = false;
  /** True while this instance runs the run-agents (the leader, or alone) and the left-over tokens are swept. */
  private leading: boolean;
  /** What was last asked of each agent (start, stop) by hand: a new leader honours it rather than `autostart`. */
  private readonly asked = new Map<string, RunOp>();
  private readonly relay: RunAgentRelay | undefined;
  /** Leadership changes one after another (a quick lose-win cannot interleave a stop with a start). */
  private transitions: Promise<void> = Promise.resolve();

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
    this.leading = deps.cluster === undefined;
    if (deps.cluster && deps.cluster.mode !== "single") {
      this.relay = new RunAgentRelay(deps.cluster, { asked: (op, id) => this.asked.set(id, op), leading: () => this.leading && this.opened && !this.closed, apply: (op, id) => this.apply(op, id) }, deps.logger);
    }
  }

  /** The node's singleton job: the run-agents run while this instance leads, and stop at once when it stops leading. */
  readonly singletonJob: SingletonJob = {
    name: "run-agents",
    start: () => this.lead(),
    stop: () => this.resign(),
  };

  /** Once the node listens: starts the agents wanted running, if this instance leads (without waiting for them). */
  async open(): Promise<void> {
    if (this.opened || this.closed) return;
    if (this.deps.cluster === undefined) await this.sweep();
    this.opened = true;
    if (this.leading) this.startWanted();
  }

  /** This instance leads: tokens a previous leader (gone, or deposed and stopping its agents) left are revoked; then the agents start. */
  private lead(): Promise<void> {
    this.transitions = this.transitions.then(async () => {
      if (this.leading || this.closed) return;
      await this.sweep();
      this.leading = true;
      this.report();
      if (this.opened) this.startWanted();
    });
    return this.transitions;
  }

  /** This instance no longer leads: every run-agent is stopped at once (what was asked of them is kept for later). */
  private resign(): Promise<void> {
    this.transitions = this.transitions.then(async () => {
      if (!this.leading || this.deps.cluster === undefined) return;
      this.leading = false;
      await this.stopAll();
      this.relay?.report(null);
    });
    return this.transitions;
  }

  private async sweep(): Promise<void> {
    const revoked = await this.deps.tokens.revokeLeftovers().catch((error: unknown) => {
      this.deps.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "left-over run-agent tokens could not be revoked");
      return 0;
    });
    if (revoked > 0) this.deps.logger.info({ revoked }, "run-agent tokens of an earlier run revoked");
  }

  private startWanted(): void {
    for (const agent of this.agents.values()) {
      const wanted = this.asked.get(agent.spec.id) ?? (agent.spec.autostart ? "start" : "stop");
      if (wanted === "start") void agent.start();
    }
  }

  /** The run-agents the caller may see: this instance's when it runs them, else the leader's as it reports them. */
  async list(principal: Principal): Promise<AgentRunState[]> {
    const states = await this.states();
    return states.filter((state) => this.maySeeId(principal, state.id));
  }

  /** One run-agent's state, or undefined when the node does not run it (or the caller may not see it). */
  async stateOf(principal: Principal, id: string): Promise<AgentRunState | undefined> {
    if (!this.maySeeId(principal, id)) return undefined;
    return (await this.states()).find((state) => state.id === id);
  }

  start(principal: Principal, id: string): Promise<AgentRunState> {
    return this.control(principal, "start", id);
  }

  stop(principal: Principal, id: string): Promise<AgentRunState> {
    return this.control(principal, "stop", id);
  }

  /** Checks who asks here (every instance knows the specs: on many instances they come from the config only), then applies it or asks the leader. */
  private async control(principal: Principal, op: RunOp, id: string): Promise<AgentRunState> {
    const agent = this.find(principal, id);
    if (this.closed) throw new ApiError("unavailable", "the node is shutting down");
    if (this.relay) return this.relay.ask(op, id, ANSWER_WAIT_MS + agent.spec.stopGraceMs);
    this.asked.set(id, op);
    return this.apply(op, id);
  }

  /** Where the run-agents run (the leader, or alone): a start or stop; the state it leaves, as `states()` shows it. */
  private async apply(op: RunOp, id: string): Promise<AgentRunState> {
    const agent = this.agents.get(id);
    if (!agent) throw new ApiError("not_found", `the node runs no agent ${id}`);
    if (op === "start") {
      if (this.closed) throw new ApiError("unavailable", "the node is shutting down");
      if (!this.opened) throw new ApiError("unavailable", "the node is still starting");
    }
    const state = op === "stop" ? await agent.stop() : await agent.start();
    return this.relay ? { ...state, instance: this.deps.cluster!.instanceId } : state;
  }

  /** Every run-agent's state as the instance that runs them sees it. */
  private async states(): Promise<AgentRunState[]> {
    if (!this.relay || this.leading) return this.localStates();
    const reported = await this.relay.leaderStates();
    // No leader (a failover in progress), or it has not reported yet: the agents as known here, run by no instance.
    if (!reported) return this.localStates().map((state) => ({ ...state, instance: null }));
    return reported.states.map((state) => ({ ...state, instance: reported.instance }));
  }

  private localStates(): AgentRunState[] {
    const instance = this.relay ? { instance: this.deps.cluster!.instanceId } : {};
    return [...this.agents.values()].map((agent) => ({ ...agent.state(), ...instance }));
  }

  /** The leader reports its run-agents' states to the other instances (membership info; written with its next heartbeat). */
  private report(): void {
    if (this.relay && this.leading) this.relay.report(this.localStates());
  }

  /** Adds a run-agent (admins only; kept until the node stops) and starts it unless `autostart` is false. */
  async add(principal: Principal, spec: RunAgentSpec): Promise<AgentRunState> {
    if (!isAdmin(principal)) throw new ApiError("forbidden", "only an admin may add an agent the node runs: it runs a command on the node");
    if (this.closed) throw new ApiError("unavailable", "the node is shutting down");
    // Every instance must know every run-agent (a new leader runs them): on many instances they come from the config.
    if (this.relay) throw new ApiError("conflict", "a node of many instances runs only the agents of its config (agents.run, the same on every instance): add it there");
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
    if (spec.autostart && this.opened && this.leading) return agent.start();
    return agent.state();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.relay?.close();
    await this.stopAll();
  }

  private async stopAll(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => agent.stop().catch(() => undefined)));
  }

  private supervise(spec: RunAgentSpec, source: "config" | "api"): SupervisedAgent {
    return new SupervisedAgent(spec, source, this.port, this.deps.logger.child({ agent: spec.id }), () => this.report());
  }

  private maySee(principal: Principal, agent: SupervisedAgent): boolean {
    return isAdmin(principal) || (agent.spec.owner !== undefined && agent.spec.owner === principal.owner);
  }

  /** By id: an agent another instance reports but this one does not know (configs that differ) is for admins only. */
  private maySeeId(principal: Principal, id: string): boolean {
    const agent = this.agents.get(id);
    return agent ? this.maySee(principal, agent) : isAdmin(principal);
  }

  private find(principal: Principal, id: string): SupervisedAgent {
    const agent = this.agents.get(id);
    if (!agent || !this.maySee(principal, agent)) throw new ApiError("not_found", `the node runs no agent ${id} you may start or stop`);
    return agent;
  }
}
