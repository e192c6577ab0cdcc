/**
 * @module artifacts/open-artifacts
 * Builds the artifact service from the node's parts (server.ts calls this once): the metadata store of the storage
 * backend, the filesystem blob store under `artifacts.path` (default `<dataDir>/artifacts`), and share links signed
 * with the node key.
 */
import { join, resolve } from "node:path";
import type { Config } from "../config/config-schema.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import { ArtifactService } from "./artifact-service.js";
import { FsBlobStore } from "./fs-blob-store.js";
import { ShareLinks, type ShareKey } from "./share-links.js";

export async function openArtifacts(options: { config: Config; store: StorageBackend; key: ShareKey }): Promise<ArtifactService> {
  const { config } = options;
  const root = config.artifacts.path === undefined ? join(config.dataDir, "artifacts") : resolve(config.artifacts.path);
  return new ArtifactService({
    store: options.store.artifactStore(),
    blobs: await FsBlobStore.open(root),
    shares: new ShareLinks(options.key),
    maxBytes: config.artifacts.maxBytes,
  });
}
