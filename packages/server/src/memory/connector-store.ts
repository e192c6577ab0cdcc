/**
 * @module memory/connector-store
 * How the connector memory index (connector-index.ts) reaches its vector store: the way the rest of the node reaches
 * a provider, never with an HTTP client of its own. The registry record of the configured service (`url`,
 * `provider`, `auth`, `status`), its credential through the gateway's `CredentialResolver` (vault or environment,
 * cached as the gateway caches it), and the provider's connector (`gateway/connectors/`, Qdrant or Chroma), whose
 * `vector_*` operations speak the product's real wire format.
 *
 * Why not `GatewayPort.route("vector_query", …)`: the router has no operation for creating a collection (the index
 * needs one per partition), it routes as a principal (the index acts as the node, for no caller), and its failover
 * would let one memory partition be written to two stores. The record is read again every `recordCacheMs`, so a
 * service moved to another URL, re-keyed, set offline or deregistered takes effect within seconds.
 *
 * Every failure is sorted into one of two kinds: the store cannot be used now (`VectorStoreDown`: the service is
 * unknown, offline, in maintenance, has no URL or no vector connector, or the call failed with a code whose
 * `ERROR_TABLE` traits say `failover`: unreachable, timeout, 5xx, rate limited, auth refused, credential or vault
 * unavailable), on which the index queues and waits; or an answer about the request (a wrong dimension, a missing
 * collection), which the index handles or lets through.
 */
import { ERROR_TRAITS, type ErrorCode, type ServiceRecord } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { CallContext, Connector, ConnectorLogger, ConnectorResult } from "../gateway/connector.js";
import { getConnector } from "../gateway/connectors/index.js";
import type { ResolvedAuth } from "../gateway/router/credentials.js";
import type { ServiceRecordStore } from "../storage/contracts/node-store.js";

/** The connector methods the index calls (Qdrant's and Chroma's connectors have all of them). */
export type VectorConnector = Connector & Required<Pick<Connector, "listCollections" | "createCollection" | "upsertPoints" | "queryPoints" | "deletePoints">>;

const VECTOR_METHODS = ["listCollections", "createCollection", "upsertPoints", "queryPoints", "deletePoints"] as const;

export interface VectorStoreDeps {
  /** The registry's records (the node store's `getService`). */
  services: Pick<ServiceRecordStore, "getService">;
  /** The service's credential: the gateway's resolver kind (gateway/router/credentials.ts). */
  credentials: { resolve(record: Pick<ServiceRecord, "id" | "auth">): Promise<ResolvedAuth>; forget(credentialRef?: string): void };
  /** Connector by provider id; default the built-in ones (gateway/connectors/index.ts). */
  connectorFor?: (provider: string | undefined) => Connector | undefined;
  /** Longest wait for one call, ms. */
  timeoutMs: number;
  /** How long a read record is used before it is read again, ms. */
  recordCacheMs: number;
  /**
   * Only a record of this owner is used. The index sends every memory's vector to the service, so a deployment
   * where others may register services pins the owner: should the service be removed, someone else's service
   * registered under its id would not receive them.
   */
  owner?: string;
  logger?: ConnectorLogger;
  now?: () => number;
}

/** The store cannot be used now; `message` says why (no secret in it: the connectors scrub them). */
export class VectorStoreDown extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VectorStoreDown";
  }
}

/** Whether `error` means the store is not usable now (as opposed to an answer about the request). */
export function isStoreDown(error: unknown): boolean {
  if (error instanceof VectorStoreDown) return true;
  return error instanceof ApiError && ERROR_TRAITS[error.code as ErrorCode]?.failover === true;
}

/** One registered vector service, called through its connector. */
export class VectorStore {
  private record: { value: ServiceRecord; readAt: number } | null = null;
  private readonly now: () => number;
  private readonly connectorFor: (provider: string | undefined) => Connector | undefined;

  constructor(
    readonly serviceId: string,
    private readonly deps: VectorStoreDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.connectorFor = deps.connectorFor ?? ((provider) => (provider ? getConnector(provider) : undefined));
  }

  /**
   * Calls one connector operation on the service; throws `VectorStoreDown` when the store is not usable (see the
   * module header), else what the connector threw.
   */
  async call<T>(work: (connector: VectorConnector, context: CallContext) => Promise<ConnectorResult<T>>): Promise<T> {
    const { connector, context, credentialRef } = await this.target();
    try {
      return (await work(connector, context)).data;
    } catch (error) {
      // The store refused the key: the next call reads it again (a rotated secret), as the gateway does.
      if (error instanceof ApiError && error.code === "upstream_auth_failed" && credentialRef) this.deps.credentials.forget(credentialRef);
      if (error instanceof ApiError && isStoreDown(error)) throw new VectorStoreDown(`service ${this.serviceId}: ${error.code}: ${error.message}`);
      throw error;
    }
  }

  private async target(): Promise<{ connector: VectorConnector; context: CallContext; credentialRef: string | undefined }> {
    const record = await this.currentRecord();
    if (record.status === "offline" || record.status === "maintenance") throw new VectorStoreDown(`service ${this.serviceId} is ${record.status}`);
    if (!record.url) throw new VectorStoreDown(`service ${this.serviceId} has no url`);
    const connector = this.connectorFor(record.provider);
    if (!connector || !VECTOR_METHODS.every((method) => typeof connector[method] === "function")) {
      throw new VectorStoreDown(`service ${this.serviceId} (provider ${record.provider ?? "none"}) has no vector storage connector (qdrant or chroma)`);
    }
    let auth: ResolvedAuth;
    try {
      auth = await this.deps.credentials.resolve(record);
    } catch (error) {
      throw isStoreDown(error) || error instanceof ApiError ? new VectorStoreDown(error instanceof Error ? error.message : String(error)) : error;
    }
    const context: CallContext = {
      target: { baseUrl: record.url, ...(auth.credential !== undefined ? { credential: auth.credential } : {}), ...(auth.headers ? { headers: auth.headers } : {}) },
      timeoutMs: this.deps.timeoutMs,
      ...(this.deps.logger ? { logger: this.deps.logger } : {}),
    };
    return { connector: connector as VectorConnector, context, credentialRef: record.auth.credentialRef };
  }

  private async currentRecord(): Promise<ServiceRecord> {
    const cached = this.record;
    if (cached && this.now() - cached.readAt < this.deps.recordCacheMs) return cached.value;
    let value: ServiceRecord | null;
    try {
      value = await this.deps.services.getService(this.serviceId);
    } catch (error) {
      // The node's own store failing is not the vector store's fault, but the index cannot go on either.
      throw new VectorStoreDown(`the registry could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!value) {
      this.record = null;
      throw new VectorStoreDown(`no service ${this.serviceId} is registered`);
    }
    if (this.deps.owner !== undefined && value.owner !== this.deps.owner) {
      this.record = null;
      throw new VectorStoreDown(`service ${this.serviceId} is not owned by ${this.deps.owner} (memory.index.connector.owner)`);
    }
    this.record = { value, readAt: this.now() };
    return value;
  }
}
