/**
 * @module storage/memory/memory-federation-store
 * `FederationStore` in process memory, for `storage.kind: memory` (nothing survives a restart: a restarted
 * node re-imports everything from its peers, from revision 0).
 */
import type { FederationStore, ImportBatch, ImportedRow, PeerRow } from "../contracts/federation-store.js";

const key = (origin: string, serviceId: string) => `${origin}\n${serviceId}`;

export class MemoryFederationStore implements FederationStore {
  private readonly peers = new Map<string, PeerRow>();
  private readonly imports = new Map<string, ImportedRow>();

  constructor(private readonly check: () => void) {}

  async listPeers(): Promise<PeerRow[]> {
    this.check();
    return [...this.peers.values()].map((peer) => ({ ...peer })).sort((a, b) => a.addedAt.localeCompare(b.addedAt) || a.did.localeCompare(b.did));
  }

  async savePeer(peer: PeerRow): Promise<void> {
    this.check();
    this.peers.set(peer.did, { ...peer });
  }

  async deletePeer(did: string): Promise<boolean> {
    this.check();
    for (const [k, row] of this.imports) if (row.origin === did) this.imports.delete(k);
    return this.peers.delete(did);
  }

  async listImports(): Promise<ImportedRow[]> {
    this.check();
    return [...this.imports.values()].map((row) => ({ ...row }));
  }

  async applyImports(batch: ImportBatch): Promise<void> {
    this.check();
    for (const row of batch.upserts) this.imports.set(key(row.origin, row.serviceId), { ...row });
    for (const serviceId of batch.deletes) this.imports.delete(key(batch.origin, serviceId));
    const peer = this.peers.get(batch.origin);
    if (batch.cursor && peer) this.peers.set(batch.origin, { ...peer, cursor: batch.cursor.revision, epoch: batch.cursor.epoch });
  }

  async deleteImports(keys: ReadonlyArray<{ origin: string; serviceId: string }>): Promise<void> {
    this.check();
    for (const k of keys) this.imports.delete(key(k.origin, k.serviceId));
  }
}
