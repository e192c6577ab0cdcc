/**
 * @module artifacts/artifact-service
 * Artifacts (issue 17, docs/data/artifacts.md): upload, read, list, delete and share, over a metadata store
 * (storage/contracts/artifact-store.ts) and a blob store (blob-store.ts). An upload streams through once: hashed,
 * counted and limited on its way to the blob store's staging area, never held whole in memory. Its digest is its
 * address: identical bytes are stored once and reference counted; the uploader's second upload of the same bytes
 * under the same name returns the first artifact. An artifact is its uploader's (an admin sees every one); another
 * caller's artifact is "not found", never "forbidden", so ids cannot be probed.
 */
import type { Readable } from "node:stream";
import { THUMBNAIL_SOURCE_TYPES, type Artifact, type ArtifactPreview, type ArtifactShare, type ListArtifactsQuery, type ListArtifactsResponse, type UploadArtifactResponse } from "@kai/protocol";
import { isAdmin, type Principal } from "../auth/principal.js";
import { ApiError, notFound } from "../errors.js";
import type { ArtifactStore } from "../storage/contracts/artifact-store.js";
import { previewOf, readAll } from "./artifact-preview.js";
import type { BlobStore, ByteRange } from "./blob-store.js";
import { BlobSweep } from "./blob-sweep.js";
import { DigestingStream, SNIFF_BYTES } from "./digesting-stream.js";
import { KeyLock } from "./key-lock.js";
import { ImageRefused, makeThumbnail, MAX_IMAGE_BYTES } from "./previews/image-thumbnail.js";
import { ThumbnailCache, thumbnailTag } from "./previews/thumbnail-cache.js";
import type { ShareLinks } from "./share-links.js";
import { sniffContentType } from "./sniff-content-type.js";
import { timeOrderedId } from "../time-ordered-id.js";

export interface ArtifactServiceOptions {
  store: ArtifactStore;
  blobs: BlobStore;
  shares: ShareLinks;
  /** Largest upload, bytes (`artifacts.maxBytes`). */
  maxBytes: number;
  now?: () => number;
  /** The garbage collection's grace (`artifacts.gc.graceHours`), ms; default 24 hours. */
  gcGraceMs?: number;
  logger?: { warn(obj: object, msg?: string): void };
}

export interface UploadInput {
  name?: string | undefined;
  /** What the client said the bytes are (believed only for text: sniff-content-type.ts). */
  declaredType?: string | undefined;
  tags?: string[] | undefined;
}

/** A share as made: the link's token is only ever given here (it is not stored). */
export interface MadeShare {
  share: Omit<ArtifactShare, "url">;
  token: string;
}

const invalidShare = () => new ApiError("share_link_invalid", "this share link is not valid: it may have expired, been revoked, or been altered");

export class ArtifactService {
  private readonly store: ArtifactStore;
  private readonly blobs: BlobStore;
  private readonly shares: ShareLinks;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly locks = new KeyLock();
  /**
   * The blob store's garbage collection (blob-sweep.ts), over this service's stores and under its per-digest lock, so
   * that a removal never interleaves with this instance's upload of the same bytes: run by the `artifact-gc`
   * singleton job, and by an admin through `POST /api/artifacts/gc`.
   */
  readonly sweeper: BlobSweep;
  private readonly thumbnails: ThumbnailCache;
  /** Thumbnails being made, by source blob: concurrent first requests make one. */
  private readonly making = new Map<string, Promise<Buffer>>();

  constructor(options: ArtifactServiceOptions) {
    this.store = options.store;
    this.blobs = options.blobs;
    this.shares = options.shares;
    this.maxBytes = options.maxBytes;
    this.now = options.now ?? Date.now;
    this.sweeper = new BlobSweep({ store: this.store, blobs: this.blobs, locks: this.locks, graceMs: options.gcGraceMs ?? 24 * 3_600_000, ...(options.logger ? { logger: options.logger } : {}) });
    this.thumbnails = new ThumbnailCache(this.blobs);
  }

  get limit(): number {
    return this.maxBytes;
  }

