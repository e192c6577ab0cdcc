/**
 * @module backup/backup-envelope
 * The encrypted file a backup is: `MAGIC`, the header's length (u32, big-endian), the header (JSON,
 * `BackupHeaderSchema`: id, time, DID, KDF parameters, nonce, key check), then the archive encrypted with
 * AES-256-GCM, then the 16-byte tag. Everything before the ciphertext is the cipher's additional data, so a
 * header changed by hand fails authentication like changed content. The key comes from a passphrase through the
 * vault's own PBKDF2-SHA256 (vault/crypto/kdf.ts), with a fresh salt per backup.
 *
 * The header also carries an HMAC of a fixed label under the key: a wrong passphrase is told apart from a changed
 * file before a byte is decrypted (`backup_passphrase_wrong` against `backup_corrupt`). Decryption streams into a
 * file the caller must not use unless `decryptBackup` resolves: GCM only proves the bytes at the end.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BackupHeaderSchema, MAX_BACKUP_KDF_ITERATIONS, parseJson, type BackupHeader } from "@kai/protocol";
import { ApiError } from "../errors.js";
import { derivePassphraseKek, newPbkdf2Params } from "../vault/crypto/kdf.js";

export const MAGIC = Buffer.from("KAIBAK1\n", "latin1");
const TAG_BYTES = 16;
/** A header is a few hundred bytes; anything near this is not a backup. */
const MAX_HEADER_BYTES = 16 * 1024;
const CHECK_LABEL = "kai-backup-key-check/1";

export type HeaderFields = Omit<BackupHeader, "format" | "cipher" | "kdf" | "nonce" | "check">;

function checkOf(key: Buffer): string {
  return createHmac("sha256", key).update(CHECK_LABEL).digest("base64url");
}

function prefixOf(header: BackupHeader): Buffer {
  const body = Buffer.from(JSON.stringify(header), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([MAGIC, length, body]);
}

function corrupt(file: string, why: string): ApiError {
  return new ApiError("backup_corrupt", `${file} is not a readable backup: ${why}`);
}

/**
 * Encrypts `archive` into `path` (written as `<path>.partial`, renamed when whole, so a listing never shows half a
 * backup). Answers the header written.
 */
export async function writeBackup(path: string, fields: HeaderFields, passphrase: string, iterations: number, archive: Readable): Promise<BackupHeader> {
  // A header asking for more is refused by every reader (the cap keeps a forged header from costing minutes of CPU).
  if (iterations > MAX_BACKUP_KDF_ITERATIONS) {
    throw new ApiError("validation_failed", `backup.kdfIterations is ${iterations}: a backup may ask for at most ${MAX_BACKUP_KDF_ITERATIONS} PBKDF2 iterations`);
  }
  const { salt } = newPbkdf2Params(iterations);
  const key = await derivePassphraseKek(passphrase, { name: "pbkdf2-sha256", iterations, hash: "sha256", salt });
  const nonce = randomBytes(12);
  const header: BackupHeader = {
    format: 1,
    ...fields,
    cipher: "aes-256-gcm",
    kdf: { name: "pbkdf2-sha256", iterations, hash: "sha256", salt },
    check: checkOf(key),
    nonce: nonce.toString("base64url"),
  };
  const prefix = prefixOf(header);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  key.fill(0);
  cipher.setAAD(prefix);
  const partial = `${path}.partial`;
  try {
    const out = createWriteStream(partial, { mode: 0o600 });
    out.write(prefix);
    await pipeline(archive, cipher, out);
    const handle = await open(partial, "a");
    try {
      await handle.write(cipher.getAuthTag());
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, path);
    return header;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** Reads and checks the header (no passphrase needed). Throws `backup_corrupt` for anything that is not one. */
export async function readBackupHeader(path: string): Promise<{ header: BackupHeader; prefix: Buffer; size: number }> {
  const size = (await stat(path)).size;
  const handle = await open(path, "r");
  try {
    const start = Buffer.alloc(MAGIC.length + 4);
    const { bytesRead } = await handle.read(start, 0, start.length, 0);
    if (bytesRead < start.length || !start.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt(path, "it does not start like a kai backup");
    const length = start.readUInt32BE(MAGIC.length);
    if (length > MAX_HEADER_BYTES || start.length + length + TAG_BYTES >= size) throw corrupt(path, "its header is cut short or too long");
    const body = Buffer.alloc(length);
    await handle.read(body, 0, length, start.length);
    const json = parseJson(body.toString("utf8"));
    const parsed = json.ok ? BackupHeaderSchema.safeParse(json.value) : null;
    if (!parsed?.success) throw corrupt(path, "its header is not a backup header");
    // The bytes as read are the additional data: never a re-serialisation of the parsed header.
    return { header: parsed.data, prefix: Buffer.concat([start, body]), size };
  } finally {
    await handle.close();
  }
}

/**
 * Decrypts the backup at `path` into `out` (the gzipped archive). Throws `backup_passphrase_wrong` when the
 * passphrase's key fails the header's check, `backup_corrupt` when authentication fails (`out` is removed then).
 */
export async function decryptBackup(path: string, passphrase: string, out: string): Promise<BackupHeader> {
  const { header, prefix, size } = await readBackupHeader(path);
  const key = await derivePassphraseKek(passphrase, header.kdf);
  try {
    // Both are 43 characters (the schema's pattern and a SHA-256 in base64url).
    if (!timingSafeEqual(Buffer.from(checkOf(key)), Buffer.from(header.check))) {
      throw new ApiError("backup_passphrase_wrong", `the passphrase does not open the backup ${header.id}`);
    }
    const tag = Buffer.alloc(TAG_BYTES);
    const handle = await open(path, "r");
    try {
      await handle.read(tag, 0, TAG_BYTES, size - TAG_BYTES);
    } finally {
      await handle.close();
    }
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(header.nonce, "base64url"));
    decipher.setAAD(prefix);
    decipher.setAuthTag(tag);
    try {
      await pipeline(createReadStream(path, { start: prefix.length, end: size - TAG_BYTES - 1 }), decipher, createWriteStream(out, { mode: 0o600 }));
    } catch (error) {
      await rm(out, { force: true });
      if (error instanceof Error && /authenticate/i.test(error.message)) throw corrupt(path, "its content was changed or cut short (authentication failed)");
      throw error;
    }
    return header;
  } finally {
    key.fill(0);
  }
}
