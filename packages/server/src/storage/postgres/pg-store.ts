/**
 * @module storage/postgres/pg-store
 * The PostgreSQL backend (`StorageBackend` and `SharedStorage`): one database shared by every instance of a node.
 * This module opens it (connection budget check, migrations under an advisory lock, the pool) and closes it, and
 * hands each part the pool through `PgDatabase`; the parts live in their own modules: service records and the
 * change log (pg-service-record-store.ts, with group commit in pg-service-batcher.ts), leases, tokens, settings,
 * federation, sign-in's identity store, the vault (pg-vault-store.ts), and the one LISTEN connection (pg-listener.ts).
 *
 * Durability is PostgreSQL's: a write is acknowledged after COMMIT returned with synchronous_commit on (forced on
 * for this backend's sessions if the server or role turned it off), so it survives `kill -9` of the instance and a
 * crash or restart of PostgreSQL. Availability failures surface as `StorageUnavailableError`; the pool replaces
 * failed connections by itself, so the backend serves again as soon as the database is back.
 */
import type { RegistryEvent, ServiceRecord } from "@kai/protocol";
import pg from "pg";
import type { LeaseRow, ServiceDelete, ServicePage, ServiceQuery, ServiceWrite, TokenRow } from "../contracts/node-store.js";
import type { SharedStorage, StorageBackend, StoredChange } from "../contracts/storage-backend.js";
import type { ServiceChange, ServiceDecision } from "../contracts/node-store.js";
import type { Viewer } from "../contracts/viewer.js";
import type { VaultStore } from "../contracts/vault-store.js";
import type { FederationStore } from "../contracts/federation-store.js";
import type { IdentityStore } from "../contracts/identity-store.js";
import {
  clientConfigOf,
  DEFAULT_POOL_SIZE,
  DEFAULT_RESERVED_CONNECTIONS,
  describeConfig,
  type PostgresStoreConfig,
} from "./pg-config.js";
import { checkConnectionBudget, describeBudget, type ConnectionBudget } from "./pg-connection-budget.js";
import { PgDatabase } from "./pg-database.js";
import { toStorageError } from "./pg-errors.js";
import { migratePostgres } from "./pg-migrations.js";
import { PgListener } from "./pg-listener.js";
import { PgServiceRecordStore } from "./pg-service-record-store.js";
import { PgLeaseStore } from "./pg-lease-store.js";
import { PgTokenStore } from "./pg-token-store.js";
import { PgNodeSettingsStore } from "./pg-node-settings-store.js";
import { PgFederationStore } from "./pg-federation-store.js";
import { PgIdentityStore } from "./pg-identity-store.js";
import { PgTaskStore } from "./pg-task-store.js";
import { PgPromptStore } from "./pg-prompt-store.js";
import { PgArtifactStore } from "./pg-artifact-store.js";
import { PgA2aPushStore } from "./pg-a2a-push-store.js";
import { PgPluginInstallStore } from "./pg-plugin-install-store.js";
import { PgSemanticStore } from "./pg-semantic-store.js";
import { createPgVaultStore } from "./pg-vault-store.js";
import { waitAtMost } from "../../wait-at-most.js";

export class PostgresStore implements StorageBackend, SharedStorage {
  readonly shared = true as const;
  readonly description: string;
  /** The pool every part uses (the vault and cluster modules too). */
  readonly pool: pg.Pool;
  /** Settings for a dedicated connection (the cluster's leader lock): same URL, TLS and timeouts as the pool. */
  readonly clientConfig: pg.ClientConfig;
  /** The connection budget checked at open. */
  readonly budget: ConnectionBudget;
  private readonly db: PgDatabase;
  private readonly services: PgServiceRecordStore;
  private readonly leases: PgLeaseStore;
  private readonly tokens: PgTokenStore;
  private readonly settings: PgNodeSettingsStore;
  private readonly listener: PgListener;
  private vault: VaultStore | null = null;
  private federation: PgFederationStore | null = null;
  private identity: PgIdentityStore | null = null;
  private tasks: PgTaskStore | null = null;
  private prompts: PgPromptStore | null = null;
  private artifacts: PgArtifactStore | null = null;
  private a2aPush: PgA2aPushStore | null = null;
  private pluginInstalls: PgPluginInstallStore | null = null;
  private closing: Promise<void> | null = null;

