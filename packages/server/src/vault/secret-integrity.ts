/**
 * @module vault/secret-integrity
 * Whether a stored secret is as the vault wrote it, before anything of it is used: its head (current
 * version, expiry, key version; crypto/secret-head.ts) must carry a valid MAC, and its current version
 * must exist. The ciphertexts themselves are checked when they are decrypted (crypto/secret-format.ts).
 * Used by reads, by puts (a new version is not stacked on a tampered head) and by rotation (which skips,
 * and reports, a tampered secret instead of failing for the whole vault).
 */
import type { SecretMetaRow, SecretVersionRow, StoredSecret } from "../storage/contracts/vault-store.js";
import { headMac, headVerifies } from "./crypto/secret-head.js";
import { secretKeyVersion } from "./crypto/secret-format.js";

export type KeyLookup = (keyVersion: number) => Buffer | null;

/** The current version's row when the head verifies; otherwise what is wrong (for logs and audit, no value). */
export function checkHead(stored: StoredSecret, keyFor: KeyLookup): { current: SecretVersionRow } | { what: string } {
  const { meta } = stored;
  const current = stored.versions.find((row) => row.version === meta.version);
  if (!current) return { what: "its current version is missing" };
  const keyVersion = secretKeyVersion(current.ciphertext);
  if (keyVersion === null) return { what: "its current ciphertext is not in a known layout" };
  const head = { name: meta.name, version: meta.version, keyVersion, expiresAt: meta.expiresAt };
  if (!headVerifies(head, meta.headMac, keyFor)) return { what: "its metadata (current version, expiry or key version) does not match its MAC" };
  return { current };
}

/** The head MAC for `meta` whose current version's ciphertext is `ciphertext`; throws when its key is gone. */
export function sealHead(meta: Pick<SecretMetaRow, "name" | "version" | "expiresAt">, ciphertext: Buffer, keyFor: KeyLookup): Buffer {
  const keyVersion = secretKeyVersion(ciphertext);
  const mac = keyVersion === null ? null : headMac({ name: meta.name, version: meta.version, keyVersion, expiresAt: meta.expiresAt }, keyFor);
  if (!mac) throw new Error("the data key of a secret's current version is not in the keyring");
  return mac;
}
