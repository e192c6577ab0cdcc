/**
 * @module storage/memory/memory-artifact-store
 * `ArtifactStore` in process memory, for `storage.kind: memory` (nothing survives a restart). Every method runs to its
 * end without awaiting, so adding an artifact with its blob reference (and removing one with its release) is atomic
 * by construction. Copies go in and out, so a caller changing its object never changes the stored one.
 */
import type { Artifact } from "@kai/protocol";
import { contentTypeMatches, type AddedArtifact, type ArtifactListQuery, type ArtifactPage, type ArtifactStore, type DeletedArtifact, type ShareRecord } from "../contracts/artifact-store.js";

const copy = <T>(value: T): T => structuredClone(value);

export class MemoryArtifactStore implements ArtifactStore {
  private readonly artifacts = new Map<string, Artifact>();
  private readonly refs = new Map<string, number>();
  private readonly shares = new Map<string, ShareRecord>();

  constructor(private readonly check: () => void) {}

  async addArtifact(artifact: Artifact): Promise<AddedArtifact> {
    this.check();
    for (const existing of this.artifacts.values()) {
      if (existing.uploader === artifact.uploader && existing.sha256 === artifact.sha256 && existing.name === artifact.name) {
        return { artifact: copy(existing), created: false, blobExisted: true };
      }
    }
    if (this.artifacts.has(artifact.id)) throw new Error(`artifact ${artifact.id} exists`);
    const before = this.refs.get(artifact.sha256) ?? 0;
    this.refs.set(artifact.sha256, before + 1);
    this.artifacts.set(artifact.id, copy(artifact));
    return { artifact: copy(artifact), created: true, blobExisted: before > 0 };
  }

  async getArtifact(id: string): Promise<Artifact | null> {
    this.check();
    const artifact = this.artifacts.get(id);
    return artifact ? copy(artifact) : null;
  }

  async listArtifacts(query: ArtifactListQuery): Promise<ArtifactPage> {
    this.check();
    const needle = query.nameContains?.toLowerCase();
    const matching = [...this.artifacts.values()]
      .filter((artifact) =>
        (query.uploader === undefined || artifact.uploader === query.uploader) &&
        (query.tag === undefined || artifact.tags.includes(query.tag)) &&
        (query.type === undefined || contentTypeMatches(artifact.contentType, query.type)) &&
        (needle === undefined || artifact.name.toLowerCase().includes(needle)) &&
        (query.cursor === undefined || artifact.id < query.cursor))
      .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const page = matching.slice(0, query.limit).map(copy);
    return { artifacts: page, nextCursor: matching.length > query.limit ? page[page.length - 1]!.id : null };
  }

  async deleteArtifact(id: string): Promise<DeletedArtifact | null> {
    this.check();
    const artifact = this.artifacts.get(id);
    if (!artifact) return null;
    this.artifacts.delete(id);
    for (const [shareId, share] of this.shares) if (share.artifactId === id) this.shares.delete(shareId);
    const left = (this.refs.get(artifact.sha256) ?? 1) - 1;
    if (left > 0) this.refs.set(artifact.sha256, left);
    else this.refs.delete(artifact.sha256);
    return { artifact, blobReleased: left === 0 };
  }

  async blobReferences(sha256: string): Promise<number> {
    this.check();
    return this.refs.get(sha256) ?? 0;
  }

  async listBlobDigests(after: string | null, limit: number): Promise<string[]> {
    this.check();
    return [...this.refs.keys()].filter((sha256) => after === null || sha256 > after).sort().slice(0, limit);
  }

  async createShare(share: ShareRecord): Promise<void> {
    this.check();
    if (!this.artifacts.has(share.artifactId)) throw new Error(`artifact ${share.artifactId} does not exist`);
    this.shares.set(share.id, copy(share));
  }

  async getShare(id: string): Promise<ShareRecord | null> {
    this.check();
    const share = this.shares.get(id);
    return share ? copy(share) : null;
  }

  async revokeShare(id: string, at: string): Promise<boolean> {
    this.check();
    const share = this.shares.get(id);
    if (!share) return false;
    share.revokedAt ??= at;
    return true;
  }
}
