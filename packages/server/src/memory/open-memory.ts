/**
 * @module memory/open-memory
 * The composition root of semantic memory: the row store of the node's storage backend, the index
 * (`memory.index.kind`: the embedded one, pgvector in PostgreSQL, or a registered Qdrant or Chroma service reached
 * through its connector), the gateway embedder, the service (its index
 * filled from the rows before the node listens: the embedded one's HNSW graphs taken from `<dataDir>/memory-index/`
 * when they still match the rows, `memory.index.persist`; pgvector's kept vectors reconciled with the rows), and the
 * TTL sweeper as a singleton job (one instance deletes expired rows; every instance already refuses to return
 * them), and the re-embedding job (reembed-job.ts).
 */
import { join } from "node:path";
import type { Config } from "../config/config-schema.js";
import type { SingletonJob } from "../cluster/singleton-jobs.js";
import type { GatewayPort } from "../http/front-doors/gateway-port.js";
import type { Logger } from "../logging/logger.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import type { CredentialResolver } from "../gateway/router/credentials.js";
import { EmbeddedIndex } from "./embedded-index.js";
import { GatewayEmbedder } from "./gateway-embedder.js";
import { MemoryService } from "./memory-service.js";
import { ReembedJob } from "./reembed-job.js";
import type { VectorIndex } from "./vector-index.js";

export interface OpenMemoryDeps {
  config: Config;
  logger: Logger;
  store: Pick<StorageBackend, "semanticMemoryStore" | "getMeta" | "setMeta" | "getService">;
  gateway: Pick<GatewayPort, "route" | "models">;
  /** How a connector index reads its service's credential: the gateway's own resolver (one cache for both). */
  credentials: Pick<CredentialResolver, "resolve" | "forget">;
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

/** The index `memory.index.kind` names. */
async function openIndex(deps: OpenMemoryDeps, logger: Logger): Promise<VectorIndex> {
  const { config } = deps;
  const settings = config.memory;
  if (settings.index.kind === "connector") {
    const connector = settings.index.connector;
    // The config schema refuses `connector` without a service.
    if (connector.service === undefined) throw new Error("memory.index.kind connector needs memory.index.connector.service");
    const { createConnectorIndex } = await import("./connector-index.js");
    return createConnectorIndex({ services: deps.store, credentials: deps.credentials, logger }, { ...connector, service: connector.service });
  }
  if (settings.index.kind === "pgvector") {
    // Loaded only when used, as the storage backends are: a node on the embedded index never loads `pg` for it.
    const [{ PgvectorIndex }, { clientConfigOf }] = await Promise.all([import("./pgvector-index.js"), import("../storage/postgres/pg-config.js")]);
    const options = settings.index.pgvector;
    const storage = config.storage.kind === "postgres" ? config.storage.postgres : null;
    // The config schema refuses pgvector without a URL unless storage is on PostgreSQL.
    const url = options.url ?? storage?.url;
    if (url === undefined) throw new Error("memory.index.kind pgvector needs memory.index.pgvector.url");
    // The storage database's TLS settings hold when the index shares its URL; another URL says its own (`sslmode`).
    const sameDatabase = storage !== null && url === storage.url;
    const client = clientConfigOf({
      kind: "postgres", url,
      ...(sameDatabase ? { tls: storage.tls } : {}),
      ...(storage ? { connectTimeoutMs: storage.connectTimeoutMs, statementTimeoutMs: storage.statementTimeoutMs } : {}),
    });
    return PgvectorIndex.open({
      client: { ...client, application_name: "kai-memory-index" }, poolSize: options.poolSize, efSearch: options.efSearch, maxScanTuples: options.maxScanTuples,
      hnswFrom: settings.hnswFrom, connectivity: settings.hnswConnectivity, logger,
    });
  }
  // A node on the `memory` backend starts with no rows: nothing saved could ever match them.
  const persist = settings.index.persist && config.storage.kind !== "memory";
  return new EmbeddedIndex(
    { hnswFrom: settings.hnswFrom, connectivity: settings.hnswConnectivity, expansionSearch: settings.hnswExpansionSearch },
    persist ? { dir: join(config.dataDir, "memory-index"), saveDelayMs: settings.index.saveDelayMs, logger } : null,
  );
}

export async function openMemory(deps: OpenMemoryDeps): Promise<OpenedMemory> {
  const settings = deps.config.memory;
  const logger = deps.logger.child({ component: "memory" });
  const index = await openIndex(deps, logger);
  const embedder = new GatewayEmbedder(deps.gateway, settings.model);
  const service = new MemoryService({ store: deps.store.semanticMemoryStore(), index, embedder, logger });
  try {
    await service.start();
  } catch (error) {
    await index.close?.().catch(() => undefined);
    throw error;
  }
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
