/**
 * @module agents/open-agent-mesh
 * The composition root of the agent mesh (issue 16): the orchestration bus, the agent directory, kPlanner and kCore
 * (the task engine), wired to the registry, the gateway and the store. server.ts calls `openAgentMesh` once and
 * hands the result to the HTTP app; `close()` stops the parts in reverse order.
 */
import type { NodeTracing } from "../tracing/node-tracing.js";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import type { RegistryService } from "../registry/registry-service.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import type { GatewayPort } from "../http/front-doors/gateway-port.js";
import type { KlpNode } from "../klp/klp-node.js";
import type { EventBus } from "../bus/event-bus.js";
import { openEventBus } from "../bus/open-event-bus.js";
import { withTaskNotifications } from "../bus/publishers/task-notifications.js";
import { EventHub } from "../bus/event-hub.js";
import type { TaskEventLog } from "../bus/task-event-log.js";
import type { ChangeFeed } from "../registry/change-feed.js";
import { AgentDirectory } from "./directory/agent-directory.js";
import type { Planner } from "./ports.js";
import { KPlanner, PLANNER_AGENT } from "./planner/k-planner.js";
import { lateBoundAgentLoad } from "./planner/agent-choice.js";
import { TaskEngine } from "./kcore/task-engine.js";
import type { TaskCluster } from "./kcore/task-adoption.js";
import type { TaskPromptPort } from "./kcore/task-prompt.js";
import type { StepArtifactsPort } from "./kcore/step-artifacts.js";
import { KCORE_AGENT } from "./kcore/task-events.js";
import { createDispatchers } from "./kcore/dispatch/dispatchers.js";
import { createPluginDispatcher, type PluginInvokePort } from "./kcore/dispatch/plugin-dispatcher.js";
import type { StepDispatcher } from "./kcore/dispatch/step-dispatcher.js";
import { createKlpDispatcher } from "./kcore/dispatch/klp-dispatcher.js";
import type { AgentTransport } from "@kai/protocol";
import { A2aAgents } from "./a2a/client/a2a-agents.js";
import { createA2aDispatcher } from "./kcore/dispatch/a2a-dispatcher.js";
import { McpServers, type McpSecrets } from "./mcp/mcp-servers.js";
import { createMcpDispatcher } from "./kcore/dispatch/mcp-dispatcher.js";
import { AgentRuntime } from "./runtime/agent-runtime.js";
import type { RunTokens } from "./runtime/run-token.js";
import type { RuntimeCluster } from "./runtime/run-agent-relay.js";
import { A2aPush } from "./a2a/server/push/a2a-push.js";

/** The per-agent key kCore reads per step (config/layers/agent-layers.ts AGENT_KEYS). */
const STEP_TIMEOUT_KEY = "agents.tasks.stepTimeoutMs";

export interface AgentMeshDeps {
  /** The node's tracing: tasks resumed or adopted outside a request continue the trace they were created in. */
  tracing?: NodeTracing;
  config: Config;
  /**
   * Agents' views of the configuration (config/layers/layered-config.ts `forAgent`: the node's layers with the agent's
   * overrides file), read at use time: kCore's step timeout per step, kPlanner's settings per plan. Absent: `config`.
   */
  agentConfig?: { forAgent(agentId: string): Pick<Config, "agents">; agentFileSets(agentId: string, key: string): boolean };
  logger: Logger;
  store: StorageBackend;
  registry: RegistryService;
  gateway: GatewayPort;
  klp: KlpNode;
  /** This instance's registry change feed: registry changes reach event subscribers as REGISTRY_CHANGE. */
  feed?: Pick<ChangeFeed, "subscribe">;
  /** The vault: a command MCP server's environment comes from secrets named in its config. */
  vault?: McpSecrets;
  /** The node's cluster: kCore records which instance runs each task, adopts those of instances that are gone, and sends cancel/answer to the runner (kcore/task-adoption.ts, task-control.ts). Absent: this instance alone. */
  cluster?: TaskCluster;
  /** Run-agents' tokens (agents/runtime/run-token.ts) and the node's URL once it listens: for the agents it runs itself. */
  runTokens?: RunTokens;
  nodeUrl?: () => string | null;
  /** The cluster the run-agents follow: they run on the leader only (the node adds `runtime.singletonJob` to its singleton jobs). Absent: always here. */
  runCluster?: RuntimeCluster;
  /** 32 bytes that seal A2A push credentials at rest (derived from the node key; may throw while it is sealed). Absent: push configs with credentials are refused. */
  pushSealKey?: () => Buffer;
  /** The prompt store: tasks may name a prompt, rendered as their owner at dispatch (kcore/task-prompt.ts). */
  prompts?: TaskPromptPort;
  /** The artifact store: files agents return from steps are kept as artifacts (kcore/step-artifacts.ts). */
  artifacts?: StepArtifactsPort;
  /** The plugin runtime: steps on a plugin's record run in its process (kcore/dispatch/plugin-dispatcher.ts). */
  plugins?: () => PluginInvokePort | undefined;
}

