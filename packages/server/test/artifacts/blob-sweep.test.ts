/**
 * The blob garbage collection (src/artifacts/blob-sweep.ts) on every metadata backend this machine runs (memory,
 * SQLite, a real PostgreSQL: test/helpers/storage-backends.ts) over the filesystem blob store and the S3 blob store on
 * a real S3-compatible server (test/helpers/s3-server.ts). Artifacts are uploaded through the real artifact service;
 * the leftovers of a crash are made the way a crash makes them (a blob committed with no row, a row deleted with its
 * blob left, bytes staged and never committed). Time passes by the sweep's clock: a sweep "25 hours later" is one
 * whose `now` is 25 hours ahead, so that the object store's own times need not be changed.
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArtifactService } from "../../src/artifacts/artifact-service.js";
import type { BlobStore } from "../../src/artifacts/blob-store.js";
import { BlobSweep } from "../../src/artifacts/blob-sweep.js";
import { blobSweepJob } from "../../src/artifacts/blob-sweep-job.js";
import { FsBlobStore } from "../../src/artifacts/fs-blob-store.js";
import { KeyLock } from "../../src/artifacts/key-lock.js";
import { thumbnailKey, ThumbnailCache } from "../../src/artifacts/previews/thumbnail-cache.js";
import { S3BlobStore } from "../../src/artifacts/s3-blob-store.js";
import { ShareLinks } from "../../src/artifacts/share-links.js";
import type { Principal } from "../../src/auth/principal.js";
import type { ArtifactStore } from "../../src/storage/contracts/artifact-store.js";
import type { StorageBackend } from "../../src/storage/contracts/storage-backend.js";
import { openStore } from "../../src/storage/index.js";
import { startS3Server } from "../helpers/s3-server.js";
import { storageBackends, type OpenedBackend } from "../helpers/storage-backends.js";

const HOUR = 3_600_000;
const GRACE = 24 * HOUR;
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

const s3 = await startS3Server();
afterAll(async () => {
  await s3?.stop();
});

interface OpenedBlobs {
  blobs: BlobStore & { stagedCount(): Promise<number> };
  close: () => Promise<void>;
}

const blobStores: { label: string; open: () => Promise<OpenedBlobs> }[] = [
  {
    label: "filesystem",
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), "kai-blob-sweep-"));
      return { blobs: await FsBlobStore.open(dir), close: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];
if (s3) {
  blobStores.push({
    label: "s3",
    open: async () => {
      const blobs = new S3BlobStore({
        endpoint: s3.endpoint,
        region: s3.region,
        bucket: s3.bucket,
        prefix: `sweep-${randomBytes(6).toString("hex")}/`,
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        partSizeBytes: 5 * 1024 * 1024,
        queueSize: 2,
        // Small pages: the sweep walks several of them.
        listPageSize: 3,
      });
      return { blobs, close: async () => blobs.close() };
    },
  });
}

const principal = (owner: string): Principal => ({ tokenId: `tok_${owner}`, owner, scopes: [], expiresAt: Date.now() + HOUR });
const alice = principal("alice");
const bob = principal("bob");

for (const backend of await storageBackends("blob-sweep")) {
  for (const blobStore of blobStores) {
    describe(`blob sweep: ${backend.label} metadata, ${blobStore.label} blobs`, () => {
      let opened: OpenedBackend;
      let storage: StorageBackend;
      let store: ArtifactStore;
      let blobs: OpenedBlobs["blobs"];
      let closeBlobs: () => Promise<void>;
      let service: ArtifactService;
      let locks: KeyLock;

      /** A sweep as it would run `hoursLater` hours from now. */
      const sweepAt = (hoursLater: number, options: { batchSize?: number; pageSize?: number; dryRun?: boolean } = {}) => {
        const { dryRun, ...sizes } = options;
        return new BlobSweep({ store, blobs, locks, graceMs: GRACE, now: () => Date.now() + hoursLater * HOUR, ...sizes }).run({ dryRun });
      };

      const upload = (bytes: Buffer, who = alice, name = "file.bin") => service.upload(Readable.from([bytes]), { name }, who);
      /** A blob committed with no artifact: a crash between the commit and the row. */
      const commitOrphan = async (bytes: Buffer) => {
        await blobs.commit(await blobs.stage(Readable.from([bytes])), sha(bytes));
        return sha(bytes);
      };

      beforeEach(async () => {
        opened = await backend.open();
        storage = opened.backend;
        store = storage.artifactStore();
        const b = await blobStore.open();
        blobs = b.blobs;
        closeBlobs = b.close;
        locks = new KeyLock();
        const { publicKey, privateKey } = generateKeyPairSync("ed25519");
        service = new ArtifactService({ store, blobs, shares: new ShareLinks({ publicKey, privateKey }), maxBytes: 10 * 1024 * 1024 });
      });
      afterEach(async () => {
        await storage.close();
        await opened.cleanup();
        await closeBlobs();
      });

      it("keeps a young orphan blob and removes it once it is older than the grace", async () => {
        const bytes = randomBytes(5000);
        const orphan = await commitOrphan(bytes);
        expect(await sweepAt(0)).toEqual({ stagedRemoved: 0, orphansRemoved: 0, bytesFreed: 0, kept: 1 });
        expect(await sweepAt(23)).toMatchObject({ orphansRemoved: 0, kept: 1 });
        expect(await blobs.has(orphan)).toBe(true);
        expect(await sweepAt(25)).toEqual({ stagedRemoved: 0, orphansRemoved: 1, bytesFreed: 5000, kept: 0 });
        expect(await blobs.has(orphan)).toBe(false);
        // A second sweep finds nothing left to do.
        expect(await sweepAt(25)).toEqual({ stagedRemoved: 0, orphansRemoved: 0, bytesFreed: 0, kept: 0 });
      });

      it("counts in a dry run what a sweep would remove, and removes nothing", async () => {
        await upload(Buffer.from("named"));
        const orphan = await commitOrphan(Buffer.from("unnamed"));
        await blobs.stage(Readable.from([Buffer.from("staged")]));
        const expected = { stagedRemoved: 1, orphansRemoved: 1, bytesFreed: "unnamed".length + "staged".length, kept: 1 };
        expect(await sweepAt(48, { dryRun: true })).toEqual(expected);
        expect(await blobs.has(orphan)).toBe(true);
        expect(await blobs.stagedCount()).toBe(1);
        expect(await sweepAt(48)).toEqual(expected);
        expect(await blobs.has(orphan)).toBe(false);
      });

      it("keeps a referenced blob however old, and removes only the orphans beside it", async () => {
        const kept = Buffer.from("an artifact's bytes");
        const { artifact } = await upload(kept);
        const orphans = await Promise.all([1, 2, 3, 4].map((n) => commitOrphan(Buffer.from(`orphan ${n}`))));
        // Batches and pages smaller than the blobs: the sweep settles them in several rounds.
        const result = await sweepAt(48, { batchSize: 2, pageSize: 1 });
        expect(result).toMatchObject({ orphansRemoved: 4, kept: 1 });
        for (const orphan of orphans) expect(await blobs.has(orphan)).toBe(false);
        const read = await service.read(artifact);
        const chunks: Buffer[] = [];
        for await (const chunk of read) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks).equals(kept)).toBe(true);
      });

      it("keeps a blob shared by two artifacts until its last reference is gone", async () => {
        const bytes = Buffer.from("the same bytes, uploaded by two people");
        const first = await upload(bytes, alice, "a.txt");
        const second = await upload(bytes, bob, "b.txt");
        expect(second.deduplicated).toBe(true);
        await service.delete(first.artifact.id, alice);
        expect(await sweepAt(48)).toMatchObject({ orphansRemoved: 0, kept: 1 });
        expect(await blobs.has(sha(bytes))).toBe(true);
        // The last artifact's row goes and the process dies before the blob is removed.
        expect(await store.deleteArtifact(second.artifact.id)).toMatchObject({ blobReleased: true });
        expect(await blobs.has(sha(bytes))).toBe(true);
        expect(await sweepAt(48)).toMatchObject({ orphansRemoved: 1, bytesFreed: bytes.length, kept: 0 });
        expect(await blobs.has(sha(bytes))).toBe(false);
      });

      it("removes staged bytes older than the grace and keeps fresh ones", async () => {
        await blobs.stage(Readable.from([Buffer.from("an upload whose process died")]));
        expect(await sweepAt(0)).toMatchObject({ stagedRemoved: 0 });
        expect(await blobs.stagedCount()).toBe(1);
        expect(await sweepAt(25)).toMatchObject({ stagedRemoved: 1, bytesFreed: "an upload whose process died".length });
        expect(await blobs.stagedCount()).toBe(0);
      });

      it("keeps the thumbnail of a referenced blob and removes the thumbnail of an orphan", async () => {
        const thumbnails = new ThumbnailCache(blobs);
        const { artifact } = await upload(Buffer.from("an image, say"));
        const orphan = await commitOrphan(Buffer.from("an image nobody names any more"));
        await thumbnails.put(artifact.sha256, Buffer.from("a thumbnail"));
        await thumbnails.put(orphan, Buffer.from("an orphan's thumbnail"));
        expect(await sweepAt(48)).toMatchObject({ orphansRemoved: 2, kept: 2 });
        expect(await blobs.has(thumbnailKey(artifact.sha256))).toBe(true);
        expect(await blobs.has(thumbnailKey(orphan))).toBe(false);
        expect(await blobs.has(orphan)).toBe(false);
      });

      it("keeps a blob whose artifact is recorded while the sweep runs (re-checked under the digest's lock)", async () => {
        const bytes = Buffer.from("uploaded again just as the sweep looked");
        const digest = await commitOrphan(bytes);
        // Hold the digest's lock as an upload's commit-and-record does, and record the artifact inside it.
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        const recording = locks.run(digest, async () => {
          await held;
          await store.addArtifact({
            id: `art_${Date.now().toString(36).padStart(10, "0")}${"0".repeat(16)}`,
            name: "late.bin",
            contentType: "application/octet-stream",
            size: bytes.length,
            sha256: digest,
            uploader: "alice",
            tags: [],
            createdAt: new Date().toISOString(),
            encrypted: false,
          });
        });
        // The real store, watched: the sweep's walk of the referenced digests (which finds no row) is seen ending.
        let walked!: () => void;
        const walkDone = new Promise<void>((resolve) => (walked = resolve));
        const watched = {
          blobReferences: (digest: string) => store.blobReferences(digest),
          listBlobDigests: async (after: string | null, limit: number) => {
            const page = await store.listBlobDigests(after, limit);
            expect(page).not.toContain(digest);
            walked();
            return page;
          },
        };
        const sweeping = new BlobSweep({ store: watched, blobs, locks, graceMs: GRACE, now: () => Date.now() + 48 * HOUR }).run();
        await walkDone;
        // The sweep now waits for the digest's lock; the upload records its artifact and lets go.
        await new Promise((resolve) => setTimeout(resolve, 50));
        release();
        await recording;
        expect(await sweeping).toMatchObject({ orphansRemoved: 0, kept: 1 });
        expect(await blobs.has(digest)).toBe(true);
      });
    });
  }
}

