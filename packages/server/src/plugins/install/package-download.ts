/**
 * @module plugins/install/package-download
 * Fetches an update's package to a file, hashing it on the way: http or https only, no redirects to other schemes
 * (fetch follows at most 20, all http(s)), a size cap enforced while the bytes arrive (and from Content-Length before
 * any), and one deadline for the whole download. The file is only installed once its SHA-256 matches the signed
 * checksum, so a compromised server can make an update fail but never install other bytes.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { ApiError } from "../../errors.js";

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
}

/** Writes the body at `url` to `file`; answers its hex SHA-256 and size. Throws ApiError. */
export async function downloadPackage(url: string, file: string, options: DownloadOptions): Promise<{ sha256: string; bytes: number }> {
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new ApiError("validation_failed", "the update's url must be http or https", [{ path: "manifest.url", message: "must be http or https" }]);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await fetch(parsed, { signal, redirect: "follow", headers: { accept: "application/gzip, application/octet-stream" } });
  } catch (error) {
    throw fetchError(error, parsed, options.timeoutMs);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw new ApiError("upstream_unreachable", `the update's package could not be fetched from ${parsed.origin}: HTTP ${response.status}`);
  }
  const announced = Number(response.headers.get("content-length"));
  if (announced > options.maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw new ApiError("payload_too_large", `the update's package is larger than this node accepts (plugins.maxPackageBytes, ${options.maxBytes} bytes)`);
  }
  const hash = createHash("sha256");
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > options.maxBytes) return done(new ApiError("payload_too_large", `the update's package is larger than this node accepts (plugins.maxPackageBytes, ${options.maxBytes} bytes)`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), meter, createWriteStream(file, { flags: "wx", mode: 0o600 }));
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw fetchError(error, parsed, options.timeoutMs);
  }
  return { sha256: hash.digest("hex"), bytes };
}

function fetchError(error: unknown, url: URL, timeoutMs: number): ApiError {
  const name = (error as Error).name;
  if (name === "TimeoutError" || name === "AbortError") return new ApiError("upstream_timeout", `the update's package did not arrive from ${url.origin} within ${timeoutMs} ms`);
  return new ApiError("upstream_unreachable", `the update's package could not be fetched from ${url.origin}`);
}
