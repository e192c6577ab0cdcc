/**
 * @module artifacts/open-artifacts
 * Builds the artifact service from the node's parts (server.ts calls this once): the metadata store of the storage
 * backend; the blob store `artifacts.store` names (the filesystem under `artifacts.path`, default
 * `<dataDir>/artifacts`, or an S3-compatible object store), always wrapped by the encrypting store so that encrypted
 * blobs read whether or not `artifacts.encryption.enabled` is on now; share links signed with the node key; and, with
 * `artifacts.gc.enabled`, the blob garbage collection's singleton job over the same stores and per-digest lock.
 */
import { join, resolve } from "node:path";
import type { SingletonJob } from "../cluster/singleton-jobs.js";
import type { Config } from "../config/config-schema.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import type { VaultService } from "../vault/vault-service.js";
import { VaultArtifactKey } from "./artifact-key.js";
import { ArtifactService } from "./artifact-service.js";
import type { BlobStore } from "./blob-store.js";
import { blobSweepJob, type BlobSweepJobOptions } from "./blob-sweep-job.js";
import { EncryptingBlobStore } from "./encrypting-blob-store.js";
import { FsBlobStore } from "./fs-blob-store.js";
import { ShareLinks, type ShareKey } from "./share-links.js";

/** The configured backend, not yet wrapped. */
export async function openBlobBackend(config: Config): Promise<BlobStore> {
  const artifacts = config.artifacts;
  if (artifacts.store === "s3") {
    const s3 = artifacts.s3;
    // The schema refuses `store: s3` without a bucket; this only narrows the type.
    if (s3.bucket === undefined) throw new Error("artifacts.store s3 needs artifacts.s3.bucket");
    // The AWS SDK (~200 ms of module loading) loads only for a node that stores artifacts in S3.
    const { S3BlobStore } = await import("./s3-blob-store.js");
    return new S3BlobStore({
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      prefix: s3.prefix,
      forcePathStyle: s3.forcePathStyle,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      partSizeBytes: s3.partSizeBytes,
      queueSize: s3.queueSize,
    });
  }
  const root = artifacts.path === undefined ? join(config.dataDir, "artifacts") : resolve(artifacts.path);
  return FsBlobStore.open(root);
}

export interface OpenedArtifacts {
  service: ArtifactService;
  /** The blob garbage collection's singleton job (server.ts adds it); null when `artifacts.gc.enabled` is off. */
  gc: SingletonJob | null;
}

export async function openArtifacts(options: { config: Config; store: StorageBackend; key: ShareKey; vault: VaultService; logger: BlobSweepJobOptions["logger"] }): Promise<OpenedArtifacts> {
  const { config } = options;
  const encryption = config.artifacts.encryption;
  const keys = new VaultArtifactKey(options.vault, ...(encryption.keySecret !== undefined ? [encryption.keySecret] : []));
  const gc = config.artifacts.gc;
  const service = new ArtifactService({
    store: options.store.artifactStore(),
    blobs: new EncryptingBlobStore(await openBlobBackend(config), keys, encryption.enabled),
    shares: new ShareLinks(options.key),
    maxBytes: config.artifacts.maxBytes,
    gcGraceMs: gc.graceHours * 3_600_000,
    logger: options.logger,
  });
  // The sweep is the service's own (its stores, its per-digest lock); the job runs it on the leader.
  return { service, gc: gc.enabled ? blobSweepJob({ sweep: service.sweeper, intervalMs: gc.intervalMinutes * 60_000, logger: options.logger }) : null };
}
