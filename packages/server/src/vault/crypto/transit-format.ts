/**
 * @module vault/crypto/transit-format
 * Transit ("encryption as a service") ciphertexts: `kai:v<N>:<base64url(nonce | ct | tag)>`, N the
 * data-key version. The AAD is the domain `kai-transit/1`, the key version, and the caller's optional
 * associated data (with a presence flag, so "absent" and "empty" differ). The domain keeps transit and
 * stored-secret ciphertexts apart even though they share data keys. Every way a ciphertext can be wrong
 * (prefix, version, encoding, truncation, tag) ends in the same `DecryptionError`.
 */
import { DecryptionError, lengthPrefixed, NONCE_BYTES, open, seal, TAG_BYTES } from "./aead.js";

const PATTERN = /^kai:v([1-9]\d{0,9}):([A-Za-z0-9_-]+)$/;

export function transitAad(keyVersion: number, associatedData: string | undefined): Buffer {
  return lengthPrefixed("kai-transit/1", `kv:${keyVersion}`, associatedData === undefined ? "ad:0" : "ad:1", associatedData ?? "");
}

export function encryptTransit(key: Buffer, keyVersion: number, plaintext: Buffer, associatedData: string | undefined): string {
  const sealed = seal(key, plaintext, transitAad(keyVersion, associatedData));
  return `kai:v${keyVersion}:${Buffer.concat([sealed.nonce, sealed.ciphertext, sealed.tag]).toString("base64url")}`;
}

/** Splits a transit ciphertext into its key version and sealed parts; throws `DecryptionError` when malformed. */
export function parseTransit(text: string): { keyVersion: number; body: Buffer } {
  const match = PATTERN.exec(text);
  if (!match?.[1] || !match[2]) throw new DecryptionError();
  const body = Buffer.from(match[2], "base64url");
  // Node's base64url decoder skips junk silently: re-encoding must give the same text back.
  if (body.toString("base64url") !== match[2] || body.length < NONCE_BYTES + TAG_BYTES) throw new DecryptionError();
  return { keyVersion: Number(match[1]), body };
}

export function decryptTransit(text: string, associatedData: string | undefined, keyFor: (keyVersion: number) => Buffer | null): { plaintext: Buffer; keyVersion: number } {
  const { keyVersion, body } = parseTransit(text);
  const key = keyFor(keyVersion);
  if (!key) throw new DecryptionError();
  const nonce = body.subarray(0, NONCE_BYTES);
  const ciphertext = body.subarray(NONCE_BYTES, body.length - TAG_BYTES);
  const tag = body.subarray(body.length - TAG_BYTES);
  return { plaintext: open(key, { nonce, ciphertext, tag }, transitAad(keyVersion, associatedData)), keyVersion };
}
