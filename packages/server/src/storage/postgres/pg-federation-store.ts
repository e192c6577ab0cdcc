/**
 * @module storage/postgres/pg-federation-store
 * The PostgreSQL backend of `FederationStore` (tables of migration 1). An import batch writes its upserts, deletes
 * and the peer's cursor in one transaction, so a sync that dies half-way resumes from the previous cursor; removing
 * a peer removes its imported records in the same transaction. Upserts go in as one `unnest` statement.
 */
import type { FederationStore, ImportBatch, ImportedRow, PeerRow } from "../contracts/federation-store.js";
import type { PgDatabase } from "./pg-database.js";

interface PeerDbRow {
  did: string;
  url: string;
  name: string | null;
  trusted: boolean;
  added_at: string;
  cursor: string;
  epoch: string | null;
  [column: string]: unknown;
}

interface ImportDbRow {
  origin: string;
  service_id: string;
  origin_revision: string;
  expires_at: string;
  statement: string;
  [column: string]: unknown;
}

const UPSERT_IMPORTS = `
  INSERT INTO federation_imports (origin, service_id, origin_revision, expires_at, statement)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])
  ON CONFLICT (origin, service_id) DO UPDATE SET origin_revision = excluded.origin_revision,
    expires_at = excluded.expires_at, statement = excluded.statement`;

export class PgFederationStore implements FederationStore {
  constructor(private readonly db: PgDatabase) {}

  async listPeers(): Promise<PeerRow[]> {
    const rows = await this.db.query<PeerDbRow>(
      `SELECT did, url, name, trusted, added_at, cursor, epoch FROM federation_peers ORDER BY added_at COLLATE "C", did COLLATE "C"`,
    );
    return rows.map((row) => ({
      did: row.did,
      url: row.url,
      name: row.name,
      trusted: row.trusted,
      addedAt: row.added_at,
      cursor: Number(row.cursor),
      epoch: row.epoch,
    }));
  }

  async savePeer(peer: PeerRow): Promise<void> {
    await this.db.query(
      `INSERT INTO federation_peers (did, url, name, trusted, added_at, cursor, epoch) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (did) DO UPDATE SET url = excluded.url, name = excluded.name, trusted = excluded.trusted,
         added_at = excluded.added_at, cursor = excluded.cursor, epoch = excluded.epoch`,
      [peer.did, peer.url, peer.name, peer.trusted, peer.addedAt, peer.cursor, peer.epoch],
    );
  }

  deletePeer(did: string): Promise<boolean> {
    return this.db.transaction(async (client) => {
      await client.query("DELETE FROM federation_imports WHERE origin = $1", [did]);
      const removed = await client.query("DELETE FROM federation_peers WHERE did = $1", [did]);
      return (removed.rowCount ?? 0) > 0;
    });
  }

  async listImports(): Promise<ImportedRow[]> {
    const rows = await this.db.query<ImportDbRow>("SELECT origin, service_id, origin_revision, expires_at, statement FROM federation_imports");
    return rows.map((row) => ({
      origin: row.origin,
      serviceId: row.service_id,
      originRevision: Number(row.origin_revision),
      expiresAt: Number(row.expires_at),
      statement: row.statement,
    }));
  }

  applyImports(batch: ImportBatch): Promise<void> {
    // The last upsert of a key wins, as if applied one by one (one INSERT cannot touch a row twice).
    const upserts = [...new Map(batch.upserts.map((row) => [`${row.origin}\n${row.serviceId}`, row])).values()];
    return this.db.transaction(async (client) => {
      if (upserts.length > 0) {
        await client.query(UPSERT_IMPORTS, [
          upserts.map((row) => row.origin),
          upserts.map((row) => row.serviceId),
          upserts.map((row) => row.originRevision),
          upserts.map((row) => row.expiresAt),
          upserts.map((row) => row.statement),
        ]);
      }
      if (batch.deletes.length > 0) {
        await client.query("DELETE FROM federation_imports WHERE origin = $1 AND service_id = ANY($2::text[])", [batch.origin, batch.deletes]);
      }
      if (batch.cursor) {
        await client.query("UPDATE federation_peers SET cursor = $1, epoch = $2 WHERE did = $3", [batch.cursor.revision, batch.cursor.epoch, batch.origin]);
      }
    });
  }

  async deleteImports(keys: ReadonlyArray<{ origin: string; serviceId: string }>): Promise<void> {
    if (keys.length === 0) {
      this.db.assertOpen();
      return;
    }
    await this.db.query(
      `DELETE FROM federation_imports f USING unnest($1::text[], $2::text[]) AS k(origin, service_id)
       WHERE f.origin = k.origin AND f.service_id = k.service_id`,
      [keys.map((key) => key.origin), keys.map((key) => key.serviceId)],
    );
  }
}
