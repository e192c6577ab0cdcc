/**
 * @module artifacts/previews/thumbnail-cache
 * Thumbnails are made on first request and then kept as derived blobs in the artifacts' own blob store, so the cache
 * works on every backend (filesystem, S3, encrypted at rest like the artifact itself) and is shared by every instance
 * of a node. A thumbnail depends only on its source's bytes, so it is one per blob, shared by every artifact with those
 * bytes, and is removed with the source blob (artifact-service.ts).
 *
 * Its key is SHA-256 over a versioned name and the source's digest: deterministic (no table of thumbnails to keep),
 * and a new version of the thumbnail format gets new keys. Unlike an artifact's key it is not the digest of the bytes
 * stored under it, and that is how a blob is told apart from an upload that happens to have that key (someone
 * uploading the key's name as a file): a blob under the key whose digest is the key is an upload, never served as a
 * thumbnail. Blobs are limited in size when read back, so a wrong blob cannot make a request read without end.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { THUMBNAIL_MAX_SIDE } from "@kai/protocol";
import type { BlobStore } from "../blob-store.js";

/** Bump when thumbnails are made differently: old ones are then neither found nor served. */
const FORMAT = `kai-derived-blob:thumbnail:v1:webp:${THUMBNAIL_MAX_SIDE}`;
/** A thumbnail of 256 × 256 pixels is a few tens of KiB; anything larger under its key is not one. */
const MAX_THUMBNAIL_BYTES = 1024 * 1024;

const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

/** The blob key of the thumbnail of the blob `source`. */
export const thumbnailKey = (source: string): string => sha256(`${FORMAT}:${source}`);

/** What the thumbnail's ETag says: changes with the source's bytes and with the thumbnail format. */
export const thumbnailTag = (source: string): string => `"${thumbnailKey(source)}"`;

export class ThumbnailCache {
  constructor(private readonly blobs: BlobStore) {}

  /** The kept thumbnail of `source`, or null (none yet, or the blob under its key is not one). */
  async get(source: string): Promise<Buffer | null> {
    const key = thumbnailKey(source);
    const stream = await this.blobs.read(key);
    if (!stream) return null;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > MAX_THUMBNAIL_BYTES) {
        stream.destroy();
        return null;
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    return bytes.length === 0 || sha256(bytes) === key ? null : bytes;
  }

  /** Keeps `thumbnail` as the thumbnail of `source` (a thumbnail already kept, or an upload under its key, stays). */
  async put(source: string, thumbnail: Buffer): Promise<void> {
    const staged = await this.blobs.stage(Readable.from([thumbnail]));
    try {
      await this.blobs.commit(staged, thumbnailKey(source));
    } catch (error) {
      await this.blobs.discard(staged).catch(() => undefined);
      throw error;
    }
  }

  /** Forgets the thumbnail of `source` (its blob is gone); an upload under its key is not touched. */
  async remove(source: string): Promise<void> {
    if (await this.get(source)) await this.blobs.remove(thumbnailKey(source));
  }
}