export interface AgentMesh {
  /** Every event of the node, between its instances (bus/). */
  bus: EventBus;
  /** The bus fanned out to clients (`GET /api/events`, `/ws/events`): filters, access, replay of task events (bus/event-hub.ts). */
  events: EventHub;
  /** Where task events are stored with their seq before they are published; replays read it. */
  taskEvents: TaskEventLog;
  /** The agent directory: agents as registry records of type agent, registered by signed manifest; their status (directory/). */
  agents: AgentDirectory;
  /** kPlanner: a goal into a validated plan, by a language model asked through the gateway as the caller (planner/). */
  planner: Planner;
  /** kCore: tasks stored, planned, scheduled across agents, tools and the gateway, resumed after a restart (kcore/). */
  tasks: TaskEngine;
  /** External A2A agents added by URL: their cards read, registered and kept fresh (a2a/client/). */
  a2a: A2aAgents;
  /** MCP tool servers added by URL or command: connected, their tools registered as capabilities, kept fresh (mcp/). */
  mcp: McpServers;
  /** The agents the node runs itself as child processes (runtime/); `open()` once the node listens. */
  runtime: AgentRuntime;
  /** A2A push notifications of the node's own A2A endpoint (a2a/server/push/): configs, and their delivery (`push.delivery`, a singleton job the node adds). */
  push: A2aPush;
  close(): Promise<void>;
}

