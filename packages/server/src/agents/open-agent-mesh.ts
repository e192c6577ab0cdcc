/**
 * @module agents/open-agent-mesh
 * The composition root of the agent mesh (issue 16): the orchestration bus, the agent directory, kPlanner and kCore
 * (the task engine), wired to the registry, the gateway and the store. server.ts calls `openAgentMesh` once and
 * hands the result to the HTTP app; `close()` stops the parts in reverse order.
 */
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import type { RegistryService } from "../registry/registry-service.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import type { GatewayPort } from "../http/front-doors/gateway-port.js";
import type { KlpNode } from "../klp/klp-node.js";
import type { EventBus } from "../bus/event-bus.js";
import { createInProcessBus } from "../bus/in-process-bus.js";

export interface AgentMeshDeps {
  config: Config;
  logger: Logger;
  store: StorageBackend;
  registry: RegistryService;
  gateway: GatewayPort;
  klp: KlpNode;
}

export interface AgentMesh {
  /** Every event of the node, between its instances (bus/). */
  bus: EventBus;
  close(): Promise<void>;
}

export async function openAgentMesh(deps: AgentMeshDeps): Promise<AgentMesh> {
  const undo: Array<() => Promise<unknown>> = [];
  try {
    const bus = createInProcessBus((error) => deps.logger.error({ err: error }, "a bus listener failed"));
    undo.unshift(() => bus.close());
    return {
      bus,
      async close() {
        for (const step of undo) await step().catch((error: unknown) => deps.logger.error({ err: error }, "closing the agent mesh failed"));
      },
    };
  } catch (error) {
    for (const step of undo) await step().catch(() => undefined);
    throw error;
  }
}
