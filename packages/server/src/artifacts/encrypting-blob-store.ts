/**
 * @module artifacts/encrypting-blob-store
 * Encryption at rest for artifacts (`artifacts.encryption.enabled`, docs/data/artifacts.md "Encryption"): a
 * `BlobStore` over another one (filesystem or S3) that encrypts new blobs with a per-blob random key, itself wrapped
 * under the vault-held key (artifact-key.ts). Node's `node:crypto` only, AES-256-GCM with the conventions of the
 * vault (docs/decisions/0004-vault-cryptography.md): 96-bit nonces, 16-byte tags checked on decipher, one-shot
 * decryption per unit (no byte of a segment is released before its tag verified), domain-separated AAD.
 *
 * Format of an encrypted blob (all integers big-endian):
 *   header (89 bytes) = magic "\x89KAIAEB\n" (8) | version 1 (1) | key id (8) | segment size S (u32, 4)
 *                       | wrap nonce (12) | wrapped blob key (32) | wrap tag (16) | nonce prefix (8)
 *   then segments: segment i = AES-256-GCM(blob key, nonce = prefix(8) | i (u32), plaintext[i·S, (i+1)·S)) | tag (16)
 * - The blob key is wrapped with AES-256-GCM under the vault key, AAD = "kai-artifacts/1 dek" | header[0, 21).
 * - Segment AAD = "kai-artifacts/1 seg" | SHA-256(header) | i (u32) | final (1 byte). Every blob has at least one
 *   segment and exactly one final one (the last, possibly empty). So a segment cannot be altered, moved to another
 *   position or spliced in from another blob, and a blob cut short fails (its last segment is not final).
 * - Not bound: the blob's address. A blob is sealed while it streams in, before its address is known (and derived
 *   blobs, e.g. thumbnails, are stored under an address that is not their digest), so whoever can write to the
 *   store can put one whole encrypted blob under another address, exactly as with plain blobs; they cannot read
 *   or alter any blob's bytes without the vault's key.
 * - S = 64 KiB: a Range read decrypts only the segments it overlaps (the header, then ⌈range / S⌉ + 1 segments at
 *   most), never the whole blob; the overhead is 16 bytes per 64 KiB plus the header.
 *
 * Addresses stay the SHA-256 of the plaintext, so dedupe works across encrypted and plain blobs: an upload whose
 * bytes are already stored (in either form) keeps the stored blob. Whether a blob is encrypted is told by the blob
 * itself (the magic), so blobs written before encryption was enabled read as they are, and encrypted blobs still
 * read after it is disabled (this wrapper is always installed; with encryption off it writes plain blobs). A plain
 * upload that happens to start with the magic is encrypted anyway, so no plain blob is ever mistaken for an encrypted
 * one. The commit reports which form the stored blob has (`encrypted`, the artifact's metadata field).
 *
 * While the vault is locked, writing (with encryption on) and reading an encrypted blob fail with 503
 * `vault_locked`; plain blobs read as usual.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { ArtifactKey, ArtifactKeySource } from "./artifact-key.js";
import type { BlobStore, ByteRange, StagedBlob, StoredBlob } from "./blob-store.js";

export const MAGIC = Buffer.from("\x89KAIAEB\n", "latin1");
const VERSION = 1;
export const SEGMENT_BYTES = 64 * 1024;
const TAG = 16;
export const HEADER_BYTES = 8 + 1 + 8 + 4 + 12 + 32 + 16 + 8;
/** The header's part that the wrapped key's AAD covers (magic, version, key id, segment size). */
const FIXED = 8 + 1 + 8 + 4;
const DEK_AAD = Buffer.from("kai-artifacts/1 dek");
const SEG_AAD = Buffer.from("kai-artifacts/1 seg");

interface Header {
  bytes: Buffer;
  keyId: Buffer;
  segment: number;
  wrapNonce: Buffer;
  wrapped: Buffer;
  wrapTag: Buffer;
  noncePrefix: Buffer;
}

interface SealedStaged extends StagedBlob {
  readonly encrypted: boolean;
}

function segmentAad(headerHash: Buffer, index: number, final: boolean): Buffer {
  const fields = Buffer.alloc(5);
  fields.writeUInt32BE(index, 0);
  fields[4] = final ? 1 : 0;
  return Buffer.concat([SEG_AAD, headerHash, fields]);
}

function nonceOf(prefix: Buffer, index: number): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, 8);
  return nonce;
}

