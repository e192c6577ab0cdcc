/**
 * @module storage/sqlite/sqlite-federation-store
 * The SQLite backend of `FederationStore`, on the backend's connection (sqlite-store.ts; tables of migration 4).
 * Reads run synchronously; writes join the backend's group-commit batches, each as one atomic entry,
 * so an import batch and its cursor commit together and resolve once durable.
 */
import type { Database, Statement } from "better-sqlite3";
import type { FederationStore, ImportBatch, ImportedRow, PeerRow } from "../contracts/federation-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

interface PeerDbRow {
  did: string;
  url: string;
  name: string | null;
  trusted: number;
  added_at: string;
  cursor: number;
  epoch: string | null;
}

interface ImportDbRow {
  origin: string;
  service_id: string;
  origin_revision: number;
  expires_at: number;
  statement: string;
}

export class SqliteFederationStore implements FederationStore {
  private readonly selectPeers: Statement<[], PeerDbRow>;
  private readonly upsertPeer: Statement<[PeerDbRow]>;
  private readonly removePeer: Statement<[string]>;
  private readonly removeImportsOf: Statement<[string]>;
  private readonly selectImports: Statement<[], ImportDbRow>;
  private readonly upsertImport: Statement<[ImportDbRow]>;
  private readonly removeImport: Statement<[string, string]>;
  private readonly moveCursor: Statement<[number, string, string]>;

  constructor(
    db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    this.selectPeers = db.prepare("SELECT did, url, name, trusted, added_at, cursor, epoch FROM federation_peers ORDER BY added_at, did");
    this.upsertPeer = db.prepare(
      `INSERT INTO federation_peers (did, url, name, trusted, added_at, cursor, epoch)
       VALUES (@did, @url, @name, @trusted, @added_at, @cursor, @epoch)
       ON CONFLICT (did) DO UPDATE SET url = excluded.url, name = excluded.name, trusted = excluded.trusted,
         added_at = excluded.added_at, cursor = excluded.cursor, epoch = excluded.epoch`,
    );
    this.removePeer = db.prepare("DELETE FROM federation_peers WHERE did = ?");
    this.removeImportsOf = db.prepare("DELETE FROM federation_imports WHERE origin = ?");
    this.selectImports = db.prepare("SELECT origin, service_id, origin_revision, expires_at, statement FROM federation_imports");
    this.upsertImport = db.prepare(
      `INSERT INTO federation_imports (origin, service_id, origin_revision, expires_at, statement)
       VALUES (@origin, @service_id, @origin_revision, @expires_at, @statement)
       ON CONFLICT (origin, service_id) DO UPDATE SET origin_revision = excluded.origin_revision,
         expires_at = excluded.expires_at, statement = excluded.statement`,
    );
    this.removeImport = db.prepare("DELETE FROM federation_imports WHERE origin = ? AND service_id = ?");
    this.moveCursor = db.prepare("UPDATE federation_peers SET cursor = ?, epoch = ? WHERE did = ?");
  }

  async listPeers(): Promise<PeerRow[]> {
    this.hooks.assertOpen();
    return this.selectPeers.all().map((row) => ({
      did: row.did,
      url: row.url,
      name: row.name,
      trusted: row.trusted === 1,
      addedAt: row.added_at,
      cursor: row.cursor,
      epoch: row.epoch,
    }));
  }

  savePeer(peer: PeerRow): Promise<void> {
    const row: PeerDbRow = { did: peer.did, url: peer.url, name: peer.name, trusted: peer.trusted ? 1 : 0, added_at: peer.addedAt, cursor: peer.cursor, epoch: peer.epoch };
    return this.hooks.enqueue(() => {
      this.upsertPeer.run(row);
    });
  }

  deletePeer(did: string): Promise<boolean> {
    return this.hooks.enqueue(() => {
      this.removeImportsOf.run(did);
      return this.removePeer.run(did).changes > 0;
    });
  }

  async listImports(): Promise<ImportedRow[]> {
    this.hooks.assertOpen();
    return this.selectImports.all().map((row) => ({
      origin: row.origin,
      serviceId: row.service_id,
      originRevision: row.origin_revision,
      expiresAt: row.expires_at,
      statement: row.statement,
    }));
  }

  applyImports(batch: ImportBatch): Promise<void> {
    return this.hooks.enqueue(() => {
      for (const row of batch.upserts) {
        this.upsertImport.run({ origin: row.origin, service_id: row.serviceId, origin_revision: row.originRevision, expires_at: row.expiresAt, statement: row.statement });
      }
      for (const serviceId of batch.deletes) this.removeImport.run(batch.origin, serviceId);
      if (batch.cursor) this.moveCursor.run(batch.cursor.revision, batch.cursor.epoch, batch.origin);
    });
  }

  deleteImports(keys: ReadonlyArray<{ origin: string; serviceId: string }>): Promise<void> {
    return this.hooks.enqueue(() => {
      for (const key of keys) this.removeImport.run(key.origin, key.serviceId);
    });
  }
}
