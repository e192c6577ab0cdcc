/**
 * Turning encryption at rest on and off on a real node (SQLite, blobs on disk, the vault's key-file default): an
 * artifact stored before encryption was enabled still downloads afterwards (whole and by Range) and says it is not
 * encrypted; one stored with encryption on is ciphertext on disk and still downloads after encryption is turned off.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { UploadArtifactResponse } from "@kai/protocol";
import { MAGIC } from "../../src/artifacts/encrypting-blob-store.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

const dataDir = mkdtempSync(join(tmpdir(), "kai-enc-node-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const blobFile = (digest: string) => join(dataDir, "artifacts", "blobs", digest.slice(0, 2), digest);

async function withNode<T>(encrypted: boolean, work: (server: TestServer, token: string) => Promise<T>): Promise<T> {
  const server = await startTestServer({ keepDataDir: dataDir, config: { artifacts: { encryption: { enabled: encrypted } } } });
  try {
    return await work(server, await mintToken(server, ["artifacts:read", "artifacts:write"], "alice"));
  } finally {
    await server.dispose();
  }
}

async function upload(server: TestServer, token: string, bytes: Buffer, name: string): Promise<UploadArtifactResponse> {
  const response = await server.request(`/api/artifacts?name=${name}`, { method: "POST", token, body: new Uint8Array(bytes), headers: { "content-type": "application/octet-stream" } });
  expect(response.status).toBe(201);
  return (await response.json()) as UploadArtifactResponse;
}

async function download(server: TestServer, token: string, id: string, range?: string): Promise<Buffer> {
  const response = await server.request(`/api/artifacts/${id}/content`, { token, ...(range ? { headers: { range } } : {}) });
  expect(response.status).toBe(range ? 206 : 200);
  return Buffer.from(await response.arrayBuffer());
}

describe("encryption at rest, turned on and off", () => {
  it("reads blobs stored before it was enabled, and encrypted blobs after it is disabled", async () => {
    const before = randomBytes(150_000);
    const during = randomBytes(200_000);
    const plain = await withNode(false, async (server, token) => (await upload(server, token, before, "before.bin")).artifact);
    expect(plain.encrypted).toBe(false);
    expect(readFileSync(blobFile(sha(before))).equals(before)).toBe(true);

    const sealed = await withNode(true, async (server, token) => {
      expect((await download(server, token, plain.id)).equals(before)).toBe(true);
      expect((await download(server, token, plain.id, "bytes=70000-70009")).equals(before.subarray(70_000, 70_010))).toBe(true);
      // The same bytes again: deduplicated onto the plain blob, and said to be plain.
      const again = await upload(server, token, before, "before-again.bin");
      expect(again).toMatchObject({ deduplicated: true, artifact: { encrypted: false } });
      const stored = (await upload(server, token, during, "during.bin")).artifact;
      expect(stored.encrypted).toBe(true);
      expect((await download(server, token, stored.id, "bytes=65530-65545")).equals(during.subarray(65_530, 65_546))).toBe(true);
      return stored;
    });
    const atRest = readFileSync(blobFile(sha(during)));
    expect(atRest.subarray(0, MAGIC.length).equals(MAGIC)).toBe(true);
    expect(atRest.includes(during.subarray(0, 64))).toBe(false);

    await withNode(false, async (server, token) => {
      expect((await download(server, token, sealed.id)).equals(during)).toBe(true);
      expect((await download(server, token, sealed.id, "bytes=-5")).equals(during.subarray(during.length - 5))).toBe(true);
      expect((await download(server, token, plain.id)).equals(before)).toBe(true);
    });
  }, 60_000);
});