export async function openAgentMesh(deps: AgentMeshDeps): Promise<AgentMesh> {
  const undo: Array<() => Promise<unknown>> = [];
  try {
    // A task that completes, fails or asks a question notifies its owner, once: from the instance that published it.
    const bus = withTaskNotifications(await openEventBus(deps.config, deps.logger), (error) => deps.logger.warn({ err: error }, "a task notification could not be published"));
    undo.unshift(() => bus.close());
    // kCore's task store keeps every task event with its seq (memory, SQLite or PostgreSQL, as the node's storage).
    const taskStore = deps.store.taskStore();
    const taskEvents: TaskEventLog = taskStore;
    const events = new EventHub({
      bus,
      taskEvents,
      ...(deps.feed ? { feed: deps.feed } : {}),
      maxQueued: deps.config.bus.maxQueuedEvents,
      maxStreamsPerToken: deps.config.bus.maxStreamsPerToken,
      onError: (error) => deps.logger.error({ err: error }, "an event stream could not read the task event log"),
    });
    // Subscribers are told the node is shutting down before the bus goes.
    undo.unshift(async () => events.close());
    // kPlanner. kCore (built with it) knows the load on agents: it binds its AgentLoad with `plannerLoad.bind(...)`.
    const plannerLoad = lateBoundAgentLoad();
    const viewOf = (agentId: string) => (deps.agentConfig ? deps.agentConfig.forAgent(agentId) : deps.config);
    const planner = new KPlanner({ gateway: deps.gateway, registry: deps.registry, load: plannerLoad.port, settings: () => viewOf(PLANNER_AGENT).agents.planner, logger: deps.logger.child({ agent: PLANNER_AGENT }) });
    // kCore: resumes the store's unfinished tasks now; closes before the bus (its runners halt, recording nothing).
    // The transports beyond HTTP and the gateway (KLP, A2A, MCP): one dispatcher each, by transport.
    const a2a = new A2aAgents({ registry: deps.registry, logger: deps.logger.child({ agent: "kCore:a2a" }), refreshMs: deps.config.agents.a2a.cardRefreshMs });
    undo.unshift(() => a2a.close());
    const mcp = new McpServers({ registry: deps.registry, logger: deps.logger.child({ agent: "kCore:mcp" }), ...(deps.vault ? { secrets: deps.vault } : {}), ...(deps.feed ? { feed: deps.feed } : {}) });
    undo.unshift(() => mcp.close());
    const transports: Partial<Record<AgentTransport, StepDispatcher>> = {
      a2a: createA2aDispatcher(a2a),
      mcp: createMcpDispatcher({ servers: mcp, registry: deps.registry }),
      klp: createKlpDispatcher({ identity: () => deps.klp.identity, registry: deps.registry }),
      ...(deps.plugins ? { plugin: createPluginDispatcher(deps.plugins) } : {}),
    };
    const dispatchers = createDispatchers(deps.gateway, transports);
    const tasks = await TaskEngine.open({ store: taskStore, bus, logger: deps.logger.child({ agent: KCORE_AGENT }), registry: deps.registry, gateway: deps.gateway, planner: () => planner, dispatchers, ...(deps.prompts ? { prompts: deps.prompts } : {}), ...(deps.artifacts ? { artifacts: deps.artifacts } : {}), defaultStepTimeoutMs: deps.config.agents.tasks.stepTimeoutMs, stepTimeoutFor: (assigneeId) => (deps.agentConfig?.agentFileSets(assigneeId, STEP_TIMEOUT_KEY) ? viewOf(assigneeId).agents.tasks.stepTimeoutMs : undefined), ...(deps.cluster ? { cluster: deps.cluster, adoptionSweepMs: deps.config.cluster.pollIntervalMs } : {}), ...(deps.tracing ? { tracing: deps.tracing } : {}) });
    undo.unshift(() => tasks.close());
    plannerLoad.bind(tasks.load);
    const agents = new AgentDirectory({ registry: deps.registry, load: tasks.load });
    // The agents the node runs: stopped (SIGTERM, then SIGKILL) before kCore and the bus close.
    const noTokens: RunTokens = { mint: () => Promise.reject(new Error("this node mints no run-agent tokens")), revoke: async () => undefined, revokeLeftovers: async () => 0 };
    const runtime = new AgentRuntime({ specs: deps.config.agents.run, logger: deps.logger.child({ part: "agent-runtime" }), tokens: deps.runTokens ?? noTokens, ...(deps.vault ? { secrets: deps.vault } : {}), registry: deps.registry, nodeUrl: deps.nodeUrl ?? (() => null), ...(deps.runCluster ? { cluster: deps.runCluster } : {}) });
    undo.unshift(() => runtime.close());
    // A2A push notifications: configs in the task store's database; delivered by the leading instance (its singleton job).
    const push = new A2aPush({
      store: deps.store.a2aPushStore(),
      tasks: taskStore,
      hub: events,
      settings: deps.config.agents.a2a.push,
      ...(deps.pushSealKey ? { sealKey: deps.pushSealKey } : {}),
      logger: deps.logger.child({ part: "a2a-push" }),
      pollMs: deps.config.cluster.pollIntervalMs,
    });
    // Before the hub closes (undo runs in reverse): the loops end quietly, their positions stored.
    undo.unshift(() => push.delivery.stop());
    return {
      bus,
      tasks,
      events,
      taskEvents,
      agents,
      planner,
      a2a,
      mcp,
      runtime,
      push,
      async close() {
        for (const step of undo) await step().catch((error: unknown) => deps.logger.error({ err: error }, "closing the agent mesh failed"));
      },
    };
  } catch (error) {
    for (const step of undo) await step().catch(() => undefined);
    throw error;
  }
}
