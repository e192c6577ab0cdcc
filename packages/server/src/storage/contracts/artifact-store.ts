/**
 * @module storage/contracts/artifact-store
 * Where artifact metadata lives (issue 17): the artifacts, the blobs they point at with a reference count, and the
 * share links. The bytes are not here but in a blob store (artifacts/blob-store.ts), addressed by SHA-256; this store
 * decides when a blob is still referenced. Adding an artifact and counting its blob's reference is one transaction,
 * and so is removing one and releasing its blob: a blob is released exactly when its last artifact goes, never
 * while one still points at it. Every backend (memory, SQLite, PostgreSQL) passes the contract suite
 * (test/artifacts/artifact-store-contract.ts).
 */
import type { Artifact } from "@kai/protocol";

/** What `addArtifact` did. */
export interface AddedArtifact {
  /** The artifact stored, or the uploader's existing one with the same bytes and name (then `created` is false). */
  artifact: Artifact;
  created: boolean;
  /** The blob was referenced before this call (its bytes were already stored). */
  blobExisted: boolean;
}

/** What `deleteArtifact` did. */
export interface DeletedArtifact {
  artifact: Artifact;
  /** The artifact was its blob's last reference: the blob's bytes may be removed now. */
  blobReleased: boolean;
}

export interface ArtifactListQuery {
  /** Only this uploader's artifacts (absent: every uploader's, for an admin). */
  uploader?: string;
  tag?: string;
  /** An exact content type, or `type/*`. */
  type?: string;
  /** A case-insensitive substring of the name. */
  nameContains?: string;
  limit: number;
  /** The `nextCursor` of the previous page (an artifact id: listing is newest first by id). */
  cursor?: string;
}

export interface ArtifactPage {
  artifacts: Artifact[];
  nextCursor: string | null;
}

/** A share link as stored: the token itself is never stored (it is signed; this row is what makes it revocable). */
export interface ShareRecord {
  id: string;
  artifactId: string;
  /** Who made it (its artifact's uploader or an admin). */
  owner: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface ArtifactStore {
  /**
   * Stores `artifact` and counts a reference to its blob (`sha256`, created with one reference when new), in one
   * transaction. When the uploader already has an artifact with the same bytes and name, nothing is stored and that
   * artifact is returned (`created: false`).
   */
  addArtifact(artifact: Artifact): Promise<AddedArtifact>;
  getArtifact(id: string): Promise<Artifact | null>;
  /** Newest first, with a keyset cursor. */
  listArtifacts(query: ArtifactListQuery): Promise<ArtifactPage>;
  /**
   * Removes the artifact and its share links and releases its blob reference, in one transaction. The blob's row
   * goes with its last reference (`blobReleased`). Null when the artifact does not exist (a second delete).
   */
  deleteArtifact(id: string): Promise<DeletedArtifact | null>;
  /** How many artifacts point at the blob (0: none, the blob is not referenced). */
  blobReferences(sha256: string): Promise<number>;
  /**
   * Up to `limit` digests of referenced blobs (those with at least one artifact), in the backend's order of digests,
   * after `after` (null: from the first): the garbage collection (artifacts/blob-sweep.ts) walks every referenced blob
   * with it, a page at a time, passing the last digest of a page as the next `after`.
   */
  listBlobDigests(after: string | null, limit: number): Promise<string[]>;
  createShare(share: ShareRecord): Promise<void>;
  getShare(id: string): Promise<ShareRecord | null>;
  /** Marks a share revoked (kept, so that its link keeps failing); false when there is no such share. */
  revokeShare(id: string, at: string): Promise<boolean>;
}

/** Whether `contentType` matches a list filter: exact, or `type/*` for any subtype. */
export function contentTypeMatches(contentType: string, filter: string): boolean {
  return filter.endsWith("/*") ? contentType.startsWith(filter.slice(0, -1)) : contentType === filter;
}
