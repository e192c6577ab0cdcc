/**
 * @module vault/crypto/aead
 * AES-256-GCM, the one cipher of the vault, with the rules that make it safe to use from Node:
 * a fresh random 96-bit nonce per encryption, a 16-byte tag that is ENFORCED on decryption
 * (`authTagLength: 16`; without it Node accepts a truncated 4-byte tag), and one-shot decryption: the
 * plaintext is returned only after `final()` verified the tag, never streamed out before.
 * Also the length-prefixed encoding of additional authenticated data (AAD), so that two different
 * field lists can never produce the same AAD bytes.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const ALGORITHM = "aes-256-gcm";

/** Any failure to decrypt: wrong key, wrong AAD, tampered or truncated data. Deliberately carries no detail. */
export class DecryptionError extends Error {
  constructor() {
    super("decryption failed");
    this.name = "DecryptionError";
  }
}

export interface Sealed {
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`AES-256 keys are ${KEY_BYTES} bytes`);
}

/** Encrypts with a fresh random nonce (or a given one: only the known-answer tests pass one). */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer, nonce: Buffer = randomBytes(NONCE_BYTES)): Sealed {
  checkKey(key);
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonces are ${NONCE_BYTES} bytes`);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

/** Decrypts and verifies; throws `DecryptionError` on any failure. The caller owns (and may zero) the result. */
export function open(key: Buffer, sealed: Sealed, aad: Buffer): Buffer {
  if (key.length !== KEY_BYTES || sealed.nonce.length !== NONCE_BYTES || sealed.tag.length !== TAG_BYTES) {
    throw new DecryptionError();
  }
  let parts: Buffer[] = [];
  try {
    const decipher = createDecipheriv(ALGORITHM, key, sealed.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.tag);
    parts = [decipher.update(sealed.ciphertext)];
    // final() throws when the tag does not verify; only then is the update() output released.
    parts.push(decipher.final());
  } catch {
    for (const part of parts) part.fill(0);
    throw new DecryptionError();
  }
  const plaintext = Buffer.concat(parts);
  for (const part of parts) part.fill(0);
  return plaintext;
}

/** `u32be(len) || bytes` for every field: unambiguous, whatever the fields contain. */
export function lengthPrefixed(...fields: Array<string | Buffer>): Buffer {
  const chunks: Buffer[] = [];
  for (const field of fields) {
    const bytes = typeof field === "string" ? Buffer.from(field, "utf8") : field;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    chunks.push(length, bytes);
  }
  return Buffer.concat(chunks);
}
