/**
 * @module federation/federation-service
 * Registry federation on this node: the peer list (`/api/peers`, `kai peer …`), one sync link per trusted
 * peer, the exporter that answers peers' `state_sync`, the directory of imported records, the expiry sweep,
 * and each peer's liveness and sync state (for `/api/peers` and `/metrics`).
 *
 * Peering is one-way trust: adding a peer means "import that node's public records, checked against the
 * DID pinned here". The peer does not have to add us back for that; two nodes that add each other
 * exchange both ways. Removing a peer, or withdrawing its trust, drops its records and cuts the link: its
 * pushes can no longer arrive (the session is closed) and nothing from it is applied.
 */
import { klp } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import type { ChangeFeed } from "../registry/change-feed.js";
import type { FederationStore, PeerRow } from "../storage/contracts/federation-store.js";
import type { NodeStore } from "../storage/contracts/node-store.js";
import { fetchNodeDocument, type KlpPeerSession } from "../klp/peer-session.js";
import type { KlpFederationPort } from "../klp/klp-node.js";
import { FederationExporter, type PushTarget } from "./exporter.js";
import { remoteEntryOf } from "./remote-entries.js";
import { ImportedDirectory, entryFromRow } from "./imported-directory.js";
import { FederationImporter } from "./importer.js";
import { PeerLink } from "./peer-link.js";

export interface FederationSettings {
  /** Who may pull this node's public records: any node that proves its key, or only this node's peers. */
  exportTo: "anyone" | "peers" | "none";
  pullIntervalMs: number;
  refreshIntervalMs: number;
  recordTtlSeconds: number;
  sweepIntervalMs: number;
}

export interface FederationServiceOptions {
  store: FederationStore;
  registryStore: NodeStore;
  feed: ChangeFeed;
  /** This node's DID, and its key pair (throws `vault_locked` while the node key is sealed). */
  did: string;
  identity: () => klp.KlpKeyPair;
  epoch: string;
  settings: FederationSettings;
  logger: Logger;
  /** Opens a KLP session to a peer (pinned DID); the KLP node's `connect` over WebSocket. */
  connect: (url: string, did: string) => Promise<KlpPeerSession>;
  now?: () => number;
}

export class FederationService implements KlpFederationPort {
  readonly directory = new ImportedDirectory();
  readonly exporter: FederationExporter;
  private readonly importer: FederationImporter;
  private readonly peers = new Map<string, PeerRow>();
  private readonly links = new Map<string, PeerLink>();
  private readonly rejected = new Map<string, Map<klp.KlpErrorCode, number>>();
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(private readonly options: FederationServiceOptions) {
    this.now = options.now ?? Date.now;
    this.exporter = new FederationExporter({
      store: options.registryStore,
      feed: options.feed,
      identity: options.identity,
      epoch: options.epoch,
      recordTtlSeconds: options.settings.recordTtlSeconds,
      logger: options.logger,
      now: this.now,
    });
    this.importer = new FederationImporter(options.store, this.directory, (did, code) => this.countRejection(did, code), this.now);
  }

  /** Loads peers and imported records, starts a link per trusted peer and the expiry sweep. */
  static async start(options: FederationServiceOptions): Promise<FederationService> {
    const service = new FederationService(options);
    for (const peer of await options.store.listPeers()) service.peers.set(peer.did, peer);
    for (const row of await options.store.listImports()) {
      const entry = entryFromRow(row);
      // Only what a trusted peer's link would keep; a row that no longer parses is dropped at the next sweep.
      if (entry && service.peers.get(entry.origin)?.trusted) service.directory.put(entry, false);
    }
    for (const peer of service.peers.values()) if (peer.trusted) service.startLink(peer);
    service.sweepTimer = setInterval(() => void service.sweep(), options.settings.sweepIntervalMs);
    service.sweepTimer.unref();
    return service;
  }

  /** Rule 6 for imported state: only trusted peers' pushes and answers are applied. */
  isTrustedPeer(did: string): boolean {
    return this.peers.get(did)?.trusted === true;
  }

  /** Rule 6 for `state_sync` requests: public records go to anyone who proves a key, unless limited to peers. */
  mayPull(did: string): boolean {
    const { exportTo } = this.options.settings;
    return exportTo === "anyone" || (exportTo === "peers" && this.isTrustedPeer(did));
  }

  // ---- the KLP node's federation port (klp/klp-node.ts) ----

  answerStateSync(request: klp.StateSyncRequest): Promise<klp.StateSyncAnswer> {
    return this.exporter.answer(request);
  }

  subscribe(target: PushTarget): () => void {
    return this.exporter.subscribe(target);
  }

