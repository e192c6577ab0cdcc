/**
 * The blob store contract (blob-store-contract.ts) on the S3 blob store against a real S3-compatible server that this
 * file starts (test/helpers/s3-server.ts), each test under its own key prefix; and what the S3 store adds: a
 * multipart upload (bytes above the part size) lands whole, an unreachable server is a 503 with a code, and no
 * credential reaches an error.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { S3BlobStore, type S3BlobStoreOptions } from "../../src/artifacts/s3-blob-store.js";
import { ApiError } from "../../src/errors.js";
import { startS3Server } from "../helpers/s3-server.js";
import { freePort } from "../helpers/server-process.js";
import { runBlobStoreContract } from "./blob-store-contract.js";

const s3 = await startS3Server();
afterAll(async () => {
  await s3?.stop();
});

const MIB = 1024 * 1024;
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

export function s3Options(prefix: string, overrides: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  if (!s3) throw new Error("no S3 server");
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    prefix,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    partSizeBytes: 5 * MIB,
    queueSize: 2,
    ...overrides,
  };
}

async function readAll(stream: Readable | null): Promise<Buffer> {
  if (!stream) throw new Error("no blob");
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

if (s3) {
  runBlobStoreContract("s3", async () => {
    const store = new S3BlobStore(s3Options(`contract-${randomBytes(6).toString("hex")}/`));
    return { store, staged: () => store.stagedCount(), cleanup: async () => store.close() };
  });
}

describe.runIf(s3 !== null)("s3 blob store", () => {
  it("streams a body larger than the part size as a multipart upload and reads it back whole and by range", async () => {
    const store = new S3BlobStore(s3Options(`multipart-${randomBytes(6).toString("hex")}/`));
    try {
      const bytes = randomBytes(11 * MIB + 123);
      const digest = sha(bytes);
      // Several chunks of odd sizes, as a request body arrives.
      const chunks = [bytes.subarray(0, 3 * MIB + 7), bytes.subarray(3 * MIB + 7, 9 * MIB), bytes.subarray(9 * MIB)];
      const staged = await store.stage(Readable.from(chunks));
      expect(await store.commit(staged, digest)).toEqual({ existed: false });
      expect((await readAll(await store.read(digest))).equals(bytes)).toBe(true);
      const range = await readAll(await store.read(digest, { start: 5 * MIB - 2, end: 5 * MIB + 2 }));
      expect(range.equals(bytes.subarray(5 * MIB - 2, 5 * MIB + 3))).toBe(true);
      expect(await store.stagedCount()).toBe(0);
    } finally {
      store.close();
    }
  }, 60_000);

  it("aborts a multipart upload whose source fails after parts were sent: the source's error, nothing left staged", async () => {
    const store = new S3BlobStore(s3Options(`aborted-${randomBytes(6).toString("hex")}/`));
    try {
      const tooLarge = new ApiError("artifact_too_large", "over the limit");
      let sent = 0;
      const source = new Readable({
        read() {
          // 12 MiB (two parts and more) in 1 MiB chunks, then the limit is passed.
          if (sent >= 12) {
            this.destroy(tooLarge);
            return;
          }
          sent += 1;
          this.push(randomBytes(MIB));
        },
      });
      await expect(store.stage(source)).rejects.toBe(tooLarge);
      expect(await store.stagedCount()).toBe(0);
    } finally {
      store.close();
    }
  }, 60_000);

  it("answers 503 artifact_store_unavailable when the server cannot be reached, without any credential in the error", async () => {
    const port = await freePort();
    const secret = "do-not-print-this-secret";
    const store = new S3BlobStore(s3Options("down/", { endpoint: `http://127.0.0.1:${port}`, accessKeyId: "AKIDNOTSHOWN", secretAccessKey: secret }));
    try {
      const error = await store.has("a".repeat(64)).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe("artifact_store_unavailable");
      const shown = JSON.stringify({ message: (error as Error).message, details: (error as ApiError).details, stack: (error as Error).stack });
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain("AKIDNOTSHOWN");
      await expect(store.stage(Readable.from([Buffer.from("x")]))).rejects.toMatchObject({ code: "artifact_store_unavailable" });
    } finally {
      store.close();
    }
  });

  it("tells a missing bucket from a missing blob: 503 artifact_store_unavailable naming NoSuchBucket", async () => {
    const store = new S3BlobStore(s3Options("nobucket/", { bucket: "no-such-bucket" }));
    try {
      await expect(store.read("b".repeat(64))).rejects.toMatchObject({ code: "artifact_store_unavailable", message: expect.stringContaining("NoSuchBucket") });
      await expect(store.stage(Readable.from([Buffer.from("x")]))).rejects.toMatchObject({ code: "artifact_store_unavailable" });
    } finally {
      store.close();
    }
  });

  it("lists blobs and sweeps staged objects across many pages of a listing", async () => {
    const store = new S3BlobStore(s3Options(`paged-${randomBytes(6).toString("hex")}/`, { listPageSize: 2 }));
    try {
      const blobs = Array.from({ length: 7 }, (_, i) => Buffer.from(`blob ${i}`));
      for (const bytes of blobs) await store.commit(await store.stage(Readable.from([bytes])), sha(bytes));
      for (let i = 0; i < 5; i++) await store.stage(Readable.from([Buffer.from(`staged ${i}`)]));
      const listed: string[] = [];
      for await (const blob of store.list()) listed.push(blob.sha256);
      expect(listed.sort()).toEqual(blobs.map(sha).sort());
      expect(await store.sweepStaged(new Date(Date.now() + 60_000))).toMatchObject({ removed: 5 });
      expect(await store.stagedCount()).toBe(0);
    } finally {
      store.close();
    }
  });

  it("refuses credentials given by half", () => {
    expect(() => new S3BlobStore(s3Options("half/", { secretAccessKey: undefined }))).toThrow("both accessKeyId and secretAccessKey");
  });
});
