/**
 * @module storage/memory/memory-store
 * A `StorageBackend` that keeps everything in process memory: for ephemeral runs (`storage.kind: memory`)
 * and as a second implementation that keeps the storage contracts honest. Nothing survives a restart.
 */
import { compareSortValues, matchesFilter, SERVICE_STATUSES, serviceSortValue, type RegistryEvent, type ServiceRecord } from "@kai/protocol";
import { decodeListCursor, encodeListCursor, orderOf } from "../contracts/page-cursor.js";
import { RevisionConflict, type LeaseRow, type ServicePage, type ServiceQuery, type ServiceWrite, type TokenRow } from "../contracts/node-store.js";
import { canSee, type Viewer } from "../contracts/viewer.js";
import type { StorageBackend } from "../contracts/storage-backend.js";
import type { ServiceChange, ServiceDecision, ServiceDelete } from "../contracts/node-store.js";
import { changeByRead } from "../rows/change-by-read.js";
import type { VaultStore } from "../contracts/vault-store.js";
import type { FederationStore } from "../contracts/federation-store.js";
import type { IdentityStore } from "../contracts/identity-store.js";
import { MemoryVaultStore } from "./memory-vault-store.js";
import { MemoryFederationStore } from "./memory-federation-store.js";
import { MemoryIdentityStore } from "./memory-identity-store.js";
import { MemoryTaskStore } from "./memory-task-store.js";
import { MemoryPromptStore } from "./memory-prompt-store.js";
import { MemoryArtifactStore } from "./memory-artifact-store.js";
import { MemoryA2aPushStore } from "./memory-a2a-push-store.js";
import { MemoryPluginInstallStore } from "./memory-plugin-install-store.js";
import { MemorySemanticStore } from "./memory-semantic-store.js";

/** A listed record with its listing position and sort value. */
interface Positioned {
  record: ServiceRecord;
  seq: number;
  value: string | number | null;
}

export class MemoryStore implements StorageBackend {
  readonly description = "memory (not persistent)";
  /** In listing order: a Map keeps insertion order, and a new record always takes a higher `seq` than all before it. */
  private readonly services = new Map<string, ServiceRecord>();
  /** Each record's place in listing order: the revision that created it (as in the SQLite store). */
  private readonly seqs = new Map<string, number>();
  private events: RegistryEvent[] = [];
  private revision = 0;
  private readonly tokens = new Map<string, TokenRow>();
  private readonly meta = new Map<string, string>();
  private closed = false;
  private vault: MemoryVaultStore | null = null;
  private federation: MemoryFederationStore | null = null;
  private identity: MemoryIdentityStore | null = null;
  private tasks: MemoryTaskStore | null = null;
  private prompts: MemoryPromptStore | null = null;
  private artifacts: MemoryArtifactStore | null = null;
  private a2aPush: MemoryA2aPushStore | null = null;

  // ---- vault, federation and identity ----

  /** The credential vault's store, kept in this process's memory like everything else here. */
  vaultStore(): VaultStore {
    this.vault ??= new MemoryVaultStore(() => this.check());
    return this.vault;
  }

  federationStore(): FederationStore {
    this.federation ??= new MemoryFederationStore(() => this.check());
    return this.federation;
  }

  /** Sign-in's users, sessions, factors and security log, in this process's memory too. */
  identityStore(): IdentityStore {
    this.identity ??= new MemoryIdentityStore(() => this.check());
    return this.identity;
  }

  /** kCore's tasks and events (issue 16), in memory: a restart forgets them. */
  taskStore(): MemoryTaskStore {
    this.tasks ??= new MemoryTaskStore(() => this.check());
    return this.tasks;
  }

  /** Prompts and their versions (issue 17), in memory: a restart forgets them. */
  promptStore(): MemoryPromptStore {
    this.prompts ??= new MemoryPromptStore(() => this.check());
    return this.prompts;
  }

  /** Artifact metadata and share links (issue 17), in memory: a restart forgets them. */
  artifactStore(): MemoryArtifactStore {
    this.artifacts ??= new MemoryArtifactStore(() => this.check());
    return this.artifacts;
  }

