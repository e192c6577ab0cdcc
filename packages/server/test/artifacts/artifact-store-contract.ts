/**
 * @module test/artifacts/artifact-store-contract
 * The conformance suite every `ArtifactStore` backend passes (src/storage/contracts/artifact-store.ts): an add counts
 * its blob's reference and says whether the blob was already referenced; the uploader's same bytes under the same
 * name return the first artifact; a blob is released exactly with its last artifact (also when many deletes race);
 * listing newest first by uploader, tag, type (exact and `type/*`) and name with a keyset cursor; the referenced
 * blobs' digests page by page (the garbage collection's walk); share links
 * stored, revoked, and gone with their artifact; and (durable backends) all of it after a reopen.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Artifact } from "@kai/protocol";
import type { StorageBackend } from "../../src/storage/contracts/storage-backend.js";
import type { ArtifactStore } from "../../src/storage/contracts/artifact-store.js";

export interface OpenedArtifactBackend {
  backend: StorageBackend;
  cleanup: () => Promise<void>;
  reopen?: () => Promise<StorageBackend>;
}

const digest = (n: number) => n.toString(16).padStart(64, "0");
let counter = 0;

function artifact(overrides: Partial<Artifact> = {}): Artifact {
  counter++;
  return {
    id: `art_${String(Date.now() * 1000 + counter).padStart(20, "0")}`,
    name: `file-${counter}.txt`,
    contentType: "text/plain",
    size: 10,
    sha256: digest(counter),
    uploader: "alice",
    tags: [],
    createdAt: "2030-05-06T07:08:09.000Z",
    encrypted: false,
    ...overrides,
  };
}

export function runArtifactStoreContract(name: string, open: () => Promise<OpenedArtifactBackend>, traits: { durable: boolean }): void {
  describe(`artifact store contract: ${name}`, () => {
    let opened: OpenedArtifactBackend;
    let store: ArtifactStore;

    beforeEach(async () => {
      opened = await open();
      store = opened.backend.artifactStore();
    });
    afterEach(async () => {
      await opened.backend.close();
      await opened.cleanup();
    });

    it("adds an artifact and counts a reference to its blob", async () => {
      const first = artifact({ tags: ["report", "q3"] });
      expect(await store.addArtifact(first)).toEqual({ artifact: first, created: true, blobExisted: false });
      expect(await store.getArtifact(first.id)).toEqual(first);
      expect(await store.blobReferences(first.sha256)).toBe(1);
      expect(await store.getArtifact("art_00000000000000000000")).toBeNull();
    });

    it("shares a blob between artifacts of the same bytes, and returns the uploader's existing one for the same name", async () => {
      const first = artifact();
      await store.addArtifact(first);
      const renamed = artifact({ sha256: first.sha256, name: "other-name.txt" });
      expect(await store.addArtifact(renamed)).toMatchObject({ created: true, blobExisted: true });
      const byBob = artifact({ sha256: first.sha256, name: first.name, uploader: "bob" });
      expect(await store.addArtifact(byBob)).toMatchObject({ created: true, blobExisted: true });
      const again = artifact({ sha256: first.sha256, name: first.name });
      expect(await store.addArtifact(again)).toEqual({ artifact: first, created: false, blobExisted: true });
      expect(await store.getArtifact(again.id)).toBeNull();
      expect(await store.blobReferences(first.sha256)).toBe(3);
    });

    it("releases a blob only with its last artifact", async () => {
      const first = artifact();
      const second = artifact({ sha256: first.sha256, name: "copy.txt" });
      await store.addArtifact(first);
      await store.addArtifact(second);
      expect(await store.deleteArtifact(first.id)).toEqual({ artifact: first, blobReleased: false });
      expect(await store.blobReferences(first.sha256)).toBe(1);
      expect(await store.deleteArtifact(first.id)).toBeNull();
      expect(await store.deleteArtifact(second.id)).toEqual({ artifact: second, blobReleased: true });
      expect(await store.blobReferences(first.sha256)).toBe(0);
      // The blob may come back: counted from zero again.
      expect(await store.addArtifact(artifact({ sha256: first.sha256 }))).toMatchObject({ created: true, blobExisted: false });
    });

    it("stores one artifact when the same uploader's same bytes and name are added at once", async () => {
      const template = artifact();
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.addArtifact(artifact({ sha256: template.sha256, name: template.name }))));
      expect(outcomes.filter((outcome) => outcome.created).length).toBe(1);
      const kept = outcomes.find((outcome) => outcome.created)!.artifact;
      for (const outcome of outcomes) expect(outcome.artifact).toEqual(kept);
      expect(await store.blobReferences(template.sha256)).toBe(1);
    });

    it("releases a blob exactly once when the deletes of all its artifacts race", async () => {
      const sha256 = digest(999_999);
      const many = Array.from({ length: 12 }, (_, i) => artifact({ sha256, name: `n${i}` }));
      for (const item of many) await store.addArtifact(item);
      const outcomes = await Promise.all(many.map((item) => store.deleteArtifact(item.id)));
      expect(outcomes.filter((outcome) => outcome?.blobReleased).length).toBe(1);
      expect(await store.blobReferences(sha256)).toBe(0);
    });

    it("pages through the digests of referenced blobs, each once, and not those whose last artifact went", async () => {
      const kept = Array.from({ length: 7 }, () => artifact());
      for (const item of kept) await store.addArtifact(item);
      await store.addArtifact(artifact({ sha256: kept[0]!.sha256, name: "shared.txt" }));
      const gone = artifact();
      await store.addArtifact(gone);
      await store.deleteArtifact(gone.id);
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: string[] = await store.listBlobDigests(after, 3);
        expect(page.length).toBeLessThanOrEqual(3);
        if (page.length === 0) break;
        seen.push(...page);
        after = page[page.length - 1]!;
      }
      expect(seen.length).toBe(new Set(seen).size);
      expect(seen.sort()).toEqual(kept.map((item) => item.sha256).sort());
    });

    it("lists newest first with a cursor, by uploader, tag, type and name", async () => {
      const a = artifact({ name: "Quarterly Report.pdf", contentType: "application/pdf", tags: ["report"] });
      const b = artifact({ name: "photo.png", contentType: "image/png", tags: ["photo", "report"] });
      const c = artifact({ name: "scan.jpg", contentType: "image/jpeg", uploader: "bob", tags: ["photo"] });
      const d = artifact({ name: "notes.txt", contentType: "text/plain" });
      for (const item of [a, b, c, d]) await store.addArtifact(item);
      const ids = (page: { artifacts: Artifact[] }) => page.artifacts.map((item) => item.id);

      expect(ids(await store.listArtifacts({ limit: 10 }))).toEqual([d.id, c.id, b.id, a.id]);
      expect(ids(await store.listArtifacts({ limit: 10, uploader: "alice" }))).toEqual([d.id, b.id, a.id]);
      expect(ids(await store.listArtifacts({ limit: 10, tag: "report" }))).toEqual([b.id, a.id]);
      expect(ids(await store.listArtifacts({ limit: 10, type: "image/*" }))).toEqual([c.id, b.id]);
      expect(ids(await store.listArtifacts({ limit: 10, type: "image/png" }))).toEqual([b.id]);
      expect(ids(await store.listArtifacts({ limit: 10, nameContains: "report" }))).toEqual([a.id]);
      // LIKE's wildcards are plain characters here.
      expect(ids(await store.listArtifacts({ limit: 10, nameContains: "%" }))).toEqual([]);

      const first = await store.listArtifacts({ limit: 3 });
      expect(ids(first)).toEqual([d.id, c.id, b.id]);
      expect(first.nextCursor).toBe(b.id);
      const second = await store.listArtifacts({ limit: 3, cursor: first.nextCursor! });
      expect(ids(second)).toEqual([a.id]);
      expect(second.nextCursor).toBeNull();
    });

    it("stores, revokes and drops share links with their artifact", async () => {
      const item = artifact();
      await store.addArtifact(item);
      const share = { id: "shr_00000000000000000001", artifactId: item.id, owner: "alice", createdAt: "2030-05-06T07:08:09.000Z", expiresAt: "2030-05-06T08:08:09.000Z", revokedAt: null };
      await store.createShare(share);
      expect(await store.getShare(share.id)).toEqual(share);
      expect(await store.revokeShare(share.id, "2030-05-06T07:30:00.000Z")).toBe(true);
      expect(await store.revokeShare(share.id, "2030-05-06T07:40:00.000Z")).toBe(true);
      expect(await store.getShare(share.id)).toEqual({ ...share, revokedAt: "2030-05-06T07:30:00.000Z" });
      expect(await store.revokeShare("shr_00000000000000000404", "2030-05-06T07:30:00.000Z")).toBe(false);
      await store.deleteArtifact(item.id);
      expect(await store.getShare(share.id)).toBeNull();
      await expect(store.createShare({ ...share, id: "shr_00000000000000000002" })).rejects.toThrow();
    });

    // Declared only for a backend that keeps data across a reopen (nothing to skip for the memory one).
    if (traits.durable) it("keeps artifacts, references and shares across a reopen", async () => {
      const item = artifact({ tags: ["kept"] });
      await store.addArtifact(item);
      await store.addArtifact(artifact({ sha256: item.sha256, name: "twin" }));
      await store.createShare({ id: "shr_00000000000000000003", artifactId: item.id, owner: "alice", createdAt: item.createdAt, expiresAt: item.createdAt, revokedAt: null });
      await opened.backend.close();
      opened.backend = await opened.reopen!();
      store = opened.backend.artifactStore();
      expect(await store.getArtifact(item.id)).toEqual(item);
      expect(await store.blobReferences(item.sha256)).toBe(2);
      expect((await store.listArtifacts({ limit: 5, tag: "kept" })).artifacts).toEqual([item]);
      expect(await store.getShare("shr_00000000000000000003")).not.toBeNull();
    });
  });
}
