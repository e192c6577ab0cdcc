/**
 * @module storage/contracts/federation-store
 * The federation storage contract: the peers this node imports from (with each one's sync cursor) and the
 * records imported from them, kept as the signed statements they arrived as. Imported records live apart
 * from `services`, so the registry's owner rules, leases and health checks never touch them: they are
 * read-only by construction. The federation service keeps them in memory for queries and writes through.
 *
 * Rules every backend keeps:
 * - `applyImports` writes its upserts, deletes and cursor in one transaction: a node that crashes mid-sync
 *   resumes from the previous cursor and re-applies (statements are idempotent by origin revision).
 * - Deleting a peer deletes its imported records in the same transaction.
 */

export interface PeerRow {
  did: string;
  url: string;
  name: string | null;
  trusted: boolean;
  addedAt: string;
  /** The peer's revision this node holds everything through (0: nothing yet). */
  cursor: number;
  /** The peer's registry epoch `cursor` belongs to; null before the first sync. */
  epoch: string | null;
}

export interface ImportedRow {
  origin: string;
  serviceId: string;
  originRevision: number;
  /** ms since epoch. */
  expiresAt: number;
  /** The signed record statement, as JSON text. */
  statement: string;
}

export interface ImportBatch {
  origin: string;
  upserts: ImportedRow[];
  deletes: string[];
  /** Moves the peer's cursor (and epoch) in the same transaction. */
  cursor?: { revision: number; epoch: string };
}

export interface FederationStore {
  listPeers(): Promise<PeerRow[]>;
  /** Inserts or replaces the peer (cursor included). */
  savePeer(peer: PeerRow): Promise<void>;
  /** Removes the peer and every record imported from it; false when it was not there. */
  deletePeer(did: string): Promise<boolean>;
  /** Every imported record (loaded once at start). */
  listImports(): Promise<ImportedRow[]>;
  applyImports(batch: ImportBatch): Promise<void>;
  /** Drops imported records by key (expiry sweeps). */
  deleteImports(keys: ReadonlyArray<{ origin: string; serviceId: string }>): Promise<void>;
}
