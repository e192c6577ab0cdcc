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
 *
 * In a cluster (several instances on one database, `coordination` set), every instance answers peers and serves
 * the peer list and imported records from memory, but only the leader runs the peer links and the expiry sweep
 * (`startLinks`/`stopLinks`, the `federation-links` singleton job). Each committed change is announced to the
 * other instances, which re-read it from the store (instance-sync.ts); the leader starts or stops links for peers
 * changed elsewhere. See docs/architecture/klp.md, "Federation in a cluster".
 */
import { klp } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import type { ChangeFeed } from "../registry/change-feed.js";
import type { FederationStore, ImportedRow, PeerRow } from "../storage/contracts/federation-store.js";
import type { NodeStore } from "../storage/contracts/node-store.js";
import { fetchNodeDocument, type KlpPeerSession } from "../klp/peer-session.js";
import { describePeerFailure } from "../klp/peer-failure.js";
import type { KlpFederationPort } from "../klp/klp-node.js";
import { FederationExporter, type PushTarget } from "./exporter.js";
import { remoteEntryOf } from "./remote-entries.js";
import { ImportedDirectory, entryFromRow } from "./imported-directory.js";
import { FederationImporter } from "./importer.js";
import { PeerLink } from "./peer-link.js";
import { linkStatus, type FederationCoordination, type LinkStatus } from "./coordination.js";
import { noChanges, type FederationChanges } from "./change-batcher.js";
import { InstanceSync } from "./instance-sync.js";
import { syncOrigin } from "./directory-sync.js";

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
  /** Reads and checks a node's signed document (adding a peer); the KLP node's, over its peer TLS. Default: Node's TLS. */
  readNodeDocument?: (url: string) => Promise<klp.KlpNodeDocument>;
  now?: () => number;
  /**
   * Set when several instances of this node share the database: links and the expiry sweep then run only
   * between `startLinks()` and `stopLinks()` (the singleton job), and changes reach the other instances through
   * it. Without it (one process), they run from `start()` to `close()`.
   */
  coordination?: FederationCoordination;
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
  /** True while this instance runs the peer links and the sweep (always in one process; the leader in a cluster). */
  private linksRunning = false;
  /** Changes to peers, links and reloads run one after another: a reload must not interleave with an API change. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly sync: InstanceSync | null;
  /** On an instance that runs no links: the leader's link states, as it announced them. */
  private readonly leaderLinks = new Map<string, LinkStatus>();

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
    this.sync = options.coordination
      ? new InstanceSync({ coordination: options.coordination, reload: (changes) => this.reloadFromStore(changes), logger: options.logger })
      : null;
    this.importer = new FederationImporter(
      options.store,
      this.directory,
      (did, code) => this.countRejection(did, code),
      this.now,
      (origin) => this.sync?.announce({ origin }),
    );
  }

  /**
   * Loads peers and imported records; in one process, also starts a link per trusted peer and the expiry sweep.
   * In a cluster those wait for `startLinks()`, and this instance listens to the others from here on (it
   * subscribed before loading, so a change committed meanwhile is re-read, not missed).
   */
  static async start(options: FederationServiceOptions): Promise<FederationService> {
    const service = new FederationService(options);
    try {
      await service.serial(async () => {
        for (const peer of await options.store.listPeers()) service.peers.set(peer.did, peer);
        for (const row of await options.store.listImports()) {
          const entry = entryFromRow(row);
          // Only what a trusted peer's link would keep; a row that no longer parses is dropped at the next sweep.
          if (entry && service.peers.get(entry.origin)?.trusted) service.directory.put(entry, false);
        }
        if (!options.coordination) service.runLinks();
      });
    } catch (error) {
      await service.close();
      throw error;
    }
    return service;
  }

  /**
   * Starts the peer links and the expiry sweep on this instance (it became the leader). In a cluster, first
   * re-reads peers (with the cursors the previous leader reached) and imported records from the store, so links
   * resume where it stopped; then tells the others to re-read everything, in case it died before announcing its
   * last batch. A no-op while they run (in one process, from `start()` on).
   */
  async startLinks(): Promise<void> {
    let started = false;
    await this.serial(async () => {
      if (this.closed || this.linksRunning) return;
      if (this.options.coordination) {
        await this.reload({ ...noChanges(), all: true, peers: true });
        await this.purgeUntrusted();
      }
      this.runLinks();
      started = true;
    });
    if (started) this.sync?.announce({ all: true });
  }

  /**
   * Stops the peer links and the sweep (this instance is no longer the leader); resolves once no batch of
   * theirs can still be written, and what they imported has been announced to the other instances.
   */
  async stopLinks(): Promise<void> {
    await this.serial(async () => {
      if (!this.linksRunning) return;
      this.linksRunning = false;
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = null;
      await Promise.all([...this.links.keys()].map((did) => this.stopLink(did)));
    });
    await this.sync?.flush();
  }

  /** True while this instance runs the peer links (the leader of a cluster, or the one process). */
  get runsLinks(): boolean {
    return this.linksRunning;
  }

  /**
   * Brings peers and imported records up to the store after another instance changed them (its signal, batched
   * by instance-sync.ts). On the leader, peers added, changed or trusted elsewhere get their link started, and
   * removed or untrusted ones lose it.
   */
  async reloadFromStore(changes: FederationChanges): Promise<void> {
    await this.serial(() => this.reload(changes));
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
      document = await (this.options.readNodeDocument ?? ((url: string) => fetchNodeDocument(url, 10_000)))(input.url);
    } catch (error) {
      // Why, not only that: an untrusted certificate, plain HTTP on an https:// URL and a refused port each have their own fix.
      const reason = error instanceof klp.KlpError ? error.message : describePeerFailure(error, input.url);
      throw new ApiError("peer_unreachable", `cannot read the peer's KLP node document: ${reason}`);
    }
    if (input.did !== undefined && document.did !== input.did) {
      throw new ApiError("peer_identity_mismatch", `the node at that URL is ${document.did}, not the pinned ${input.did}`);
    }
    if (document.did === this.options.did) throw new ApiError("validation_failed", "that URL is this node itself", [{ path: "url", message: "is this node" }]);
    return this.serial(() => this.putPeer(input, document));
  }

  private async putPeer(input: klp.AddPeerRequest, document: klp.KlpNodeDocument): Promise<{ peer: klp.PeerInfo; created: boolean }> {
    const existing = await this.storedPeer(document.did);
    const trusted = input.trusted ?? existing?.trusted ?? true;
    // Trust given or withdrawn here starts over from nothing, as with setTrusted: the records were (or are) dropped.
    const resume = existing !== undefined && existing.trusted === trusted;
    const peer: PeerRow = {
      did: document.did,
      url: input.url,
      name: input.name ?? existing?.name ?? document.name,
      trusted,
      addedAt: existing?.addedAt ?? new Date(this.now()).toISOString(),
      cursor: resume ? existing.cursor : 0,
      epoch: resume ? existing.epoch : null,
    };
    // A changed URL is a new place to sync from: keep the cursor (same DID, same history), reconnect.
    await this.options.store.savePeer(peer);
    this.peers.set(peer.did, peer);
    this.leaderLinks.delete(peer.did);
    await this.stopLink(peer.did);
    if (peer.trusted) this.startLink(peer);
    else await this.dropImports(peer.did);
    this.sync?.announce({ peers: true });
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

  removePeer(did: string): Promise<void> {
    return this.serial(async () => {
      if (!(await this.storedPeer(did))) throw new ApiError("not_found", "peer not found");
      await this.stopLink(did);
      this.peers.delete(did);
      await this.options.store.deletePeer(did);
      this.importer.forget(did);
      this.rejected.delete(did);
      this.leaderLinks.delete(did);
      this.sync?.announce({ peers: true });
    });
  }

  setTrusted(did: string, trusted: boolean): Promise<klp.PeerInfo> {
    return this.serial(async () => {
      const peer = await this.storedPeer(did);
      if (!peer) throw new ApiError("not_found", "peer not found");
      if (peer.trusted !== trusted) {
        // Withdrawn trust starts over from nothing when given back: the records were dropped, so must the cursor be.
        // Reset on both edges: in a cluster the leader's link may still move the cursor between the two.
        const next: PeerRow = { ...peer, trusted, cursor: 0, epoch: null };
        await this.stopLink(did);
        await this.options.store.savePeer(next);
        this.peers.set(did, next);
        this.leaderLinks.delete(did);
        if (trusted) this.startLink(next);
        else await this.dropImports(did);
        this.sync?.announce({ peers: true });
      }
      return this.info(this.peers.get(did)!);
    });
  }

  /**
   * Restarts every trusted peer's link now (after the node key came back from the vault: links that failed
   * meanwhile would otherwise wait out their backoff). Nothing to do on an instance that runs no links.
   */
  reconnectAll(): Promise<void> {
    return this.serial(async () => {
      if (!this.linksRunning) return;
      for (const peer of this.peers.values()) {
        if (!peer.trusted) continue;
        await this.stopLink(peer.did);
        this.startLink(this.peers.get(peer.did)!);
      }
    });
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
    this.linksRunning = false;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.exporter.close();
    await Promise.all([...this.links.keys()].map((did) => this.stopLink(did)));
    // What the links imported last is announced before leaving (the next leader re-reads everything anyway).
    await this.sync?.close();
  }

  /** Runs `work` after every change queued before it (see `queue`). */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Starts a link per trusted peer and the expiry sweep on this instance. */
  private runLinks(): void {
    if (this.closed) return;
    this.linksRunning = true;
    this.leaderLinks.clear();
    for (const peer of this.peers.values()) if (peer.trusted) this.startLink(peer);
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.settings.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /**
   * A peer as it is now. In a cluster, read from the store: another instance may have added, changed or removed
   * it a moment ago, and its cursor moves with the leader's links (this instance's copy may lag behind).
   */
  private async storedPeer(did: string): Promise<PeerRow | undefined> {
    if (!this.options.coordination) return this.peers.get(did);
    return (await this.options.store.listPeers()).find((peer) => peer.did === did);
  }

  private async reload(changes: FederationChanges): Promise<void> {
    if (this.closed) return;
    // News of the leader's links; an instance running its own (the leader, or one about to be) ignores it.
    if (!this.linksRunning) for (const [did, status] of changes.links) this.leaderLinks.set(did, status);
    const origins = new Set(changes.origins);
    let dropped = false;
    if (changes.all || changes.peers) {
      const outcome = await this.reloadPeers();
      for (const did of outcome.trusted) origins.add(did);
      dropped = outcome.dropped;
    }
    if (changes.all || origins.size > 0) {
      // Peers are few and imports are read whole (the store reads no single origin); batching keeps this rare.
      const byOrigin = new Map<string, ImportedRow[]>();
      for (const row of await this.options.store.listImports()) {
        if (!changes.all && !origins.has(row.origin)) continue;
        let rows = byOrigin.get(row.origin);
        if (!rows) byOrigin.set(row.origin, (rows = []));
        rows.push(row);
      }
      const targets = changes.all ? new Set([...byOrigin.keys(), ...this.peers.keys()]) : origins;
      // On the leader its own links write at the same time: a read taken a moment ago must not undo them.
      const mode = this.linksRunning ? "merge" : "replace";
      for (const origin of targets) if (this.peers.get(origin)?.trusted) syncOrigin(this.directory, origin, byOrigin.get(origin) ?? [], mode);
    }
    if (dropped && this.linksRunning) await this.purgeUntrusted();
  }

  /**
   * Re-reads the peer list and applies the differences: removed or untrusted peers lose their link and records
   * (the store side was done by the instance that changed them); on the leader, new, re-trusted or moved peers
   * get a link, from the cursor in the store. Returns the peers whose records must be (re)read.
   */
  private async reloadPeers(): Promise<{ trusted: string[]; dropped: boolean }> {
    const rows = await this.options.store.listPeers();
    const stored = new Map(rows.map((row) => [row.did, row]));
    let dropped = false;
    for (const did of [...this.peers.keys()]) {
      if (stored.has(did)) continue;
      await this.stopLink(did);
      this.peers.delete(did);
      this.importer.forget(did);
      this.rejected.delete(did);
      this.leaderLinks.delete(did);
      dropped = true;
    }
    const trusted: string[] = [];
    for (const row of rows) {
      const held = this.peers.get(row.did);
      // The store's row wins (name, cursor): a running link's own cursor is what `info` shows meanwhile.
      this.peers.set(row.did, row);
      if (!row.trusted) {
        if (held?.trusted) {
          await this.stopLink(row.did);
          this.peers.set(row.did, row);
          this.importer.forget(row.did);
          this.leaderLinks.delete(row.did);
          dropped = true;
        }
        continue;
      }
      if (!held || !held.trusted || held.url !== row.url) {
        await this.stopLink(row.did);
        this.peers.set(row.did, row);
        this.startLink(row);
        trusted.push(row.did);
      }
    }
    return { trusted, dropped };
  }

  /**
   * On the leader: drops stored records whose origin is no longer a trusted peer. The instance that removed or
   * untrusted a peer dropped them already, but a batch of this instance's link may have landed just after.
   */
  private async purgeUntrusted(): Promise<void> {
    const stray = (await this.options.store.listImports()).filter((row) => !this.peers.get(row.origin)?.trusted);
    if (stray.length > 0) await this.options.store.deleteImports(stray.map((row) => ({ origin: row.origin, serviceId: row.serviceId })));
  }

  private startLink(peer: PeerRow): void {
    if (this.closed || !this.linksRunning) return;
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
      // Only a link this instance keeps running is news: one stopped because leadership moved is not.
      onStateChange: (state, lastError) => {
        if (this.linksRunning && this.links.get(peer.did) === link) this.sync?.announce({ link: linkStatus(peer.did, state, lastError) });
      },
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
    this.sync?.announce({ origin: did });
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
    // Another instance's link: its state and error as announced; contact time and lag stay with the leader.
    const remote = link || this.linksRunning ? undefined : this.leaderLinks.get(peer.did);
    const cursor = link?.cursor ?? peer.cursor;
    return {
      did: peer.did,
      url: peer.url,
      ...(peer.name !== null ? { name: peer.name } : {}),
      trusted: peer.trusted,
      addedAt: peer.addedAt,
      state: !peer.trusted ? "untrusted" : (link?.state ?? remote?.state ?? "disconnected"),
      lastContact: link?.lastContact != null ? new Date(link.lastContact).toISOString() : null,
      lastError: link?.lastError ?? remote?.lastError ?? null,
      cursor,
      lagRevisions: link?.lagRevisions ?? 0,
      importedRecords: this.directory.countFrom(peer.did),
      rejected: Object.fromEntries(this.rejected.get(peer.did) ?? []),
    };
  }
}
