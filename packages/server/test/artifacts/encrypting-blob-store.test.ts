/**
 * Encryption at rest (src/artifacts/encrypting-blob-store.ts) with its key in a real vault (SQLite, the vault
 * harness): the blob store contract over the filesystem store and over the S3 store (a real S3-compatible server,
 * test/helpers/s3-server.ts); then what encryption promises: no plaintext at rest, Range reads that match the bytes
 * whatever segments they cross, dedupe by the plaintext's digest across plain and encrypted blobs, plain blobs of
 * before still readable (and encrypted ones after encryption is turned off), a locked vault a 503 `vault_locked`,
 * and an altered, spliced, reordered or truncated blob refused.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_ARTIFACT_KEY_SECRET, VaultArtifactKey } from "../../src/artifacts/artifact-key.js";
import { EncryptingBlobStore, HEADER_BYTES, MAGIC, SEGMENT_BYTES } from "../../src/artifacts/encrypting-blob-store.js";
import { FsBlobStore } from "../../src/artifacts/fs-blob-store.js";
import { S3BlobStore } from "../../src/artifacts/s3-blob-store.js";
import { SERVER_ACTOR } from "../../src/vault/vault-service.js";
import { startS3Server } from "../helpers/s3-server.js";
import { ADMIN, expectCode, openHarness, type Harness } from "../vault/core/harness.js";
import { runBlobStoreContract } from "./blob-store-contract.js";

const PASSPHRASE = "artifact encryption test passphrase";
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

async function readAll(stream: Readable | null): Promise<Buffer> {
  if (!stream) throw new Error("no blob");
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let harness: Harness;
const s3 = await startS3Server();

beforeAll(async () => {
  harness = await openHarness();
  await harness.vault.init(PASSPHRASE, ADMIN);
});
afterAll(async () => {
  await harness?.close();
  await s3?.stop();
});

runBlobStoreContract("encrypted over filesystem", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kai-blobs-enc-"));
  const inner = await FsBlobStore.open(dir);
  const store = new EncryptingBlobStore(inner, new VaultArtifactKey(harness.vault), true);
  return { store, staged: () => inner.stagedCount(), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

if (s3) {
  runBlobStoreContract("encrypted over s3", async () => {
    const inner = new S3BlobStore({
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      prefix: `enc-${randomBytes(6).toString("hex")}/`,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      partSizeBytes: 5 * 1024 * 1024,
      queueSize: 2,
    });
    const store = new EncryptingBlobStore(inner, new VaultArtifactKey(harness.vault), true);
    return { store, staged: () => inner.stagedCount(), cleanup: async () => inner.close() };
  });
}

describe("encrypting blob store", () => {
  let dir: string;
  let inner: FsBlobStore;
  let keys: VaultArtifactKey;
  let encrypting: EncryptingBlobStore;
  let plain: EncryptingBlobStore;
  const blobFile = (digest: string) => join(dir, "blobs", digest.slice(0, 2), digest);
  const put = async (store: EncryptingBlobStore, bytes: Buffer) => store.commit(await store.stage(Readable.from([bytes])), sha(bytes));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kai-blobs-enc-"));
    inner = await FsBlobStore.open(dir);
    keys = new VaultArtifactKey(harness.vault);
    encrypting = new EncryptingBlobStore(inner, keys, true);
    plain = new EncryptingBlobStore(inner, keys, false);
  });
  afterEach(async () => {
    if (!harness.vault.isUnlocked) await harness.vault.unlock(PASSPHRASE, ADMIN);
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps no plaintext at rest: a header, then 64 KiB segments with a tag each; the key is a #system/ vault secret", async () => {
    const bytes = Buffer.alloc(3 * SEGMENT_BYTES + 100, "secret words ");
    expect(await put(encrypting, bytes)).toEqual({ existed: false, encrypted: true });
    const atRest = await readFile(blobFile(sha(bytes)));
    expect(atRest.subarray(0, MAGIC.length).equals(MAGIC)).toBe(true);
    expect(atRest.length).toBe(HEADER_BYTES + bytes.length + 4 * 16);
    expect(atRest.includes(Buffer.from("secret words"))).toBe(false);
    expect((await readAll(await encrypting.read(sha(bytes)))).equals(bytes)).toBe(true);
    expect(Buffer.from((await harness.vault.getSecret(DEFAULT_ARTIFACT_KEY_SECRET, SERVER_ACTOR)).value, "base64").length).toBe(32);
  });

  it("reads any range by decrypting only the segments it overlaps, across boundaries, at the ends, and for exact multiples", async () => {
    for (const size of [1, SEGMENT_BYTES - 1, SEGMENT_BYTES, 2 * SEGMENT_BYTES, 5 * SEGMENT_BYTES + 7]) {
      const bytes = randomBytes(size);
      await put(encrypting, bytes);
      const ranges = [
        [0, size - 1],
        [0, 0],
        [size - 1, size - 1],
        [Math.max(0, SEGMENT_BYTES - 3), Math.min(size - 1, SEGMENT_BYTES + 3)],
        [Math.floor(size / 3), Math.floor((2 * size) / 3)],
      ];
      for (let i = 0; i < 6; i++) {
        const start = Math.floor(Math.random() * size);
        ranges.push([start, start + Math.floor(Math.random() * (size - start))]);
      }
      for (const [start, end] of ranges) {
        const got = await readAll(await encrypting.read(sha(bytes), { start: start!, end: end! }));
        expect(got.equals(bytes.subarray(start!, end! + 1)), `size ${size} range ${start}-${end}`).toBe(true);
      }
    }
    const empty = Buffer.alloc(0);
    await put(encrypting, empty);
    expect((await readAll(await encrypting.read(sha(empty)))).length).toBe(0);
  });

  it("dedupes by the plaintext digest: an older plain blob stays and is reported plain; plain blobs read while the vault is locked", async () => {
    const bytes = Buffer.from("written before encryption was enabled");
    expect(await put(plain, bytes)).toEqual({ existed: false, encrypted: false });
    expect((await readFile(blobFile(sha(bytes)))).equals(bytes)).toBe(true);
    expect(await put(encrypting, bytes)).toEqual({ existed: true, encrypted: false });
    expect((await readAll(await encrypting.read(sha(bytes)))).equals(bytes)).toBe(true);
    expect((await readAll(await encrypting.read(sha(bytes), { start: 8, end: 13 }))).toString()).toBe("before");
    await harness.vault.lock(ADMIN);
    expect((await readAll(await encrypting.read(sha(bytes)))).equals(bytes)).toBe(true);
  });

  it("still reads encrypted blobs once encryption is turned off, and encrypts a plain upload that starts like an encrypted blob", async () => {
    const secret = randomBytes(100_000);
    await put(encrypting, secret);
    expect((await readAll(await plain.read(sha(secret)))).equals(secret)).toBe(true);
    const lookalike = Buffer.concat([MAGIC, randomBytes(200)]);
    expect(await put(plain, lookalike)).toEqual({ existed: false, encrypted: true });
    expect((await readAll(await plain.read(sha(lookalike)))).equals(lookalike)).toBe(true);
    const short = MAGIC.subarray(0, 4);
    expect(await put(plain, short)).toEqual({ existed: false, encrypted: false });
    expect((await readAll(await plain.read(sha(short)))).equals(short)).toBe(true);
  });

  it("answers 503 vault_locked for encrypted writes and reads while the vault is locked, and works again once it is unlocked", async () => {
    const bytes = randomBytes(5000);
    await put(encrypting, bytes);
    await harness.vault.lock(ADMIN);
    const error = await expectCode(encrypting.stage(Readable.from([Buffer.from("x")])), "vault_locked");
    expect(error.status).toBe(503);
    await expectCode(encrypting.read(sha(bytes)), "vault_locked");
    await expectCode(encrypting.read(sha(bytes), { start: 1, end: 2 }), "vault_locked");
    await harness.vault.unlock(PASSPHRASE, ADMIN);
    expect((await readAll(await encrypting.read(sha(bytes)))).equals(bytes)).toBe(true);
  });

  it("refuses an altered segment, a segment spliced in from another blob, swapped segments and a truncated blob", async () => {
    const bytes = randomBytes(3 * SEGMENT_BYTES);
    await put(encrypting, bytes);
    const file = blobFile(sha(bytes));
    const original = await readFile(file);

    const altered = Buffer.from(original);
    altered[HEADER_BYTES + SEGMENT_BYTES + 16 + 5]! ^= 1;
    await writeFile(file, altered);
    await expect(readAll(await encrypting.read(sha(bytes)))).rejects.toThrow("integrity");
    await expect(readAll(await encrypting.read(sha(bytes), { start: SEGMENT_BYTES, end: SEGMENT_BYTES + 10 }))).rejects.toThrow("integrity");
    // The untouched first segment still reads by range.
    expect((await readAll(await encrypting.read(sha(bytes), { start: 0, end: 9 }))).equals(bytes.subarray(0, 10))).toBe(true);

    // A segment of another blob (another key, another header) spliced in.
    const other = randomBytes(2 * SEGMENT_BYTES);
    await put(encrypting, other);
    const spliced = Buffer.from(original);
    (await readFile(blobFile(sha(other)))).copy(spliced, HEADER_BYTES, HEADER_BYTES, HEADER_BYTES + SEGMENT_BYTES + 16);
    await writeFile(file, spliced);
    await expect(readAll(await encrypting.read(sha(bytes)))).rejects.toThrow("integrity");
    // Segments swapped within the blob.
    const swapped = Buffer.from(original);
    original.copy(swapped, HEADER_BYTES, HEADER_BYTES + SEGMENT_BYTES + 16, HEADER_BYTES + 2 * (SEGMENT_BYTES + 16));
    original.copy(swapped, HEADER_BYTES + SEGMENT_BYTES + 16, HEADER_BYTES, HEADER_BYTES + SEGMENT_BYTES + 16);
    await writeFile(file, swapped);
    await expect(readAll(await encrypting.read(sha(bytes)))).rejects.toThrow("integrity");

    await writeFile(file, original);
    await truncate(file, HEADER_BYTES + 2 * (SEGMENT_BYTES + 16));
    await expect(readAll(await encrypting.read(sha(bytes)))).rejects.toThrow("integrity");
  });
});