  /** A2A push notification configs (issue 16), in memory: a restart forgets them with the tasks. */
  a2aPushStore(): MemoryA2aPushStore {
    this.a2aPush ??= new MemoryA2aPushStore(() => this.check());
    return this.a2aPush;
  }

  /** The desired plugin installs (issue 18), in memory: a restart forgets them. */
  private pluginInstalls: MemoryPluginInstallStore | null = null;
  pluginInstallStore(): MemoryPluginInstallStore {
    this.pluginInstalls ??= new MemoryPluginInstallStore(() => this.check());
    return this.pluginInstalls;
  }

  /** Semantic memory's rows (issue 17), in memory: a restart forgets them. */
  private semanticMemory: MemorySemanticStore | null = null;
  semanticMemoryStore(): MemorySemanticStore {
    this.semanticMemory ??= new MemorySemanticStore(() => this.check());
    return this.semanticMemory;
  }

  private check(): void {
    if (this.closed) throw new Error("store is closed");
  }

  // ---- service records and events ----

  private apply(write: ServiceWrite): RegistryEvent {
    const current = this.services.get(write.record.id);
    if (write.expectedRevision !== undefined && (current?.revision ?? 0) !== write.expectedRevision) {
      throw new RevisionConflict(write.record.id, current?.revision ?? 0);
    }
    const record = structuredClone({ ...write.record, revision: ++this.revision }) as ServiceRecord;
    if (!current) this.seqs.set(record.id, record.revision);
    this.services.set(record.id, record);
    const event: RegistryEvent = { event: write.event, revision: record.revision, service: structuredClone(record) };
    this.events.push(event);
    return structuredClone(event);
  }

  async writeService(write: ServiceWrite): Promise<RegistryEvent> {
    this.check();
    return this.apply(write);
  }

  /** All or nothing: every expected revision is checked (in order, as if applied) before anything is written. */
  async writeServices(writes: ServiceWrite[]): Promise<RegistryEvent[]> {
    this.check();
    const pending = new Map<string, number>();
    let next = this.revision;
    for (const write of writes) {
      const id = write.record.id;
      const current = pending.get(id) ?? this.services.get(id)?.revision ?? 0;
      if (write.expectedRevision !== undefined && current !== write.expectedRevision) throw new RevisionConflict(id, current);
      pending.set(id, ++next);
    }
    return writes.map((write) => this.apply(write));
  }

  changeService(id: string, decide: ServiceDecision): Promise<ServiceChange> {
    return changeByRead(this, id, decide);
  }

  async deleteService(id: string, expectedRevision?: number): Promise<RegistryEvent | null> {
    this.check();
    return this.removeService(id, expectedRevision);
  }

  private removeService(id: string, expectedRevision?: number): RegistryEvent | null {
    const current = this.services.get(id);
    if (!current) return null;
    if (expectedRevision !== undefined && current.revision !== expectedRevision) throw new RevisionConflict(id, current.revision);
    this.services.delete(id);
    this.seqs.delete(id);
    const event: RegistryEvent = { event: "deregistered", revision: ++this.revision, service: structuredClone(current) };
    this.events.push(event);
    return structuredClone(event);
  }

  /** All or nothing: every expected revision is checked (in order, as if deleted) before anything is deleted. */
  async deleteServices(deletes: readonly ServiceDelete[]): Promise<Array<RegistryEvent | null>> {
    this.check();
    const gone = new Set<string>();
    for (const { id, expectedRevision } of deletes) {
      const current = gone.has(id) ? undefined : this.services.get(id);
      if (!current) continue;
      if (expectedRevision !== undefined && current.revision !== expectedRevision) throw new RevisionConflict(id, current.revision);
      gone.add(id);
    }
    return deletes.map(({ id }) => this.removeService(id));
  }

  async getService(id: string): Promise<ServiceRecord | null> {
    this.check();
    const record = this.services.get(id);
    return record ? structuredClone(record) : null;
  }

  async getServices(ids: readonly string[]): Promise<Array<ServiceRecord | null>> {
    this.check();
    return ids.map((id) => {
      const record = this.services.get(id);
      return record ? structuredClone(record) : null;
    });
  }