/** A new blob's header and its (unwrapped) key. */
function newHeader(key: ArtifactKey): { header: Header; dek: Buffer } {
  const dek = randomBytes(32);
  const fixed = Buffer.alloc(FIXED);
  MAGIC.copy(fixed, 0);
  fixed[8] = VERSION;
  key.id.copy(fixed, 9);
  fixed.writeUInt32BE(SEGMENT_BYTES, 17);
  const wrapNonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key.wrapping, wrapNonce, { authTagLength: TAG });
  cipher.setAAD(Buffer.concat([DEK_AAD, fixed]));
  const wrapped = Buffer.concat([cipher.update(dek), cipher.final()]);
  const wrapTag = cipher.getAuthTag();
  const noncePrefix = randomBytes(8);
  const bytes = Buffer.concat([fixed, wrapNonce, wrapped, wrapTag, noncePrefix]);
  return { header: { bytes, keyId: key.id, segment: SEGMENT_BYTES, wrapNonce, wrapped, wrapTag, noncePrefix }, dek };
}

/** The header of an encrypted blob, or null when `bytes` do not start with the magic. */
function parseHeader(bytes: Buffer): Header | null {
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  if (bytes.length < HEADER_BYTES) throw new Error("an encrypted artifact blob is shorter than its header");
  if (bytes[8] !== VERSION) throw new Error(`an encrypted artifact blob has an unknown format version (${bytes[8]})`);
  const segment = bytes.readUInt32BE(17);
  if (segment < 1024 || segment > 16 * 1024 * 1024) throw new Error("an encrypted artifact blob has an invalid segment size");
  return {
    bytes: Buffer.from(bytes.subarray(0, HEADER_BYTES)),
    keyId: Buffer.from(bytes.subarray(9, 17)),
    segment,
    wrapNonce: Buffer.from(bytes.subarray(FIXED, FIXED + 12)),
    wrapped: Buffer.from(bytes.subarray(FIXED + 12, FIXED + 44)),
    wrapTag: Buffer.from(bytes.subarray(FIXED + 44, FIXED + 60)),
    noncePrefix: Buffer.from(bytes.subarray(FIXED + 60, FIXED + 68)),
  };
}

function unwrap(header: Header, key: ArtifactKey): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key.wrapping, header.wrapNonce, { authTagLength: TAG });
  decipher.setAAD(Buffer.concat([DEK_AAD, header.bytes.subarray(0, FIXED)]));
  decipher.setAuthTag(header.wrapTag);
  try {
    return Buffer.concat([decipher.update(header.wrapped), decipher.final()]);
  } catch {
    throw new Error("an encrypted artifact blob's key does not open under the vault's artifact key (altered, or another key)");
  }
}

/**
 * Plaintext in, blob bytes out: encrypted (header, then segments), or, when `encrypt` is "unless-plain-is-safe",
 * the plaintext unchanged unless it starts with the magic (then encrypted after all, see the module header).
 */
class SealingStream extends Transform {
  private decided: "plain" | "sealed" | null = null;
  private head: Buffer[] = [];
  private headLength = 0;
  private pending: Buffer = Buffer.alloc(0);
  private index = 0;
  private dek: Buffer | null = null;
  private header: Header | null = null;
  private headerHash: Buffer | null = null;

  constructor(
    private readonly mode: "always" | "when-ambiguous",
    private readonly keys: ArtifactKeySource,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  get encrypted(): boolean {
    return this.decided === "sealed";
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.decided === "plain") return callback(null, chunk);
    if (this.decided === "sealed") return this.sealChunk(chunk, callback);
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.mode === "when-ambiguous" && this.headLength < MAGIC.length) return callback();
    const head = Buffer.concat(this.head);
    this.head = [];
    const sealing = this.mode === "always" || head.subarray(0, MAGIC.length).equals(MAGIC);
    if (!sealing) {
      this.decided = "plain";
      return callback(null, head);
    }
    this.begin().then(
      () => this.sealChunk(head, callback),
      (error: unknown) => callback(error as Error),
    );
  }

  override _flush(callback: TransformCallback): void {
    if (this.decided === null) {
      // The whole input was shorter than the magic (with "when-ambiguous"), or empty.
      const head = Buffer.concat(this.head);
      this.head = [];
      if (this.mode === "when-ambiguous") {
        this.decided = "plain";
        return callback(null, head);
      }
      this.begin().then(
        () => this.sealChunk(head, (error) => (error ? callback(error) : this.finish(callback))),
        (error: unknown) => callback(error as Error),
      );
      return;
    }
    if (this.decided === "plain") return callback();
    this.finish(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.dek?.fill(0);
    callback(error);
  }

  private async begin(): Promise<void> {
    const key = await this.keys.current();
    const { header, dek } = newHeader(key);
    this.header = header;
    this.dek = dek;
    this.headerHash = createHash("sha256").update(header.bytes).digest();
    this.decided = "sealed";
    this.push(header.bytes);
  }

  private sealChunk(chunk: Buffer, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    // A segment is sealed only once more bytes follow it: the last one must be marked final.
    let offset = 0;
    while (this.pending.length - offset > SEGMENT_BYTES) {
      this.push(this.seal(this.pending.subarray(offset, offset + SEGMENT_BYTES), false));
      offset += SEGMENT_BYTES;
    }
    this.pending = offset === 0 ? this.pending : Buffer.from(this.pending.subarray(offset));
    callback();
  }

  private finish(callback: TransformCallback): void {
    this.push(this.seal(this.pending, true));
    this.pending = Buffer.alloc(0);
    this.dek?.fill(0);
    callback();
  }

  private seal(plain: Buffer, final: boolean): Buffer {
    const cipher = createCipheriv("aes-256-gcm", this.dek!, nonceOf(this.header!.noncePrefix, this.index), { authTagLength: TAG });
    cipher.setAAD(segmentAad(this.headerHash!, this.index, final));
    this.index += 1;
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }
}