  private constructor(config: PostgresStoreConfig, clientConfig: pg.ClientConfig, budget: ConnectionBudget) {
    this.description = describeConfig(config);
    this.clientConfig = clientConfig;
    this.budget = budget;
    this.pool = new pg.Pool({ ...clientConfig, max: config.poolSize ?? DEFAULT_POOL_SIZE });
    // An idle pooled connection that the server drops emits here; the pool discards it. Unhandled, it would crash the process.
    this.pool.on("error", () => config.logger?.warn("an idle PostgreSQL connection was lost; the pool opens a new one when needed"));
    // A checked-out connection has no listener of the pool's (pg-pool removes it at checkout): one the server drops
    // between two statements of a holder that keeps none of its own (the vault's transactions, cluster signals, the
    // limits table's creation) emitted an error nothing heard, which ended the process (seen when PostgreSQL was
    // killed under load). The holder's next statement fails and reports it; this listener only keeps the process up.
    this.pool.on("connect", (client) => client.on("error", () => undefined));
    this.db = new PgDatabase(this.pool);
    this.services = new PgServiceRecordStore(this.db);
    this.leases = new PgLeaseStore(this.db);
    this.tokens = new PgTokenStore(this.db);
    this.settings = new PgNodeSettingsStore(this.db);
    this.listener = new PgListener(clientConfig, config.logger);
  }

  /**
   * Connects, checks the connection budget, applies migrations (safe when several instances start at once), and
   * opens the pool. Throws `StorageUnavailableError` when the database cannot be reached.
   */
  static async open(config: PostgresStoreConfig): Promise<PostgresStore> {
    let clientConfig = clientConfigOf(config);
    const client = new pg.Client(clientConfig);
    // A connection lost while opening rejects the query in flight; this keeps the emitted error from crashing the process.
    client.on("error", () => undefined);
    let budget: ConnectionBudget;
    try {
      await client.connect();
      budget = await checkConnectionBudget(client, {
        poolSize: config.poolSize ?? DEFAULT_POOL_SIZE,
        expectedInstances: config.expectedInstances ?? 1,
        reservedConnections: config.reservedConnections ?? DEFAULT_RESERVED_CONNECTIONS,
      });
      await migratePostgres(client);
      const sync = await client.query<{ synchronous_commit: string }>("SHOW synchronous_commit");
      if (sync.rows[0]?.synchronous_commit === "off") {
        config.logger?.warn("PostgreSQL has synchronous_commit=off for this database or role; kAI turns it on for its own connections (an acknowledged write must survive a crash)");
        clientConfig = { ...clientConfig, options: "-c synchronous_commit=on" };
      }
    } catch (error) {
      throw toStorageError(error);
    } finally {
      await client.end().catch(() => undefined);
    }
    config.logger?.info?.(`PostgreSQL connection budget: ${describeBudget(budget)}`);
    return new PostgresStore(config, clientConfig, budget);
  }

  // ---- service records and the change log (pg-service-record-store.ts) ----

  writeService(write: ServiceWrite): Promise<RegistryEvent> {
    return this.services.writeService(write);
  }

  writeServices(writes: ServiceWrite[]): Promise<RegistryEvent[]> {
    return this.services.writeServices(writes);
  }

  changeService(id: string, decide: ServiceDecision): Promise<ServiceChange> {
    return this.services.changeService(id, decide);
  }

  deleteService(id: string, expectedRevision?: number): Promise<RegistryEvent | null> {
    return this.services.deleteService(id, expectedRevision);
  }

  deleteServices(deletes: readonly ServiceDelete[]): Promise<Array<RegistryEvent | null>> {
    return this.services.deleteServices(deletes);
  }

  getService(id: string): Promise<ServiceRecord | null> {
    return this.services.getService(id);
  }

  getServices(ids: readonly string[]): Promise<Array<ServiceRecord | null>> {
    return this.services.getServices(ids);
  }

  listServices(query: ServiceQuery): Promise<ServicePage> {
    return this.services.listServices(query);
  }

  countServices(viewer: Viewer): Promise<Record<ServiceRecord["status"], number>> {
    return this.services.countServices(viewer);
  }

  currentRevision(): Promise<number> {
    return this.services.currentRevision();
  }

  eventsSince(afterRevision: number, limit: number): Promise<RegistryEvent[] | "compacted"> {
    return this.services.eventsSince(afterRevision, limit);
  }

