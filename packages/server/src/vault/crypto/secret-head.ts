/**
 * @module vault/crypto/secret-head
 * The MAC over a secret's metadata row (its "head"): which version is current, when it expires, and the
 * data-key version the current ciphertext is under. The ciphertexts alone (secret-format.ts) bind each
 * version to its name and number, but not which version is the current one, nor the expiry: with write
 * access to the database, pointing `version` at an older kept row rolled the secret back, and clearing
 * `expires_at` revived it. With the head MAC, any such edit is found before a value is released.
 *
 * head key(kv) = HMAC-SHA256(data key kv, `kai-vault/2 | secret-head`), a key only the vault holds (and only
 * while unlocked); mac = HMAC-SHA256(head key(kv), `kai-vault/2 | head | name | v:N | kv:K | expiry`),
 * every field length-prefixed, the expiry with a presence flag. It is written with every put, re-made under
 * the new key by rotation, and made for existing rows by the format-2 migration.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { lengthPrefixed } from "./aead.js";

export interface SecretHead {
  name: string;
  /** The current version. */
  version: number;
  /** The data-key version of the current version's ciphertext. */
  keyVersion: number;
  expiresAt: string | null;
}

const HEAD_KEY_INFO = lengthPrefixed("kai-vault/2", "secret-head");

/** The head MAC, or null when the data key of `head.keyVersion` is not in the keyring. */
export function headMac(head: SecretHead, keyFor: (keyVersion: number) => Buffer | null): Buffer | null {
  const dataKey = keyFor(head.keyVersion);
  if (!dataKey) return null;
  const headKey = createHmac("sha256", dataKey).update(HEAD_KEY_INFO).digest();
  try {
    const fields = lengthPrefixed(
      "kai-vault/2",
      "head",
      head.name,
      `v:${head.version}`,
      `kv:${head.keyVersion}`,
      head.expiresAt === null ? "exp:0" : "exp:1",
      head.expiresAt ?? "",
    );
    return createHmac("sha256", headKey).update(fields).digest();
  } finally {
    headKey.fill(0);
  }
}

/** True when `stored` is the head MAC of `head`; false for a missing or wrong MAC or an unknown key. */
export function headVerifies(head: SecretHead, stored: Buffer | null, keyFor: (keyVersion: number) => Buffer | null): boolean {
  if (stored === null) return false;
  const expected = headMac(head, keyFor);
  return expected !== null && expected.length === stored.length && timingSafeEqual(expected, stored);
}
