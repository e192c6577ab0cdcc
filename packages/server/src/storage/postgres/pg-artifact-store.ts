/**
 * @module storage/postgres/pg-artifact-store
 * The PostgreSQL backend of `ArtifactStore` (tables of migration 7), shared by every instance of the node. The blob's
 * reference count is changed by one row update inside the artifact's own transaction (`INSERT … ON CONFLICT DO
 * UPDATE` to count, `UPDATE … RETURNING` to release), so concurrent adds and deletes of artifacts sharing a blob
 * take turns on that row and the count is exact; the row goes in the transaction that takes its last reference.
 */
import type { Artifact } from "@kai/protocol";
import type { AddedArtifact, ArtifactListQuery, ArtifactPage, ArtifactStore, DeletedArtifact, ShareRecord } from "../contracts/artifact-store.js";
import { decodeStored } from "../contracts/task-store.js";
import type { PgDatabase } from "./pg-database.js";

/** Migration 7. Ids sort by creation time (`COLLATE "C"`: byte order, as the other backends). */
export const ARTIFACT_SCHEMA = `
  CREATE TABLE artifact_blobs (
    sha256 text PRIMARY KEY,
    refs   integer NOT NULL
  );

  CREATE TABLE artifacts (
    id           text COLLATE "C" PRIMARY KEY,
    uploader     text NOT NULL,
    sha256       text NOT NULL,
    name         text NOT NULL,
    content_type text COLLATE "C" NOT NULL,
    doc          text NOT NULL
  );
  CREATE INDEX artifacts_uploader ON artifacts (uploader, id);
  CREATE INDEX artifacts_type ON artifacts (content_type, id);
  CREATE UNIQUE INDEX artifacts_same ON artifacts (uploader, sha256, name);

  CREATE TABLE artifact_tags (
    tag         text NOT NULL,
    artifact_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (tag, artifact_id)
  );
  CREATE INDEX artifact_tags_artifact ON artifact_tags (artifact_id);

  CREATE TABLE artifact_shares (
    id          text PRIMARY KEY,
    artifact_id text NOT NULL,
    owner       text NOT NULL,
    created_at  text NOT NULL,
    expires_at  text NOT NULL,
    revoked_at  text
  );
  CREATE INDEX artifact_shares_artifact ON artifact_shares (artifact_id);
`;

interface ShareRow {
  id: string;
  artifact_id: string;
  owner: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  [column: string]: unknown;
}

const decode = (row: { doc: string }): Artifact => decodeStored<Artifact>(row.doc, "artifact");

