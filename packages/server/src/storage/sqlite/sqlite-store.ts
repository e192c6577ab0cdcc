/**
 * @module storage/sqlite/sqlite-store
 * The embedded SQLite backend (`StorageBackend`): one database file, one connection, one group-commit
 * batcher (write-batcher.ts) shared by every part, so writes of the registry, vault and federation issued
 * together share one commit and one fsync. This module opens and closes the backend and hands each part
 * its way into the batcher; what the parts hold lives in their own modules: service records and events
 * (sqlite-service-record-store.ts), leases, tokens, node settings, the vault, federation and identity stores.
 */
import type { RegistryEvent, ServiceRecord } from "@kai/protocol";
import type { Database } from "better-sqlite3";
import type { LeaseRow, ServiceDelete, ServicePage, ServiceQuery, ServiceWrite, TokenRow } from "../contracts/node-store.js";
import type { StorageBackend } from "../contracts/storage-backend.js";
import type { ServiceChange, ServiceDecision } from "../contracts/node-store.js";
import type { Viewer } from "../contracts/viewer.js";
import type { VaultStore } from "../contracts/vault-store.js";
import type { FederationStore } from "../contracts/federation-store.js";
import type { IdentityStore } from "../contracts/identity-store.js";
import { connectionPragmas, openDatabase, type SynchronousMode } from "./open-database.js";
import { claimDatabase, type DatabaseClaim } from "./database-claim.js";
import { WriteBatcher, type EnqueueOptions } from "./write-batcher.js";
import { BackgroundCheckpointer } from "./background-checkpointer.js";
import { WriterThread } from "./writer-thread.js";
import type { WriteSink } from "./write-statements.js";
import type { SqliteStoreHooks } from "./store-hooks.js";
import { type SealedBatch, SqliteServiceRecordStore } from "./sqlite-service-record-store.js";
import { SqliteLeaseStore } from "./sqlite-lease-store.js";
import { SqliteTokenStore } from "./sqlite-token-store.js";
import { SqliteNodeSettingsStore } from "./sqlite-node-settings-store.js";
import { SqliteVaultStore } from "./sqlite-vault-store.js";
import { SqliteFederationStore } from "./sqlite-federation-store.js";
import { SqliteTaskStore } from "./sqlite-task-store.js";
import { SqlitePromptStore } from "./sqlite-prompt-store.js";
import { SqliteArtifactStore } from "./sqlite-artifact-store.js";
import { SqliteA2aPushStore } from "./sqlite-a2a-push-store.js";
import { SqlitePluginInstallStore } from "./sqlite-plugin-install-store.js";
import { SqliteSemanticStore } from "./sqlite-semantic-store.js";
import { SqliteIdentityStore } from "./sqlite-identity-store.js";

export interface SqliteStoreOptions {
  path: string;
  synchronous?: SynchronousMode;
  /** Page size of a new database file, bytes; an existing file keeps its own. */
  pageSize?: number;
  logger?: { warn(msg: string): void };
  /**
   * Checkpoint the WAL from a worker thread this often, ms (default 500); 0 leaves checkpoints to SQLite's
   * automatic one inside commits. Ignored for `:memory:`.
   */
  checkpointIntervalMs?: number;
  /**
   * Commit service writes from a worker thread (writer-thread.ts) so the event loop does not wait for
   * SQLite's page writes and fsync (default true). Ignored for `:memory:`, which a thread cannot share.
   */
  writerThread?: boolean;
}

/** Default interval of background WAL checkpoints, ms. */
const CHECKPOINT_INTERVAL_MS = 500;

/**
 * Automatic checkpoint thresholds of the main connection, in WAL pages. With the background checkpointer
 * the automatic one is only a backstop (~200 MiB of WAL); without it, every ~40 MiB: a registration touches
 * pages across several B-trees, and rarer checkpoints copy each hot page back once for many commits
 * (measured with bench/: about 1.5x the write rate of SQLite's default 1,000 pages).
 */
const BACKSTOP_CHECKPOINT_PAGES = 50_000;
const INLINE_CHECKPOINT_PAGES = 10_000;