  /** Imported records as KLP discovery entries, vouched for by their origin (or the service's own key). */
  remoteEntries(query: klp.KlpDiscoveryQuery, limit: number): klp.KlpDiscoveryEntry[] {
    const filter = query.capabilities?.length ? { capability: query.capabilities } : {};
    const entries: klp.KlpDiscoveryEntry[] = [];
    let cursor: string | undefined;
    do {
      const page = this.directory.query(filter, Math.max(limit, 100), cursor);
      for (const record of page.services) {
        const entry = remoteEntryOf(record);
        if (!entry || (query.trustLevel !== undefined && entry.trustLevel < query.trustLevel)) continue;
        entries.push(entry);
        if (entries.length >= limit) return entries;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return entries;
  }

  /** Adds (or updates) a peer. Without `did`, pins the one its node document names; with it, refuses another. */
  async addPeer(input: klp.AddPeerRequest): Promise<{ peer: klp.PeerInfo; created: boolean }> {
    let document: klp.KlpNodeDocument;
    try {
      document = await fetchNodeDocument(input.url, 10_000);
    } catch (error) {
      const reason = error instanceof klp.KlpError ? error.message : "the node could not be reached";
      throw new ApiError("peer_unreachable", `cannot read the peer's KLP node document: ${reason}`);
    }
    if (input.did !== undefined && document.did !== input.did) {
      throw new ApiError("peer_identity_mismatch", `the node at that URL is ${document.did}, not the pinned ${input.did}`);
    }
    if (document.did === this.options.did) throw new ApiError("validation_failed", "that URL is this node itself", [{ path: "url", message: "is this node" }]);
    const existing = this.peers.get(document.did);
    const peer: PeerRow = {
      did: document.did,
      url: input.url,
      name: input.name ?? existing?.name ?? document.name,
      trusted: input.trusted ?? existing?.trusted ?? true,
      addedAt: existing?.addedAt ?? new Date(this.now()).toISOString(),
      cursor: existing?.cursor ?? 0,
      epoch: existing?.epoch ?? null,
    };
    // A changed URL is a new place to sync from: keep the cursor (same DID, same history), reconnect.
    await this.options.store.savePeer(peer);
    this.peers.set(peer.did, peer);
    await this.stopLink(peer.did);
    if (peer.trusted) this.startLink(peer);
    else await this.dropImports(peer.did);
    return { peer: this.info(peer), created: existing === undefined };
  }

  listPeers(): klp.PeerInfo[] {
    return [...this.peers.values()].map((peer) => this.info(peer));
  }

  getPeer(did: string): klp.PeerInfo {
    const peer = this.peers.get(did);
    if (!peer) throw new ApiError("not_found", "peer not found");
    return this.info(peer);
  }

  async removePeer(did: string): Promise<void> {
    if (!this.peers.has(did)) throw new ApiError("not_found", "peer not found");
    await this.stopLink(did);
    this.peers.delete(did);
    await this.options.store.deletePeer(did);
    this.importer.forget(did);
    this.rejected.delete(did);
  }

  async setTrusted(did: string, trusted: boolean): Promise<klp.PeerInfo> {
    const peer = this.peers.get(did);
    if (!peer) throw new ApiError("not_found", "peer not found");
    if (peer.trusted !== trusted) {
      // Withdrawn trust starts over from nothing when given back: the records were dropped, so must the cursor be.
      const next: PeerRow = { ...peer, trusted, ...(trusted ? {} : { cursor: 0, epoch: null }) };
      await this.stopLink(did);
      await this.options.store.savePeer(next);
      this.peers.set(did, next);
      if (trusted) this.startLink(next);
      else await this.dropImports(did);
    }
    return this.info(this.peers.get(did)!);
  }

  /**
   * Restarts every trusted peer's link now (after the node key came back from the vault: links that failed
   * meanwhile would otherwise wait out their backoff).
   */
  async reconnectAll(): Promise<void> {
    for (const peer of this.peers.values()) {
      if (!peer.trusted) continue;
      await this.stopLink(peer.did);
      this.startLink(this.peers.get(peer.did)!);
    }
  }

  /** Pulls from every connected peer now (tests and `kai peer sync`); resolves when each is caught up or failed. */
  async syncAll(): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.syncNow().catch(() => undefined)));
  }

  countRejection(did: string, code: klp.KlpErrorCode): void {
    let counts = this.rejected.get(did);
    if (!counts) this.rejected.set(did, (counts = new Map()));
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.exporter.close();
    await Promise.all([...this.links.keys()].map((did) => this.stopLink(did)));
  }

  private startLink(peer: PeerRow): void {
    if (this.closed) return;
    const link = new PeerLink({
      did: peer.did,
      url: peer.url,
      cursor: peer.cursor,
      epoch: peer.epoch,
      connect: this.options.connect,
      importer: this.importer,
      logger: this.options.logger,
      pullIntervalMs: this.options.settings.pullIntervalMs,
      refreshIntervalMs: this.options.settings.refreshIntervalMs,
      onRejected: (code) => this.countRejection(peer.did, code),
    });
    this.links.set(peer.did, link);
    link.start();
  }

  private async stopLink(did: string): Promise<void> {
    const link = this.links.get(did);
    if (!link) return;
    this.links.delete(did);
    // Keep the cursor the link reached, so a restart of the link resumes there.
    const peer = this.peers.get(did);
    if (peer) this.peers.set(did, { ...peer, cursor: link.cursor });
    await link.stop();
  }

  private async dropImports(did: string): Promise<void> {
    const entries = this.directory.entriesFrom(did);
    if (entries.length > 0) await this.options.store.deleteImports(entries.map((entry) => ({ origin: did, serviceId: entry.serviceId })));
    this.importer.forget(did);
  }

  private async sweep(): Promise<void> {
    try {
      const dropped = await this.importer.sweepExpired();
      if (dropped > 0) this.options.logger.info({ dropped }, "imported records expired (their origin stopped refreshing them)");
    } catch (error) {
      this.options.logger.warn({ err: error }, "federation expiry sweep failed");
    }
  }

  private info(peer: PeerRow): klp.PeerInfo {
    const link = this.links.get(peer.did);
    const cursor = link?.cursor ?? peer.cursor;
    return {
      did: peer.did,
      url: peer.url,
      ...(peer.name !== null ? { name: peer.name } : {}),
      trusted: peer.trusted,
      addedAt: peer.addedAt,
      state: !peer.trusted ? "untrusted" : (link?.state ?? "disconnected"),
      lastContact: link?.lastContact != null ? new Date(link.lastContact).toISOString() : null,
      lastError: link?.lastError ?? null,
      cursor,
      lagRevisions: link?.lagRevisions ?? 0,
      importedRecords: this.directory.countFrom(peer.did),
      rejected: Object.fromEntries(this.rejected.get(peer.did) ?? []),
    };
  }
}