  compactEvents(keep: number): Promise<void> {
    return this.services.compactEvents(keep);
  }

  changesSince(afterRevision: number, limit: number): Promise<StoredChange[] | "compacted"> {
    return this.services.changesSince(afterRevision, limit);
  }

  // ---- leases (pg-lease-store.ts) ----

  listLeases(): Promise<LeaseRow[]> {
    return this.leases.listLeases();
  }

  saveHeartbeats(beats: ReadonlyArray<{ id: string; at: number }>): Promise<void> {
    return this.leases.saveHeartbeats(beats);
  }

  // ---- tokens (pg-token-store.ts) ----

  insertToken(token: TokenRow): Promise<void> {
    return this.tokens.insertToken(token);
  }

  getToken(id: string): Promise<TokenRow | null> {
    return this.tokens.getToken(id);
  }

  listTokens(): Promise<TokenRow[]> {
    return this.tokens.listTokens();
  }

  revokeToken(id: string, at: string): Promise<boolean> {
    return this.tokens.revokeToken(id, at);
  }

  // ---- node settings (pg-node-settings-store.ts) ----

  getMeta(key: string): Promise<string | null> {
    return this.settings.getMeta(key);
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.settings.setMeta(key, value);
  }

  claimMeta(key: string, value: string): Promise<string> {
    return this.settings.claimMeta(key, value);
  }

  // ---- vault, federation and identity ----

  vaultStore(): VaultStore {
    this.vault ??= createPgVaultStore(this.pool);
    return this.vault;
  }

  federationStore(): FederationStore {
    this.federation ??= new PgFederationStore(this.db);
    return this.federation;
  }

  /** Sign-in's users, sessions, factors, challenges and security log, shared by every instance (pg-identity-store.ts). */
  identityStore(): IdentityStore {
    this.identity ??= new PgIdentityStore(this.db);
    return this.identity;
  }

  /** kCore's tasks and their events (issue 16), shared by every instance. */
  taskStore(): PgTaskStore {
    this.tasks ??= new PgTaskStore(this.db);
    return this.tasks;
  }

  /** Prompts and their versions (issue 17), shared by every instance. */
  promptStore(): PgPromptStore {
    this.prompts ??= new PgPromptStore(this.db);
    return this.prompts;
  }

  /** Artifact metadata, blob references and share links (issue 17), shared by every instance. */
  artifactStore(): PgArtifactStore {
    this.artifacts ??= new PgArtifactStore(this.db);
    return this.artifacts;
  }

  /** A2A push notification configs (issue 16), shared by every instance. */
  a2aPushStore(): PgA2aPushStore {
    this.a2aPush ??= new PgA2aPushStore(this.db);
    return this.a2aPush;
  }

  /** The desired plugin installs (issue 18), shared by every instance: what each one's plugins folder follows. */
  pluginInstallStore(): PgPluginInstallStore {
    this.pluginInstalls ??= new PgPluginInstallStore(this.db);
    return this.pluginInstalls;
  }

  /** Semantic memory's rows (issue 17), shared by every instance. */
  private semanticMemory: PgSemanticStore | null = null;
  semanticMemoryStore(): PgSemanticStore {
    this.semanticMemory ??= new PgSemanticStore(this.db);
    return this.semanticMemory;
  }

  // ---- shared storage ----

  async listen(channel: string, onNotify: (payload: string) => void, onReconnect: () => void): Promise<() => Promise<void>> {
    this.db.assertOpen();
    return this.listener.listen(channel, onNotify, onReconnect);
  }

  async ping(): Promise<void> {
    await this.db.query("SELECT 1");
  }

  // ---- lifecycle ----

  /** Commits what was queued before it was called, then closes every connection; later calls reject. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.db.markClosed();
      await Promise.all([this.services.drain(), this.leases.drain()]);
      await this.listener.close();
      // Bounded: pg-pool's end() waits for every client it holds to be released, and under load a connection attempt
      // that outlives its connect timeout can leave behind a client no one will release (node-postgres #3543,
      // #2243), so end() would never settle and the node would never finish closing (seen in CI after the
      // pool-timeout test). The connections left are closed by the process's exit.
      await waitAtMost(this.pool.end(), POOL_END_WAIT_MS);
    })();
    return this.closing;
  }
}

/** How long close() waits for the pool's connections to end. */
const POOL_END_WAIT_MS = 5_000;