const shareOfRow = (row: ShareRow): ShareRecord => ({
  id: row.id,
  artifactId: row.artifact_id,
  owner: row.owner,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

export class PgArtifactStore implements ArtifactStore {
  constructor(private readonly db: PgDatabase) {}

  async addArtifact(artifact: Artifact): Promise<AddedArtifact> {
    const outcome = await this.db.transaction(async (client) => {
      const inserted = await client.query(
        `INSERT INTO artifacts (id, uploader, sha256, name, content_type, doc) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (uploader, sha256, name) DO NOTHING RETURNING id`,
        [artifact.id, artifact.uploader, artifact.sha256, artifact.name, artifact.contentType, JSON.stringify(artifact)],
      );
      if (inserted.rowCount === 0) return null;
      const counted = await client.query<{ refs: number }>(
        "INSERT INTO artifact_blobs (sha256, refs) VALUES ($1, 1) ON CONFLICT (sha256) DO UPDATE SET refs = artifact_blobs.refs + 1 RETURNING refs",
        [artifact.sha256],
      );
      if (artifact.tags.length > 0) {
        await client.query("INSERT INTO artifact_tags (tag, artifact_id) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING", [artifact.tags, artifact.id]);
      }
      return { blobExisted: Number(counted.rows[0]!.refs) > 1 };
    });
    if (outcome) return { artifact: structuredClone(artifact), created: true, blobExisted: outcome.blobExisted };
    const rows = await this.db.query<{ doc: string }>("SELECT doc FROM artifacts WHERE uploader = $1 AND sha256 = $2 AND name = $3", [artifact.uploader, artifact.sha256, artifact.name]);
    if (!rows[0]) throw new Error("the artifact this upload repeats vanished");
    return { artifact: decode(rows[0]), created: false, blobExisted: true };
  }

  async getArtifact(id: string): Promise<Artifact | null> {
    const rows = await this.db.query<{ doc: string }>("SELECT doc FROM artifacts WHERE id = $1", [id]);
    return rows[0] ? decode(rows[0]) : null;
  }

  async listArtifacts(query: ArtifactListQuery): Promise<ArtifactPage> {
    const where: string[] = [];
    const values: unknown[] = [];
    const bind = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    if (query.uploader !== undefined) where.push(`a.uploader = ${bind(query.uploader)}`);
    if (query.tag !== undefined) where.push(`EXISTS (SELECT 1 FROM artifact_tags t WHERE t.tag = ${bind(query.tag)} AND t.artifact_id = a.id)`);
    if (query.type !== undefined) {
      if (query.type.endsWith("/*")) {
        // A range on the prefix (byte order, so the index serves it and no LIKE wildcard needs escaping).
        const prefix = query.type.slice(0, -1);
        where.push(`a.content_type >= ${bind(prefix)} AND a.content_type < ${bind(`${prefix.slice(0, -1)}0`)}`);
      } else where.push(`a.content_type = ${bind(query.type)}`);
    }
    if (query.nameContains !== undefined) where.push(`strpos(lower(a.name), ${bind(query.nameContains.toLowerCase())}) > 0`);
    if (query.cursor !== undefined) where.push(`a.id < ${bind(query.cursor)}`);
    const sql = `SELECT a.doc FROM artifacts a ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY a.id DESC LIMIT ${bind(query.limit + 1)}`;
    const rows = await this.db.query<{ doc: string }>(sql, values);
    const artifacts = rows.slice(0, query.limit).map(decode);
    return { artifacts, nextCursor: rows.length > query.limit ? artifacts[artifacts.length - 1]!.id : null };
  }

  async deleteArtifact(id: string): Promise<DeletedArtifact | null> {
    return this.db.transaction(async (client) => {
      const removed = await client.query<{ doc: string }>("DELETE FROM artifacts WHERE id = $1 RETURNING doc", [id]);
      if (!removed.rows[0]) return null;
      const artifact = decode(removed.rows[0]);
      await client.query("DELETE FROM artifact_tags WHERE artifact_id = $1", [id]);
      await client.query("DELETE FROM artifact_shares WHERE artifact_id = $1", [id]);
      const released = await client.query<{ refs: number }>("UPDATE artifact_blobs SET refs = refs - 1 WHERE sha256 = $1 RETURNING refs", [artifact.sha256]);
      const left = Number(released.rows[0]?.refs ?? 0);
      if (left <= 0) await client.query("DELETE FROM artifact_blobs WHERE sha256 = $1 AND refs <= 0", [artifact.sha256]);
      return { artifact, blobReleased: left <= 0 };
    });
  }

  async blobReferences(sha256: string): Promise<number> {
    const rows = await this.db.query<{ refs: number }>("SELECT refs FROM artifact_blobs WHERE sha256 = $1", [sha256]);
    return Number(rows[0]?.refs ?? 0);
  }

  async listBlobDigests(after: string | null, limit: number): Promise<string[]> {
    // Keyset on the primary key (an index range scan per page): the comparison and the order are the column's
    // collation, whichever it is, so the pages neither skip nor repeat a digest.
    const rows =
      after === null
        ? await this.db.query<{ sha256: string }>("SELECT sha256 FROM artifact_blobs WHERE refs > 0 ORDER BY sha256 LIMIT $1", [limit])
        : await this.db.query<{ sha256: string }>("SELECT sha256 FROM artifact_blobs WHERE sha256 > $1 AND refs > 0 ORDER BY sha256 LIMIT $2", [after, limit]);
    return rows.map((row) => row.sha256);
  }

  async createShare(share: ShareRecord): Promise<void> {
    const rows = await this.db.query(
      `INSERT INTO artifact_shares (id, artifact_id, owner, created_at, expires_at, revoked_at)
       SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM artifacts WHERE id = $2) RETURNING id`,
      [share.id, share.artifactId, share.owner, share.createdAt, share.expiresAt, share.revokedAt],
    );
    if (rows.length === 0) throw new Error(`artifact ${share.artifactId} does not exist`);
  }

  async getShare(id: string): Promise<ShareRecord | null> {
    const rows = await this.db.query<ShareRow>("SELECT id, artifact_id, owner, created_at, expires_at, revoked_at FROM artifact_shares WHERE id = $1", [id]);
    return rows[0] ? shareOfRow(rows[0]) : null;
  }

  async revokeShare(id: string, at: string): Promise<boolean> {
    const rows = await this.db.query("UPDATE artifact_shares SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING id", [at, id]);
    return rows.length === 1;
  }
}
