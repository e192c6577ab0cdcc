/**
 * @module storage/sqlite/sqlite-artifact-store
 * The SQLite backend of `ArtifactStore` (tables of migration 11), on the backend's connection. Reads run
 * synchronously; an add (artifact, its tags, its blob's reference) or a delete (artifact, tags, shares, the blob's
 * release) is one atomic entry of the backend's group-commit batches, so it resolves once durable and is never
 * half-written. Each entry reads what it decides on inside itself, so a batch rolled back and run again decides the
 * same way.
 */
import type { Database, Statement } from "better-sqlite3";
import type { Artifact } from "@kai/protocol";
import type { AddedArtifact, ArtifactListQuery, ArtifactPage, ArtifactStore, DeletedArtifact, ShareRecord } from "../contracts/artifact-store.js";
import { decodeStored } from "../contracts/task-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

/**
 * Migration 11. `artifact_blobs.refs` counts the artifacts pointing at a blob; its row goes with the last one.
 * `artifacts_same` makes "this uploader already has these bytes under this name" one index probe. Ids sort by time.
 */
export const ARTIFACT_SCHEMA = `
  CREATE TABLE artifact_blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    refs   INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE artifacts (
    id           TEXT PRIMARY KEY NOT NULL,
    uploader     TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    doc          TEXT NOT NULL
  );
  CREATE INDEX artifacts_uploader ON artifacts (uploader, id);
  CREATE INDEX artifacts_type ON artifacts (content_type, id);
  CREATE UNIQUE INDEX artifacts_same ON artifacts (uploader, sha256, name);

  CREATE TABLE artifact_tags (
    tag         TEXT NOT NULL,
    artifact_id TEXT NOT NULL,
    PRIMARY KEY (tag, artifact_id)
  ) WITHOUT ROWID;
  CREATE INDEX artifact_tags_artifact ON artifact_tags (artifact_id);

  CREATE TABLE artifact_shares (
    id          TEXT PRIMARY KEY NOT NULL,
    artifact_id TEXT NOT NULL,
    owner       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT
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
}

const decode = (row: { doc: string }): Artifact => decodeStored<Artifact>(row.doc, "artifact");

export const shareOfRow = (row: ShareRow): ShareRecord => ({
  id: row.id,
  artifactId: row.artifact_id,
  owner: row.owner,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

export class SqliteArtifactStore implements ArtifactStore {
  private readonly selectSame: Statement<[string, string, string], { doc: string }>;
  private readonly selectRefs: Statement<[string], { refs: number }>;
  private readonly upsertBlob: Statement<[string]>;
  private readonly insertArtifact: Statement<[string, string, string, string, string, string]>;
  private readonly insertTag: Statement<[string, string]>;
  private readonly selectArtifact: Statement<[string], { doc: string }>;
  private readonly removeArtifact: Statement<[string], { doc: string }>;
  private readonly removeTags: Statement<[string]>;
  private readonly removeShares: Statement<[string]>;
  private readonly releaseBlob: Statement<[string], { refs: number }>;
  private readonly removeBlob: Statement<[string]>;
  private readonly insertShare: Statement<[string, string, string, string, string, string | null]>;
  private readonly selectShare: Statement<[string], ShareRow>;
  private readonly revoke: Statement<[string, string]>;
  private readonly shareExists: Statement<[string], { one: number }>;
  private readonly selectDigests: Statement<[string, number], { sha256: string }>;

  constructor(
    private readonly db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    this.selectSame = db.prepare("SELECT doc FROM artifacts WHERE uploader = ? AND sha256 = ? AND name = ?");
    this.selectRefs = db.prepare("SELECT refs FROM artifact_blobs WHERE sha256 = ?");
    this.upsertBlob = db.prepare("INSERT INTO artifact_blobs (sha256, refs) VALUES (?, 1) ON CONFLICT (sha256) DO UPDATE SET refs = refs + 1");
    this.insertArtifact = db.prepare("INSERT INTO artifacts (id, uploader, sha256, name, content_type, doc) VALUES (?, ?, ?, ?, ?, ?)");
    this.insertTag = db.prepare("INSERT OR IGNORE INTO artifact_tags (tag, artifact_id) VALUES (?, ?)");
    this.selectArtifact = db.prepare("SELECT doc FROM artifacts WHERE id = ?");
    this.removeArtifact = db.prepare("DELETE FROM artifacts WHERE id = ? RETURNING doc");
    this.removeTags = db.prepare("DELETE FROM artifact_tags WHERE artifact_id = ?");
    this.removeShares = db.prepare("DELETE FROM artifact_shares WHERE artifact_id = ?");
    this.releaseBlob = db.prepare("UPDATE artifact_blobs SET refs = refs - 1 WHERE sha256 = ? RETURNING refs");
    this.removeBlob = db.prepare("DELETE FROM artifact_blobs WHERE sha256 = ? AND refs <= 0");
    this.insertShare = db.prepare("INSERT INTO artifact_shares (id, artifact_id, owner, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)");
    this.selectShare = db.prepare("SELECT id, artifact_id, owner, created_at, expires_at, revoked_at FROM artifact_shares WHERE id = ?");
    this.revoke = db.prepare("UPDATE artifact_shares SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?");
    this.shareExists = db.prepare("SELECT 1 AS one FROM artifacts WHERE id = ?");
    this.selectDigests = db.prepare("SELECT sha256 FROM artifact_blobs WHERE sha256 > ? AND refs > 0 ORDER BY sha256 LIMIT ?");
  }

  addArtifact(artifact: Artifact): Promise<AddedArtifact> {
    const doc = JSON.stringify(artifact);
    return this.hooks.enqueue(() => {
      const same = this.selectSame.get(artifact.uploader, artifact.sha256, artifact.name);
      if (same) return { artifact: decode(same), created: false, blobExisted: true };
      const before = this.selectRefs.get(artifact.sha256)?.refs ?? 0;
      this.upsertBlob.run(artifact.sha256);
      this.insertArtifact.run(artifact.id, artifact.uploader, artifact.sha256, artifact.name, artifact.contentType, doc);
      for (const tag of artifact.tags) this.insertTag.run(tag, artifact.id);
      return { artifact: structuredClone(artifact), created: true, blobExisted: before > 0 };
    });
  }

  async getArtifact(id: string): Promise<Artifact | null> {
    this.hooks.assertOpen();
    const row = this.selectArtifact.get(id);
    return row ? decode(row) : null;
  }

  async listArtifacts(query: ArtifactListQuery): Promise<ArtifactPage> {
    this.hooks.assertOpen();
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.uploader !== undefined) {
      where.push("a.uploader = ?");
      values.push(query.uploader);
    }
    if (query.tag !== undefined) {
      where.push("EXISTS (SELECT 1 FROM artifact_tags t WHERE t.tag = ? AND t.artifact_id = a.id)");
      values.push(query.tag);
    }
    if (query.type !== undefined) {
      if (query.type.endsWith("/*")) {
        // A range on the prefix (the index serves it; no LIKE wildcards to escape): "image/" <= type < "image0".
        const prefix = query.type.slice(0, -1);
        where.push("a.content_type >= ? AND a.content_type < ?");
        values.push(prefix, `${prefix.slice(0, -1)}0`);
      } else {
        where.push("a.content_type = ?");
        values.push(query.type);
      }
    }
    if (query.nameContains !== undefined) {
      where.push("instr(lower(a.name), ?) > 0");
      values.push(query.nameContains.toLowerCase());
    }
    if (query.cursor !== undefined) {
      where.push("a.id < ?");
      values.push(query.cursor);
    }
    const sql = `SELECT a.doc FROM artifacts a ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY a.id DESC LIMIT ?`;
    const rows = this.db.prepare<unknown[], { doc: string }>(sql).all(...values, query.limit + 1);
    const artifacts = rows.slice(0, query.limit).map(decode);
    return { artifacts, nextCursor: rows.length > query.limit ? artifacts[artifacts.length - 1]!.id : null };
  }

  deleteArtifact(id: string): Promise<DeletedArtifact | null> {
    return this.hooks.enqueue(() => {
      const row = this.removeArtifact.get(id);
      if (!row) return null;
      const artifact = decode(row);
      this.removeTags.run(id);
      this.removeShares.run(id);
      const left = this.releaseBlob.get(artifact.sha256)?.refs ?? 0;
      if (left <= 0) this.removeBlob.run(artifact.sha256);
      return { artifact, blobReleased: left <= 0 };
    });
  }

  async blobReferences(sha256: string): Promise<number> {
    this.hooks.assertOpen();
    return this.selectRefs.get(sha256)?.refs ?? 0;
  }

  async listBlobDigests(after: string | null, limit: number): Promise<string[]> {
    this.hooks.assertOpen();
    // "" sorts before every digest.
    return this.selectDigests.all(after ?? "", limit).map((row) => row.sha256);
  }

  createShare(share: ShareRecord): Promise<void> {
    return this.hooks.enqueue(() => {
      if (!this.shareExists.get(share.artifactId)) throw new Error(`artifact ${share.artifactId} does not exist`);
      this.insertShare.run(share.id, share.artifactId, share.owner, share.createdAt, share.expiresAt, share.revokedAt);
    });
  }

  async getShare(id: string): Promise<ShareRecord | null> {
    this.hooks.assertOpen();
    const row = this.selectShare.get(id);
    return row ? shareOfRow(row) : null;
  }

  revokeShare(id: string, at: string): Promise<boolean> {
    return this.hooks.enqueue(() => this.revoke.run(at, id).changes === 1);
  }
}