  async listServices(query: ServiceQuery): Promise<ServicePage> {
    this.check();
    const listing = orderOf(query);
    const after = query.cursor !== undefined ? decodeListCursor(query.cursor, query) : undefined;
    const sign = listing.order === "asc" ? 1 : -1;
    // (sort value, seq) in the listing's direction: the same keyset the SQL stores page by.
    const compare = (a: Positioned, b: Positioned) => sign * (compareSortValues(a.value, b.value) || a.seq - b.seq);
    const out: Positioned[] = [];
    for (const [id, record] of this.services) {
      if (!canSee(query.viewer, record) || !matchesFilter(record, query.filter)) continue;
      const row = { record, seq: this.seqs.get(id)!, value: serviceSortValue(record, listing.sort) };
      if (after !== undefined && compare(row, { record, seq: after.tie, value: after.value }) <= 0) continue;
      out.push(row);
    }
    // The map is in seq order already, so registration order needs no sort.
    if (listing.sort !== "registered" || listing.order !== "asc") out.sort(compare);
    const more = out.length > query.limit;
    const page = out.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      services: page.map((row) => structuredClone(row.record)),
      nextCursor: more && last ? encodeListCursor(query, last.value, last.seq) : null,
    };
  }

  async countServices(viewer: Viewer): Promise<Record<ServiceRecord["status"], number>> {
    this.check();
    const counts = Object.fromEntries(SERVICE_STATUSES.map((s) => [s, 0])) as Record<ServiceRecord["status"], number>;
    for (const record of this.services.values()) if (canSee(viewer, record)) counts[record.status]++;
    return counts;
  }

  async currentRevision(): Promise<number> {
    this.check();
    return this.revision;
  }

  async eventsSince(afterRevision: number, limit: number): Promise<RegistryEvent[] | "compacted"> {
    this.check();
    const oldest = this.events[0]?.revision ?? this.revision + 1;
    if (afterRevision < oldest - 1) return "compacted";
    return this.events.filter((event) => event.revision > afterRevision).slice(0, limit).map((event) => structuredClone(event));
  }

  async compactEvents(keep: number): Promise<void> {
    this.check();
    if (this.events.length > keep) this.events = this.events.slice(this.events.length - keep);
  }

  // ---- leases ----

  async listLeases(): Promise<LeaseRow[]> {
    this.check();
    return [...this.services.values()]
      .filter((record) => record.ttl !== undefined)
      .map((record) => ({
        id: record.id,
        ttl: record.ttl!,
        heartbeatAt: record.heartbeat ? Date.parse(record.heartbeat) : null,
        status: record.status,
        owner: record.owner,
        visibility: record.visibility,
        revision: record.revision,
        updatedAt: Date.parse(record.updatedAt),
      }));
  }

  async saveHeartbeats(beats: ReadonlyArray<{ id: string; at: number }>): Promise<void> {
    this.check();
    for (const { id, at } of beats) {
      const record = this.services.get(id);
      // Heartbeat times never move backwards (a late batch must not undo a newer one).
      if (record && (!record.heartbeat || Date.parse(record.heartbeat) < at)) record.heartbeat = new Date(at).toISOString();
    }
  }

  // ---- tokens ----

  async insertToken(token: TokenRow): Promise<void> {
    this.check();
    if (this.tokens.has(token.id)) throw new Error("duplicate token id");
    this.tokens.set(token.id, structuredClone(token));
  }

  async getToken(id: string): Promise<TokenRow | null> {
    this.check();
    const token = this.tokens.get(id);
    return token ? structuredClone(token) : null;
  }

  async listTokens(): Promise<TokenRow[]> {
    this.check();
    return [...this.tokens.values()].map((token) => structuredClone(token));
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    this.check();
    const token = this.tokens.get(id);
    if (!token) return false;
    token.revokedAt ??= at;
    return true;
  }

  // ---- node settings ----

  async getMeta(key: string): Promise<string | null> {
    this.check();
    return this.meta.get(key) ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.check();
    this.meta.set(key, value);
  }

  async claimMeta(key: string, value: string): Promise<string> {
    this.check();
    const stored = this.meta.get(key);
    if (stored !== undefined) return stored;
    this.meta.set(key, value);
    return value;
  }

  // ---- lifecycle ----

  async close(): Promise<void> {
    this.closed = true;
  }
}