describe("the artifact-gc singleton job", () => {
  it("runs sweeps one at a time, and stops one in progress when this instance stops leading", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kai-blob-sweep-job-"));
    try {
      const blobs = await FsBlobStore.open(dir);
      const backend = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
      try {
        const sweep = new BlobSweep({ store: backend.artifactStore(), blobs, locks: new KeyLock(), graceMs: GRACE, now: () => Date.now() + 2 * GRACE });
        for (let i = 0; i < 3; i++) await blobs.commit(await blobs.stage(Readable.from([Buffer.from(`orphan ${i}`)])), sha(Buffer.from(`orphan ${i}`)));
        const logged: object[] = [];
        const job = blobSweepJob({ sweep, intervalMs: HOUR, logger: { info: (obj) => void logged.push(obj), warn: (obj) => void logged.push(obj) } });
        expect(job.name).toBe("artifact-gc");
        // Started and stopped at once: the sweep in progress stops before its first blob.
        job.start();
        const cut = job.runOnce();
        await job.stop();
        expect(await cut).toMatchObject({ orphansRemoved: 0 });
        expect(logged).toEqual([]);
        // A sweep asked for while one runs is that one.
        const [a, b] = [job.runOnce(), job.runOnce()];
        expect(a).toBe(b);
        expect(await a).toMatchObject({ orphansRemoved: 3 });
        expect(logged).toEqual([expect.objectContaining({ orphansRemoved: 3 })]);
      } finally {
        await backend.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