  /** Streams `source` into the blob store and records the artifact (201 when `created`). */
  async upload(source: Readable, input: UploadInput, principal: Principal): Promise<UploadArtifactResponse> {
    const digesting = new DigestingStream(this.maxBytes);
    // The source's failure (a client that goes away, a multipart error) reaches the staging write through here. The
    // source is not destroyed when the upload is refused (too large): the caller stops reading it and answers first.
    let sourceError: unknown;
    source.once("error", (error) => {
      sourceError = error;
      digesting.destroy(error);
    });
    source.pipe(digesting);
    let staged;
    try {
      staged = await this.blobs.stage(digesting);
    } catch (error) {
      // The client's side failing (a body cut short, multipart that ends mid-part) is the request's fault, not the
      // node's: a 400, never an internal error. A failure of the blob store itself (a full disk) stays one.
      if (sourceError !== undefined && error === sourceError && !(error instanceof ApiError)) {
        throw new ApiError("validation_failed", "the upload ended before it was complete (a body cut short, or multipart/form-data that is not well-formed)");
      }
      throw error;
    }
    const { sha256, size, head } = digesting.result();
    let contentType: string;
    try {
      contentType = await sniffContentType(head, input.declaredType, size <= SNIFF_BYTES);
    } catch (error) {
      await this.blobs.discard(staged);
      throw error;
    }
    const artifact: Artifact = {
      id: timeOrderedId("art"),
      name: input.name ?? `${sha256.slice(0, 16)}`,
      contentType,
      size,
      sha256,
      uploader: principal.owner,
      tags: [...new Set(input.tags ?? [])],
      createdAt: new Date(this.now()).toISOString(),
      encrypted: false,
    };
    return this.locks.run(sha256, async () => {
      let committed: { existed: boolean; encrypted?: boolean };
      try {
        committed = await this.blobs.commit(staged, sha256);
      } catch (error) {
        await this.blobs.discard(staged).catch(() => undefined);
        throw error;
      }
      try {
        // Encrypted or not is the stored blob's form (an upload deduplicated onto an older plain blob is plain).
        const added = await this.store.addArtifact({ ...artifact, encrypted: committed.encrypted === true });
        return { artifact: added.artifact, created: added.created, deduplicated: committed.existed };
      } catch (error) {
        // Bytes written for an artifact that was not recorded would be referenced by nothing.
        if (!committed.existed && (await this.store.blobReferences(sha256).catch(() => 1)) === 0) await this.blobs.remove(sha256).catch(() => undefined);
        throw error;
      }
    });
  }

  async get(id: string, principal: Principal): Promise<Artifact> {
    const artifact = await this.store.getArtifact(id);
    if (!artifact || (artifact.uploader !== principal.owner && !isAdmin(principal))) throw notFound("artifact");
    return artifact;
  }