/**
 * Segments in (starting at segment `first`), plaintext out: `skip` bytes dropped, then at most `take` passed.
 * `whole`: the input runs to the blob's end, so its last segment must be the final one.
 */
class OpeningStream extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private index: number;
  private skipping: number;
  private remaining: number;
  private readonly unit: number;
  private readonly headerHash: Buffer;
  private readonly whole: boolean;

  constructor(
    private readonly header: Header,
    private readonly dek: Buffer,
    options: { first: number; skip: number; take: number; whole: boolean },
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.index = options.first;
    this.skipping = options.skip;
    this.remaining = options.take;
    this.whole = options.whole;
    this.unit = header.segment + TAG;
    this.headerHash = createHash("sha256").update(header.bytes).digest();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    try {
      // Only a unit followed by more bytes is surely not the last one.
      while (this.pending.length - offset > this.unit) {
        this.deliver(this.open(this.pending.subarray(offset, offset + this.unit), false));
        offset += this.unit;
      }
    } catch (error) {
      return callback(error as Error);
    }
    this.pending = offset === 0 ? this.pending : Buffer.from(this.pending.subarray(offset));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.pending.length < TAG) throw new Error("an encrypted artifact blob is cut short");
      let plain: Buffer;
      if (this.whole) {
        plain = this.open(this.pending, true);
      } else {
        // A range's last segment may or may not be the blob's last one.
        try {
          plain = this.open(this.pending, false);
        } catch {
          this.index -= 1;
          plain = this.open(this.pending, true);
        }
      }
      this.deliver(plain);
      callback();
    } catch (error) {
      callback(error as Error);
    } finally {
      this.dek.fill(0);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.dek.fill(0);
    callback(error);
  }

  private deliver(plain: Buffer): void {
    let part = plain;
    if (this.skipping > 0) {
      const dropped = Math.min(this.skipping, part.length);
      part = part.subarray(dropped);
      this.skipping -= dropped;
    }
    if (part.length > this.remaining) part = part.subarray(0, this.remaining);
    this.remaining -= part.length;
    if (part.length > 0) this.push(part);
  }

  private open(unit: Buffer, final: boolean): Buffer {
    const index = this.index;
    this.index += 1;
    const decipher = createDecipheriv("aes-256-gcm", this.dek, nonceOf(this.header.noncePrefix, index), { authTagLength: TAG });
    decipher.setAAD(segmentAad(this.headerHash, index, final));
    decipher.setAuthTag(unit.subarray(unit.length - TAG));
    try {
      // One-shot: nothing of the segment leaves before its tag verified.
      return Buffer.concat([decipher.update(unit.subarray(0, unit.length - TAG)), decipher.final()]);
    } catch {
      throw new Error(`an encrypted artifact blob failed its integrity check (segment ${index}): it was altered or cut short`);
    }
  }
}

/** Reads up to `n` bytes from the front of `stream`; what it read beyond them is put back. */
async function readPrefix(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  const onEnd = () => {
    ended = true;
  };
  stream.once("end", onEnd);
  try {
    while (length < n && !ended) {
      const chunk = stream.read() as Buffer | null;
      if (chunk !== null) {
        chunks.push(chunk);
        length += chunk.length;
        continue;
      }
      if (stream.readableEnded) break;
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          stream.off("readable", done);
          stream.off("end", done);
          stream.off("error", failed);
          resolve();
        };
        const failed = (error: Error) => {
          stream.off("readable", done);
          stream.off("end", done);
          reject(error);
        };
        stream.once("readable", done);
        stream.once("end", done);
        stream.once("error", failed);
      });
    }
  } finally {
    stream.off("end", onEnd);
  }
  const all = Buffer.concat(chunks);
  if (all.length > n) stream.unshift(all.subarray(n));
  return all.subarray(0, n);
}

/** `prefix`, then the rest of `stream` (destroying the result destroys `stream`). */
function prepend(prefix: Buffer, stream: Readable): Readable {
  return Readable.from(
    (async function* () {
      try {
        if (prefix.length > 0) yield prefix;
        for await (const chunk of stream) yield chunk as Buffer;
      } finally {
        stream.destroy();
      }
    })(),
    { objectMode: false },
  );
}

