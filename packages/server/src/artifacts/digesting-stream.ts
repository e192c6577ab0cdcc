/**
 * @module artifacts/digesting-stream
 * The one pass over an upload's bytes on their way to the blob store: SHA-256 and size computed as they stream
 * (the blob's address is known the moment the last byte is written, with no second read), the first bytes kept for
 * sniffing the content type, and the size limit enforced as soon as it is passed (the upload fails there, it is
 * not read to its end first).
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { ApiError } from "../errors.js";

/** What content sniffing needs at most (file-type reads up to 4100 bytes). */
export const SNIFF_BYTES = 4100;

export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash("sha256");
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;
  private total = 0;

  constructor(private readonly maxBytes: number) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.maxBytes) {
      callback(new ApiError("artifact_too_large", `the upload is larger than this node accepts (${this.maxBytes} bytes)`));
      return;
    }
    this.hash.update(chunk);
    if (this.headLength < SNIFF_BYTES) {
      const part = chunk.subarray(0, SNIFF_BYTES - this.headLength);
      this.headChunks.push(Buffer.from(part));
      this.headLength += part.length;
    }
    callback(null, chunk);
  }

  /** The digest, size and first bytes; call once the stream has ended. */
  result(): { sha256: string; size: number; head: Buffer } {
    return { sha256: this.hash.digest("hex"), size: this.total, head: Buffer.concat(this.headChunks) };
  }
}