  async list(query: ListArtifactsQuery, principal: Principal): Promise<ListArtifactsResponse> {
    // Anyone but an admin lists their own artifacts only; asking for another uploader's finds none.
    if (!isAdmin(principal) && query.uploader !== undefined && query.uploader !== principal.owner) return { artifacts: [], nextCursor: null };
    const uploader = isAdmin(principal) ? query.uploader : principal.owner;
    return this.store.listArtifacts({
      limit: query.limit,
      ...(uploader !== undefined ? { uploader } : {}),
      ...(query.tag !== undefined ? { tag: query.tag } : {}),
      ...(query.type !== undefined ? { type: query.type } : {}),
      ...(query.q !== undefined ? { nameContains: query.q } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
  }

  /** The artifact's bytes (a range of them when given). */
  async read(artifact: Artifact, range?: ByteRange): Promise<Readable> {
    const stream = await this.blobs.read(artifact.sha256, range);
    // The metadata says the bytes exist: their absence is the node's fault (a restore without the artifacts' bytes, a
    // blob removed by hand), not the caller's; said with what to do rather than as an internal error.
    if (!stream) {
      throw new ApiError(
        "artifact_bytes_missing",
        `the bytes of artifact ${artifact.id} are not in the ${this.blobs.kind} blob store: after a restore without --with-artifacts, copy the old node's artifacts there (or point artifacts.path or artifacts.store at the old store)`,
      );
    }
    return stream;
  }

  /** What can be shown of the artifact without downloading it (artifact-preview.ts). */
  async preview(id: string, principal: Principal): Promise<ArtifactPreview> {
    const artifact = await this.get(id, principal);
    return previewOf(artifact, (range) => this.read(artifact, range));
  }

  /**
   * The ETag of the artifact's thumbnail (known without making it, so a current client gets a 304 at once); 422
   * `preview_unavailable` for an artifact that gets no thumbnail by its type or size.
   */
  thumbnailTag(artifact: Artifact): string {
    if (!(THUMBNAIL_SOURCE_TYPES as readonly string[]).includes(artifact.contentType)) {
      throw new ApiError("preview_unavailable", `no thumbnail for ${artifact.contentType}: thumbnails are made of PNG, JPEG, WebP and GIF images`);
    }
    if (artifact.size > MAX_IMAGE_BYTES) throw new ApiError("preview_unavailable", `no thumbnail: the image is larger than the ${MAX_IMAGE_BYTES} bytes a thumbnail is made from`);
    return thumbnailTag(artifact.sha256);
  }

  /**
   * The artifact's thumbnail (WebP, previews/image-thumbnail.ts): kept from an earlier request, else made now and kept
   * (previews/thumbnail-cache.ts). 422 `preview_unavailable` with the reason when the artifact gets none.
   */
  async thumbnail(artifact: Artifact): Promise<Buffer> {
    this.thumbnailTag(artifact);
    const kept = await this.thumbnails.get(artifact.sha256);
    if (kept) return kept;
    const pending = this.making.get(artifact.sha256);
    if (pending) return pending;
    const making = this.makeThumbnail(artifact).finally(() => this.making.delete(artifact.sha256));
    this.making.set(artifact.sha256, making);
    return making;
  }

  private async makeThumbnail(artifact: Artifact): Promise<Buffer> {
    const source = artifact.size === 0 ? Buffer.alloc(0) : await readAll(await this.read(artifact));
    let thumbnail: Buffer;
    try {
      thumbnail = await makeThumbnail(source, artifact.contentType);
    } catch (error) {
      if (error instanceof ImageRefused) throw new ApiError("preview_unavailable", `no thumbnail: ${error.message}`);
      throw error;
    }
    // Kept under the source's lock, and only while the source is there: a delete of its last artifact, which removes
    // the thumbnail under the same lock, must not be followed by a thumbnail nothing will remove.
    // A thumbnail that could not be kept (the blob store refusing a write) is still this request's answer: the next
    // request makes it again.
    await this.locks
      .run(artifact.sha256, async () => {
        if (await this.blobs.has(artifact.sha256)) await this.thumbnails.put(artifact.sha256, thumbnail);
      })
      .catch(() => undefined);
    return thumbnail;
  }

  /** Deletes the artifact; its blob goes with its last artifact. */
  async delete(id: string, principal: Principal): Promise<void> {
    const artifact = await this.get(id, principal);
    await this.locks.run(artifact.sha256, async () => {
      const deleted = await this.store.deleteArtifact(id);
      if (deleted?.blobReleased) {
        await this.blobs.remove(artifact.sha256);
        await this.thumbnails.remove(artifact.sha256);
      }
    });
  }

  async share(id: string, principal: Principal, ttlSeconds: number): Promise<MadeShare> {
    const artifact = await this.get(id, principal);
    const now = this.now();
    const expires = now + ttlSeconds * 1000;
    const shareId = timeOrderedId("shr");
    // Signed before it is stored: a locked vault (the node key sealed) refuses here and stores nothing.
    const token = this.shares.sign({ s: shareId, a: artifact.id, e: expires });
    const record = { id: shareId, artifactId: artifact.id, owner: principal.owner, createdAt: new Date(now).toISOString(), expiresAt: new Date(expires).toISOString(), revokedAt: null };
    await this.store.createShare(record);
    return { share: { id: shareId, artifactId: artifact.id, path: `/s/${token}`, expiresAt: record.expiresAt, createdAt: record.createdAt, revoked: false }, token };
  }

  /** Revokes a share of one of the caller's artifacts: its link fails from now on. */
  async revokeShare(artifactId: string, shareId: string, principal: Principal): Promise<void> {
    await this.get(artifactId, principal);
    const share = await this.store.getShare(shareId);
    if (!share || share.artifactId !== artifactId) throw notFound("share");
    await this.store.revokeShare(shareId, new Date(this.now()).toISOString());
  }

  /** The artifact a share link opens, or 403 `share_link_invalid` (the same answer whatever is wrong with it). */
  async resolveShare(token: string): Promise<Artifact> {
    const payload = this.shares.verify(token);
    if (!payload || payload.e <= this.now()) throw invalidShare();
    const share = await this.store.getShare(payload.s);
    if (!share || share.revokedAt !== null || share.artifactId !== payload.a || Date.parse(share.expiresAt) <= this.now()) throw invalidShare();
    const artifact = await this.store.getArtifact(payload.a);
    if (!artifact) throw invalidShare();
    return artifact;
  }
}
