/**
 * @module vault/crypto/secret-format
 * How one version of a stored secret is encrypted: `fmt(1) | keyVersion(4, BE) | nonce(12) | ct | tag(16)`.
 * The AAD binds the ciphertext to the secret's name, its version and the data-key version, so a row copied
 * onto another name (or another version, or relabelled with another key version) fails to decrypt.
 * The format byte lets a later layout be read side by side with this one.
 */
import { DecryptionError, lengthPrefixed, NONCE_BYTES, open, seal, TAG_BYTES } from "./aead.js";

export const SECRET_FORMAT = 1;
const HEADER_BYTES = 1 + 4;

export function secretAad(name: string, version: number, keyVersion: number): Buffer {
  return lengthPrefixed("kai-vault/1", `secret:${name}`, `v:${version}`, `kv:${keyVersion}`);
}

/** Reads the key version a stored ciphertext says it is under; null when the layout is not ours. */
export function secretKeyVersion(stored: Buffer): number | null {
  if (stored.length < HEADER_BYTES + NONCE_BYTES + TAG_BYTES || stored[0] !== SECRET_FORMAT) return null;
  return stored.readUInt32BE(1);
}

export function encryptSecret(key: Buffer, keyVersion: number, name: string, version: number, plaintext: Buffer): Buffer {
  const sealed = seal(key, plaintext, secretAad(name, version, keyVersion));
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt8(SECRET_FORMAT, 0);
  head.writeUInt32BE(keyVersion, 1);
  return Buffer.concat([head, sealed.nonce, sealed.ciphertext, sealed.tag]);
}

/**
 * Decrypts a stored version. `keyFor` returns the data key of a version (or null when it is not in the
 * keyring). Every failure is the same `DecryptionError`.
 */
export function decryptSecret(stored: Buffer, name: string, version: number, keyFor: (keyVersion: number) => Buffer | null): Buffer {
  const keyVersion = secretKeyVersion(stored);
  if (keyVersion === null) throw new DecryptionError();
  const key = keyFor(keyVersion);
  if (!key) throw new DecryptionError();
  const nonce = stored.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
  const ciphertext = stored.subarray(HEADER_BYTES + NONCE_BYTES, stored.length - TAG_BYTES);
  const tag = stored.subarray(stored.length - TAG_BYTES);
  return open(key, { nonce, ciphertext, tag }, secretAad(name, version, keyVersion));
}