/** Pipes `from` into `to`, passing `from`'s failure on and stopping `from` when `to` is closed early. */
function feed<T extends Transform>(from: Readable, to: T): T {
  from.once("error", (error) => to.destroy(error));
  to.once("close", () => from.destroy());
  from.pipe(to);
  return to;
}

export class EncryptingBlobStore implements BlobStore {
  readonly kind: string;

  constructor(
    private readonly inner: BlobStore,
    private readonly keys: ArtifactKeySource,
    /** Encrypt new blobs (`artifacts.encryption.enabled`); off: new blobs are plain, encrypted ones still read. */
    private readonly encryptNew: boolean,
  ) {
    this.kind = inner.kind;
  }

  async stage(source: Readable): Promise<SealedStaged> {
    if (this.encryptNew) await this.keys.current(); // a locked vault refuses before a byte is read
    const sealing = feed(source, new SealingStream(this.encryptNew ? "always" : "when-ambiguous", this.keys));
    const staged = await this.inner.stage(sealing);
    return { ref: staged.ref, encrypted: sealing.encrypted };
  }

  async commit(staged: StagedBlob, sha256: string): Promise<{ existed: boolean; encrypted: boolean }> {
    const committed = await this.inner.commit({ ref: staged.ref }, sha256);
    if (!committed.existed) return { existed: false, encrypted: (staged as Partial<SealedStaged>).encrypted === true };
    // The blob was there already, in whichever form it was written: the artifact says which.
    return { existed: true, encrypted: await this.isEncrypted(sha256) };
  }

  discard(staged: StagedBlob): Promise<void> {
    return this.inner.discard({ ref: staged.ref });
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable | null> {
    // The header first: a whole read takes it from the front of the one stream; a range read asks for it alone, so a
    // large blob is never fetched only to be dropped.
    const stream = await this.inner.read(sha256, range ? { start: 0, end: HEADER_BYTES - 1 } : undefined);
    if (!stream) return null;
    let header: Header | null;
    let head: Buffer;
    try {
      head = await readPrefix(stream, HEADER_BYTES);
      header = parseHeader(head);
    } catch (error) {
      stream.destroy();
      throw error;
    }
    if (!header) {
      if (!range) return prepend(head, stream);
      stream.destroy();
      return this.inner.read(sha256, range);
    }
    if (range) stream.destroy();
    let dek: Buffer;
    try {
      dek = await this.blobKey(header);
    } catch (error) {
      stream.destroy();
      throw error;
    }
    if (!range) return feed(stream, new OpeningStream(header, dek, { first: 0, skip: 0, take: Number.MAX_SAFE_INTEGER, whole: true }));
    const unit = header.segment + TAG;
    const first = Math.floor(range.start / header.segment);
    const last = Math.floor(range.end / header.segment);
    const ciphertext = await this.inner.read(sha256, { start: HEADER_BYTES + first * unit, end: HEADER_BYTES + (last + 1) * unit - 1 }).catch((error: unknown) => {
      dek.fill(0);
      throw error;
    });
    if (!ciphertext) {
      dek.fill(0);
      return null;
    }
    return feed(ciphertext, new OpeningStream(header, dek, { first, skip: range.start - first * header.segment, take: range.end - range.start + 1, whole: false }));
  }

  has(sha256: string): Promise<boolean> {
    return this.inner.has(sha256);
  }

  remove(sha256: string): Promise<void> {
    return this.inner.remove(sha256);
  }

  /** The inner store's blobs (sizes as stored: an encrypted blob's ciphertext). */
  list(): AsyncIterable<StoredBlob> {
    return this.inner.list();
  }

  sweepStaged(olderThan: Date, options?: { dryRun?: boolean }): Promise<{ removed: number; bytes: number }> {
    return this.inner.sweepStaged(olderThan, options);
  }

  /** Whether the stored blob `sha256` is encrypted (false when there is none). */
  async isEncrypted(sha256: string): Promise<boolean> {
    // A whole read (dropped after the header): a range would be refused on an empty blob by S3.
    const stream = await this.inner.read(sha256);
    if (!stream) return false;
    try {
      return parseHeader(await readPrefix(stream, HEADER_BYTES)) !== null;
    } finally {
      stream.destroy();
    }
  }

  private async blobKey(header: Header): Promise<Buffer> {
    let key = await this.keys.current();
    if (!key.id.equals(header.keyId)) {
      // Perhaps another instance made the key just now and this one cached an earlier read: read it once more.
      this.keys.forget();
      key = await this.keys.current();
      if (!key.id.equals(header.keyId)) throw new Error("an encrypted artifact blob was encrypted under another key than the vault's artifact key");
    }
    return unwrap(header, key);
  }
}
