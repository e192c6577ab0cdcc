/**
 * @module memory/open-memory
 * The composition root of semantic memory: the row store of the node's storage backend, the embedded index, the
 * gateway embedder, the service (its index filled from the rows before the node listens, its HNSW graphs taken from
 * `<dataDir>/memory-index/` when they still match the rows, `memory.index.persist`), and the TTL sweeper as a
 * singleton job (one instance deletes expired rows; every instance already refuses to return them), and the
 * re-embedding job (reembed-job.ts).
 */
import { join } from "node:path";
import type { Config } from "../config/config-schema.js";
import type { SingletonJob } from "../cluster/singleton-jobs.js";
import type { GatewayPort } from "../http/front-doors/gateway-port.js";
import type { Logger } from "../logging/logger.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import { EmbeddedIndex } from "./embedded-index.js";
import { GatewayEmbedder } from "./gateway-embedder.js";
import { MemoryService } from "./memory-service.js";
import { ReembedJob } from "./reembed-job.js";

export interface OpenMemoryDeps {
  config: Config;
  logger: Logger;
  store: Pick<StorageBackend, "semanticMemoryStore" | "getMeta" | "setMeta">;
  gateway: Pick<GatewayPort, "route" | "models">;
  /** This instance's name (the re-embedding status says where it runs). */
  instanceName: string;
}

export interface OpenedMemory {
  service: MemoryService;
  sweeper: SingletonJob;
  reembed: ReembedJob;
  /** Saves the index's graphs (the node is stopping). */
  close(): Promise<void>;
}

export async function openMemory(deps: OpenMemoryDeps): Promise<OpenedMemory> {
  const settings = deps.config.memory;
  const logger = deps.logger.child({ component: "memory" });
  // A node on the `memory` backend starts with no rows: nothing saved could ever match them.
  const persist = settings.index.persist && deps.config.storage.kind !== "memory";
  const index = new EmbeddedIndex(
    { hnswFrom: settings.hnswFrom, connectivity: settings.hnswConnectivity, expansionSearch: settings.hnswExpansionSearch },
    persist ? { dir: join(deps.config.dataDir, "memory-index"), saveDelayMs: settings.index.saveDelayMs, logger } : null,
  );
  const embedder = new GatewayEmbedder(deps.gateway, settings.model);
  const service = new MemoryService({ store: deps.store.semanticMemoryStore(), index, embedder, logger });
  await service.start();
  const reembed = new ReembedJob({
    store: deps.store.semanticMemoryStore(), settings: deps.store, service, embedder, defaultModel: settings.model, instanceName: deps.instanceName, logger,
  });
  let timer: NodeJS.Timeout | null = null;
  const sweep = () => {
    service.sweep().then(
      (count) => {
        if (count > 0) logger.info({ expired: count }, "expired memories deleted");
      },
      (error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, "memory sweep failed; next one retries"),
    );
  };
  const sweeper: SingletonJob = {
    name: "memory-sweeps",
    start() {
      timer = setInterval(sweep, settings.sweepIntervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
  return { service, sweeper, reembed, close: () => service.close() };
}
