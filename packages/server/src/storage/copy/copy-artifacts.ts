/**
 * @module storage/copy/copy-artifacts
 * Copies artifact metadata (contracts/artifact-store.ts) for `kai storage copy`: every artifact of every uploader,
 * with its id, so links to it keep working; each add counts its blob's reference again on the target, so the counts
 * come out as they were. The bytes are not copied: they stay in the blob store under `artifacts.path` (the data dir by
 * default), which the node keeps using on its new database. Share links are not copied: their links stop working
 * (403 `share_link_invalid`) and are made again where needed, since a share is a short-lived grant.
 */
import type { ArtifactStore } from "../contracts/artifact-store.js";
import type { Progress } from "./copy-node.js";

const PAGE = 500;

export async function copyArtifacts(source: ArtifactStore, target: ArtifactStore, progress: Progress): Promise<{ artifacts: number }> {
  let artifacts = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await source.listArtifacts({ limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    for (const artifact of page.artifacts) {
      const added = await target.addArtifact(artifact);
      if (!added.created) throw new Error(`artifact ${artifact.id}: the target already holds it`);
      artifacts++;
    }
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  progress(`artifacts: ${artifacts} copied (their bytes stay in the blob store; share links are not copied)`);
  return { artifacts };
}
