/**
 * A real S3-compatible server for tests, started by the test itself: s3rver (an npm devDependency, so `npm ci` is
 * all it needs: no Docker, no binary download) in this process, on a free loopback port, keeping its objects in a
 * temporary folder removed by `stop()`. It speaks the S3 REST API over HTTP with path-style buckets and checks
 * SigV4 signatures against its fixed credentials (`S3RVER` / `S3RVER`), so the blob store talks to it exactly as it
 * would to MinIO or AWS. One bucket, `kai-test`, exists from the start; tests keep apart by key prefix.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { stat } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type S3rverClass from "s3rver";
import { missingPart } from "./real-parts.js";

export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

const HOW_TO_GET = "run `npm ci` (s3rver is a devDependency of @kai/server)";
export const S3_TEST_BUCKET = "kai-test";

/** The part of s3rver's file store (`lib/stores/filesystem.js`) that `answerWritesOnceWritten` wraps. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putObject(object: { bucket: string; key: string }): Promise<{ size: number }>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: unknown): Promise<{ size: number }>;
}

/**
 * s3rver 3.7 answers a PUT (and an upload part) once the bytes have passed its MD5 transform, before its file stream
 * has written them all (and a Buffer body without waiting at all); a copy or GET right after the answer could then
 * read a file cut short. S3 itself has read-after-write consistency, which the blob store relies on (the encrypted
 * store's "many concurrent uploads" contract test read a blob whose copy had taken a half-written staging file, 1 run
 * in ~40). Each write here is answered only once its file holds every byte it reported.
 */
function answerWritesOnceWritten(store: FilesystemStore): void {
  const whenWritten = async (file: string, size: number) => {
    for (let waitedMs = 0; waitedMs < 10_000; waitedMs += 2) {
      const written = await stat(file).then((info) => info.size, () => -1);
      if (written >= size) return;
      await delay(2);
    }
    throw new Error(`s3rver did not finish writing ${file}`);
  };
  const putObject = store.putObject.bind(store);
  store.putObject = async (object) => {
    const result = await putObject(object);
    await whenWritten(store.getResourcePath(object.bucket, object.key, "object"), result.size);
    return result;
  };
  const putPart = store.putPart.bind(store);
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const result = await putPart(bucket, uploadId, partNumber, content);
    await whenWritten(join(store.getResourcePath(bucket, undefined, "uploads"), uploadId, String(partNumber)), result.size);
    return result;
  };
}

/**
 * Starts a private S3-compatible server; null (with a skip message) when s3rver is not installed and CI is not set.
 * Call `stop()` in afterAll.
 */
export async function startS3Server(): Promise<S3Server | null> {
  let S3rver: typeof S3rverClass;
  try {
    S3rver = (await import("s3rver")).default;
  } catch {
    missingPart("an S3-compatible server (the npm package s3rver)", HOW_TO_GET);
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "kai-s3-"));
  // Port 0: the system picks a free one, no window in which another process could take it.
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir, configureBuckets: [{ name: S3_TEST_BUCKET, configs: [] }] });
  answerWritesOnceWritten((server as unknown as { store: FilesystemStore }).store);
  let address;
  try {
    address = await server.run();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: S3_TEST_BUCKET,
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    async stop() {
      await server.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
