/**
 * Artifacts end to end over HTTP on nodes whose blobs live in a real S3-compatible server (test/helpers/s3-server.ts):
 * one node storing plain blobs, one with encryption at rest (its key in the node's vault). Streamed upload (larger
 * than a multipart part), download whole and by Range with the ETag, dedupe, delete down to the object in the bucket;
 * on the encrypting node no plaintext in the bucket, and a locked vault a 503 `vault_locked`; the S3 credentials in
 * no response and no log line.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { Artifact, UploadArtifactResponse } from "@kai/protocol";
import { startS3Server } from "../helpers/s3-server.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

const s3 = await startS3Server();
afterAll(async () => {
  await s3?.stop();
});

const MIB = 1024 * 1024;
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function bucketClient(): S3Client {
  return new S3Client({
    endpoint: s3!.endpoint,
    region: s3!.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

async function objectKeys(client: S3Client, prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: s3!.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((entry) => entry.Key ?? "");
}

for (const encrypted of [false, true]) {
  describe.runIf(s3 !== null)(`artifacts on S3${encrypted ? ", encrypted at rest" : ""}`, () => {
    const prefix = `node-${encrypted ? "enc" : "plain"}-${randomBytes(4).toString("hex")}/`;
    let server: TestServer;
    let alice: string;
    let client: S3Client;
    let configDir: string;

    const upload = async (bytes: Buffer, name: string): Promise<{ status: number; body: UploadArtifactResponse }> => {
      const response = await server.request(`/api/artifacts?name=${name}`, { method: "POST", token: alice, body: new Uint8Array(bytes), headers: { "content-type": "application/octet-stream" } });
      return { status: response.status, body: (await response.json()) as UploadArtifactResponse };
    };

    beforeAll(async () => {
      // A config file as an operator writes it: the credentials read from the environment through `@env:`.
      configDir = mkdtempSync(join(tmpdir(), "kai-s3-config-"));
      const configFile = join(configDir, "kai.yaml");
      const artifacts = {
        maxBytes: 64 * MIB,
        store: "s3",
        s3: { endpoint: s3!.endpoint, region: s3!.region, bucket: s3!.bucket, prefix, forcePathStyle: true, accessKeyId: "@env:KAI_TEST_S3_KEY_ID", secretAccessKey: "@env:KAI_TEST_S3_SECRET", partSizeBytes: 5 * MIB },
        encryption: { enabled: encrypted },
      };
      writeFileSync(configFile, JSON.stringify({ artifacts }));
      server = await startTestServer({ configFile, env: { KAI_TEST_S3_KEY_ID: s3!.accessKeyId, KAI_TEST_S3_SECRET: s3!.secretAccessKey } });
      alice = await mintToken(server, ["artifacts:read", "artifacts:write"], "alice");
      client = bucketClient();
    }, 30_000);
    afterAll(async () => {
      client?.destroy();
      await server?.dispose();
      rmSync(configDir, { recursive: true, force: true });
    });

    it("uploads a file larger than a part, downloads it whole and by Range with its ETag, and dedupes", async () => {
      const bytes = randomBytes(7 * MIB + 11);
      const first = await upload(bytes, "big.bin");
      expect(first.status).toBe(201);
      expect(first.body.artifact).toMatchObject({ size: bytes.length, sha256: sha(bytes), encrypted });
      const url = `/api/artifacts/${first.body.artifact.id}/content`;

      const whole = await server.request(url, { token: alice });
      expect(whole.status).toBe(200);
      expect(whole.headers.get("etag")).toBe(`"${sha(bytes)}"`);
      expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);

      const start = 5 * MIB - 100;
      const part = await server.request(url, { token: alice, headers: { range: `bytes=${start}-${start + 199_999}` } });
      expect(part.status).toBe(206);
      expect(part.headers.get("content-range")).toBe(`bytes ${start}-${start + 199_999}/${bytes.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(start, start + 200_000))).toBe(true);

      const suffix = await server.request(url, { token: alice, headers: { range: "bytes=-10" } });
      expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true);
      const cached = await server.request(url, { token: alice, headers: { "if-none-match": `"${sha(bytes)}"` } });
      expect(cached.status).toBe(304);

      const again = await upload(bytes, "copy.bin");
      expect(again.status).toBe(201);
      expect(again.body.deduplicated).toBe(true);
      const blobKey = `${prefix}blobs/${sha(bytes).slice(0, 2)}/${sha(bytes)}`;
      expect(await objectKeys(client, prefix)).toEqual([blobKey]);

      const stored = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3!.bucket, Key: blobKey }))).Body!.transformToByteArray());
      if (encrypted) {
        expect(stored.length).toBeGreaterThan(bytes.length);
        expect(stored.includes(bytes.subarray(1000, 1064))).toBe(false);
      } else {
        expect(stored.equals(bytes)).toBe(true);
      }

      // The blob goes with its last artifact.
      expect((await server.request(`/api/artifacts/${first.body.artifact.id}`, { method: "DELETE", token: alice })).status).toBe(204);
      expect(await objectKeys(client, prefix)).toEqual([blobKey]);
      expect((await server.request(`/api/artifacts/${again.body.artifact.id}`, { method: "DELETE", token: alice })).status).toBe(204);
      expect(await objectKeys(client, prefix)).toEqual([]);
    }, 60_000);

    it("keeps the S3 secret key out of the configuration shown and out of the logs", async () => {
      // s3rver's fixed credentials have the same id and secret, so the check is on the field, not the string.
      const shown = (await (await server.request("/api/config")).json()) as { config: { artifacts: { s3: Record<string, unknown> } }; redacted: string[] };
      expect(shown.config.artifacts.s3.secretAccessKey).not.toBe(s3!.secretAccessKey);
      expect(shown.redacted).toContain("artifacts.s3.secretAccessKey");
      expect(server.logs.join("\n")).not.toMatch(/secretAccessKey"\s*:\s*"S3RVER/);
    });

    if (encrypted) {
      it("answers 503 vault_locked while the vault is locked, and serves the artifact again once it is unlocked", async () => {
        const bytes = Buffer.from("a note kept encrypted at rest");
        const { body } = await upload(bytes, "note.txt");
        expect((await server.request("/api/vault/lock", { method: "POST" })).status).toBe(200);
        try {
          const refused = await server.request(`/api/artifacts/${body.artifact.id}/content`, { token: alice });
          expect(refused.status).toBe(503);
          expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("vault_locked");
          const upload2 = await upload(randomBytes(100), "while-locked.bin");
          expect(upload2.status).toBe(503);
        } finally {
          const unlocked = await server.request("/api/vault/unlock", { method: "POST", json: {} });
          expect(unlocked.status).toBe(200);
        }
        const served = await server.request(`/api/artifacts/${body.artifact.id}/content`, { token: alice });
        expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).toBe(true);
        const listed = await server.request(`/api/artifacts/${body.artifact.id}`, { token: alice });
        expect(((await listed.json()) as { artifact: Artifact }).artifact.encrypted).toBe(true);
      });
    }
  });
}