/** Writes with no effect outside SQLite (leases, tokens, settings, federation): running one again after a batch rolled back is harmless. */
const RERUNNABLE: EnqueueOptions = { rerunnable: true };
/** Work with effects outside SQLite (the vault's transactions): its own savepoint, never run twice. */
const RUN_ONCE: EnqueueOptions = { rerunnable: false };

class StoreClosedError extends Error {
  constructor() {
    super("the store is closed");
    this.name = "StoreClosedError";
  }
}

export class SqliteStore implements StorageBackend {
  readonly description: string;
  private readonly db: Database;
  private readonly batcher: WriteBatcher<SealedBatch>;
  private closed = false;
  private readonly services: SqliteServiceRecordStore;
  private readonly leases: SqliteLeaseStore;
  private readonly tokens: SqliteTokenStore;
  private readonly settings: SqliteNodeSettingsStore;
  /** How the parts other than the service records reach the batcher. */
  private readonly hooks: SqliteStoreHooks;
  private vault: SqliteVaultStore | null = null;
  private federation: SqliteFederationStore | null = null;
  private tasks: SqliteTaskStore | null = null;
  private prompts: SqlitePromptStore | null = null;
  private artifacts: SqliteArtifactStore | null = null;
  private a2aPush: SqliteA2aPushStore | null = null;
  private pluginInstalls: SqlitePluginInstallStore | null = null;
  private identity: SqliteIdentityStore | null = null;
  private checkpointer: BackgroundCheckpointer | null = null;
  /** This store's hold on its database file (database-claim.ts); none for `:memory:`. */
  private claim: DatabaseClaim | null = null;
  private readonly writer: WriterThread | null;

  private constructor(db: Database, synchronous: SynchronousMode, writer: WriterThread | null) {
    this.db = db;
    this.description = `sqlite (WAL, synchronous=${synchronous.toUpperCase()})`;
    this.writer = writer;
    this.hooks = {
      enqueue: (work) => this.enqueue(work, RERUNNABLE),
      enqueueOnce: (work) => this.enqueue(work, RUN_ONCE),
      assertOpen: () => this.assertOpen(),
    };
    this.services = new SqliteServiceRecordStore(
      db,
      { enqueue: (run, options) => this.enqueue(run, options), assertOpen: this.hooks.assertOpen },
      writer !== null,
    );
    this.leases = new SqliteLeaseStore(db, this.hooks, (id) => this.services.rowSeq(id));
    this.tokens = new SqliteTokenStore(db, this.hooks);
    this.settings = new SqliteNodeSettingsStore(db, this.hooks);
    // Only the service records keep state outside SQLite that a batch's outcome decides (revisions, the seq of each id).
    this.batcher = new WriteBatcher(
      db,
      {
        seal: () => this.services.sealBatch(),
        committed: (sealed) => this.services.batchCommitted(sealed),
        rolledBack: () => this.services.batchRolledBack(),
      },
      writer,
    );
  }

