/**
 * @module storage/contracts/storage-backend
 * Everything a storage backend provides, in one type: the node's store (node-store.ts), and over the same
 * database the vault's (vault-store.ts), the federation's (federation-store.ts) and sign-in's (identity-store.ts). One database means one
 * transaction log: a backend may commit writes of all three together (SQLite shares one group commit).
 * `storage/index.ts`'s `openStore` is the one place a backend is chosen and opened.
 *
 * A backend that several instances of one node share (PostgreSQL) is also a `SharedStorage`: the instances
 * follow each other's changes through it (`changesSince` in revision order, woken by `listen`).
 */
import type { RegistryEvent, ServiceRecord } from "@kai/protocol";
import type { FederationStore } from "./federation-store.js";
import type { IdentityStore } from "./identity-store.js";
import type { NodeStore } from "./node-store.js";
import type { VaultStore } from "./vault-store.js";
import type { TaskStore } from "./task-store.js";
import type { PromptStore } from "./prompt-store.js";
import type { ArtifactStore } from "./artifact-store.js";
import type { A2aPushStore } from "./a2a-push-store.js";
import type { SemanticMemoryStore } from "./semantic-memory-store.js";
import type { PluginInstallStore } from "./plugin-install-store.js";

export interface StorageBackend extends NodeStore {
  /** The credential vault's store over this backend's database (one instance per backend). */
  vaultStore(): VaultStore;
  /** Federation peers and imported records over this backend's database (one instance per backend). */
  federationStore(): FederationStore;
  /** Users, roles, sessions, second factors, challenges and the security log (sign-in) over this backend's database (one instance per backend). */
  identityStore(): IdentityStore;
  /** kCore's tasks and their events (issue 16) over this backend's database (one instance per backend). */
  taskStore(): TaskStore;
  /** The prompt store's prompts and versions (issue 17) over this backend's database (one instance per backend). */
  promptStore(): PromptStore;
  /** Artifact metadata, blob reference counts and share links (issue 17) over this backend's database (one instance per backend). */
  artifactStore(): ArtifactStore;
  /** The A2A push notification configs of kCore's tasks (issue 16), over the task store's database (one instance per backend). */
  a2aPushStore(): A2aPushStore;
  /** Semantic memory's rows (issue 17) over this backend's database (one instance per backend). */
  semanticMemoryStore(): SemanticMemoryStore;
  /** The desired plugin installs every instance follows (issue 18) over this backend's database (one instance per backend). */
  pluginInstallStore(): PluginInstallStore;
}

/** One change of the registry's log, with the record as it was before it (null: the id did not exist). */
export interface StoredChange {
  event: RegistryEvent;
  previous: ServiceRecord | null;
}

/** The channel every registry write transaction notifies at commit; the payload is its latest revision. */
export const REGISTRY_CHANGES_CHANNEL = "kai_changes";

/**
 * What a database shared by several instances offers besides the stores: the change log with previous records,
 * notifications at commit, and a cheap health probe. Revisions commit in revision order across instances, so a
 * reader of "revision > x" never misses a lower revision that commits later.
 */
export interface SharedStorage {
  readonly shared: true;
  /**
   * Changes with revision > `afterRevision`, oldest first, at most `limit`; `"compacted"` when some of them are
   * no longer kept (the caller takes a snapshot instead).
   */
  changesSince(afterRevision: number, limit: number): Promise<StoredChange[] | "compacted">;
  /**
   * Calls `onNotify` with each notification's payload on `channel`. The backend keeps one listening connection and
   * reconnects it by itself after it drops; notifications sent meanwhile are lost, so `onReconnect` is called after
   * every reconnect for the caller to re-read what it may have missed. Resolves with a function that stops listening.
   */
  listen(channel: string, onNotify: (payload: string) => void, onReconnect: () => void): Promise<() => Promise<void>>;
  /** Resolves when the database answers; rejects with `StorageUnavailableError` otherwise (readiness probes). */
  ping(): Promise<void>;
}

/** Whether `backend` is shared by several instances (and offers `SharedStorage`). */
export function isSharedStorage<T extends object>(backend: T): backend is T & SharedStorage {
  return (backend as Partial<SharedStorage>).shared === true;
}