  static open(options: SqliteStoreOptions): SqliteStore {
    const synchronous = options.synchronous ?? "full";
    if (synchronous === "normal") {
      options.logger?.warn("SQLite synchronous=NORMAL: acknowledged writes survive a process crash but the latest may be lost on power failure");
    }
    const intervalMs = options.path === ":memory:" ? 0 : (options.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS);
    const autoCheckpointPages = intervalMs > 0 ? BACKSTOP_CHECKPOINT_PAGES : INLINE_CHECKPOINT_PAGES;
    // Before anything touches the file (a migration, the writer thread): one node per database (database-claim.ts).
    const claim = options.path === ":memory:" ? null : claimDatabase(options.path);
    let db: Database;
    try {
      db = openDatabase({ path: options.path, synchronous, autoCheckpointPages, ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}) });
    } catch (error) {
      claim?.release();
      throw error;
    }
    let writer: WriterThread | null = null;
    if (options.path !== ":memory:" && options.writerThread !== false) {
      try {
        writer = new WriterThread({
          path: options.path,
          pragmas: connectionPragmas({ synchronous, autoCheckpointPages }),
          onError: (message) => options.logger?.warn(`${message}; service writes fail until restart`),
        });
      } catch (error) {
        db.close();
        claim?.release();
        throw error;
      }
    }
    const store = new SqliteStore(db, synchronous, writer);
    store.claim = claim;
    if (intervalMs > 0) {
      try {
        store.checkpointer = new BackgroundCheckpointer({
          path: options.path,
          intervalMs,
          onError: (message) => options.logger?.warn(`background WAL checkpoint failed: ${message}`),
          // A catch-up holds the writes for a moment so that the WAL can start again from its beginning.
          holdWrites: (work) => store.batcher.holdWrites(work),
        });
      } catch (error) {
        void writer?.close();
        db.close();
        claim?.release();
        throw error;
      }
    }
    return store;
  }

  // ---- service records and events (sqlite-service-record-store.ts) ----

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

  // ---- leases (sqlite-lease-store.ts) ----

  listLeases(): Promise<LeaseRow[]> {
    return this.leases.listLeases();
  }

  saveHeartbeats(beats: ReadonlyArray<{ id: string; at: number }>): Promise<void> {
    return this.leases.saveHeartbeats(beats);
  }

  // ---- tokens (sqlite-token-store.ts) ----

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

  // ---- node settings (sqlite-node-settings-store.ts) ----

  getMeta(key: string): Promise<string | null> {
    return this.settings.getMeta(key);
  }

  claimMeta(key: string, value: string): Promise<string> {
    return this.settings.claimMeta(key, value);
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.settings.setMeta(key, value);
  }

  // ---- vault, federation and identity ----

  /**
   * The credential vault's store over this same database file: its writes join the same group-commit
   * batches (one fsync for registry and vault writes issued together), each as its own atomic savepoint.
   */
  vaultStore(): VaultStore {
    this.vault ??= new SqliteVaultStore(this.db, this.hooks);
    return this.vault;
  }

  /** Federation peers and imported records, on this same database and in the same group commits. */
  federationStore(): FederationStore {
    this.federation ??= new SqliteFederationStore(this.db, this.hooks);
    return this.federation;
  }

  /** Sign-in's users, sessions, factors, challenges and security log, on this same database and in the same group commits. */
  identityStore(): IdentityStore {
    this.identity ??= new SqliteIdentityStore(this.db, this.hooks);
    return this.identity;
  }

  /** kCore's tasks and their events (issue 16), on this same database and in the same group commits. */
  taskStore(): SqliteTaskStore {
    this.tasks ??= new SqliteTaskStore(this.db, this.hooks);
    return this.tasks;
  }

  /** Prompts and their versions (issue 17), on this backend's connection and group commit. */
  promptStore(): SqlitePromptStore {
    this.prompts ??= new SqlitePromptStore(this.db, this.hooks);
    return this.prompts;
  }

  /** Artifact metadata, blob references and share links (issue 17), on this same database and in the same group commits. */
  artifactStore(): SqliteArtifactStore {
    this.artifacts ??= new SqliteArtifactStore(this.db, this.hooks);
    return this.artifacts;
  }

  /** A2A push notification configs (issue 16), on this same database and in the same group commits. */
  a2aPushStore(): SqliteA2aPushStore {
    this.a2aPush ??= new SqliteA2aPushStore(this.db, this.hooks);
    return this.a2aPush;
  }

  /** The desired plugin installs (issue 18), on this same database and in the same group commits. */
  pluginInstallStore(): SqlitePluginInstallStore {
    this.pluginInstalls ??= new SqlitePluginInstallStore(this.db, this.hooks);
    return this.pluginInstalls;
  }

  /** Semantic memory's rows (issue 17), on this same database and in the same group commits. */
  private semanticMemory: SqliteSemanticStore | null = null;
  semanticMemoryStore(): SqliteSemanticStore {
    this.semanticMemory ??= new SqliteSemanticStore(this.db, this.hooks);
    return this.semanticMemory;
  }

  // ---- lifecycle ----

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // Commit what was queued before close() was called, so no caller is left hanging.
      await this.batcher.drain();
      await this.writer?.close();
      await this.checkpointer?.stop();
      try {
        this.db.pragma("optimize");
      } catch {
        // Only a planner statistics refresh; closing matters more.
      }
      this.db.close();
    } finally {
      // Even after a failed close: this process no longer serves the file, and a restarted node must get it.
      this.claim?.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  /** Every part's way into the batcher: nothing is queued once the store is closed. */
  private enqueue<T>(run: (sink: WriteSink) => T, options: EnqueueOptions): Promise<T> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    return this.batcher.enqueue(run, options);
  }
}
