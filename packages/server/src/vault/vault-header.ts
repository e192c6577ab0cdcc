/**
 * @module vault/vault-header
 * The vault header row and what in it is authenticated (docs/decisions/0009-vault-authenticated-metadata.md).
 *
 * Format 2 (written by this code):
 * - the keyring is wrapped under the KEK with the AAD `kai-vault/2 | keyring | active:<N>`: the active
 *   key version shown by status while locked is bound to the wrapped keyring, so editing it (or the format
 *   column) makes the keyring fail to open, which is reported as tampering;
 * - the KDF JSON carries `check`, HMAC-SHA256(KEK, `kai-vault/2 | kek-check`): it tells a wrong key (a
 *   wrong passphrase, another vault's vault.key) apart from an altered keyring, so each gets its own message.
 *   It gives an attacker nothing the wrapped keyring did not: both already confirm a guessed KEK offline.
 * Format 1 (vaults made before) has neither; it is still opened, and then migrated (vault-migration.ts).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { VaultHeaderRow } from "../storage/contracts/vault-store.js";
import { lengthPrefixed } from "./crypto/aead.js";
import { parseStoredKdf, type StoredKdf } from "./crypto/kdf.js";
import { Keyring } from "./keyring.js";

/** The header format this code writes. */
export const VAULT_FORMAT = 2;
/** The format of vaults made before metadata was authenticated; opened, then migrated at unlock. */
export const LEGACY_FORMAT = 1;

const ALTERED = "the header's keyring, active key version or format was altered (the key is right, the header does not authenticate under it)";
const LEGACY_KEYRING_AAD = lengthPrefixed("kai-vault/1", "keyring");

export function keyringAad(format: number, activeVersion: number): Buffer {
  return format === LEGACY_FORMAT ? LEGACY_KEYRING_AAD : lengthPrefixed("kai-vault/2", "keyring", `active:${activeVersion}`);
}

/** The KEK's check value (base64url), kept in the KDF JSON. */
export function kekCheck(kek: Buffer): string {
  return createHmac("sha256", kek).update(lengthPrefixed("kai-vault/2", "kek-check")).digest("base64url");
}

/** The KDF as the header stores it: without a previous check value, with the check of `kek`. */
function kdfText(kdf: StoredKdf, kek: Buffer): string {
  const { check: _previous, ...params } = kdf;
  return JSON.stringify({ ...params, check: kekCheck(kek) });
}

/** A format-2 header: the keyring wrapped under `kek`, bound to its active version, and the KEK's check. */
export function sealHeader(kdf: StoredKdf, kek: Buffer, keyring: Keyring, createdAt: string, updatedAt: string): VaultHeaderRow {
  const activeVersion = keyring.active.version;
  return {
    format: VAULT_FORMAT,
    kdf: kdfText(kdf, kek),
    keyring: keyring.wrap(kek, keyringAad(VAULT_FORMAT, activeVersion)),
    activeVersion,
    createdAt,
    updatedAt,
  };
}

/**
 * Why a header did not open:
 * - `wrong-key`: the KEK is not this vault's (its check differs), or, for a format-1 header that has no
 *   check, the keyring did not open (there a wrong key and an altered keyring cannot be told apart);
 * - `tampered`: the KEK is right but the keyring, its active version or the format was altered, or a
 *   format-2 header's KDF has lost its check.
 */
export type HeaderFailure = { failure: "wrong-key" } | { failure: "tampered"; what: string };

/** Opens the keyring of `header` with `kek`; the caller zeroes `kek` on failure. */
export function openHeader(header: VaultHeaderRow, kdf: StoredKdf, kek: Buffer): { keyring: Keyring } | HeaderFailure {
  // Format 1 never had a check: a header that has one but says format 1 was set back to the old format.
  if (header.format === LEGACY_FORMAT && kdf.check !== undefined) return { failure: "tampered", what: ALTERED };
  if (header.format !== LEGACY_FORMAT) {
    if (kdf.check === undefined) return { failure: "tampered", what: "the header's KDF row has no key check (it was replaced)" };
    const expected = Buffer.from(kekCheck(kek), "base64url");
    const stored = Buffer.from(kdf.check, "base64url");
    if (stored.length !== expected.length || !timingSafeEqual(stored, expected)) return { failure: "wrong-key" };
  }
  let keyring: Keyring;
  try {
    keyring = Keyring.unwrap(header.keyring, kek, keyringAad(header.format, header.activeVersion));
  } catch {
    return header.format === LEGACY_FORMAT ? { failure: "wrong-key" } : { failure: "tampered", what: ALTERED };
  }
  // Format 2 binds the version in the AAD; format 1 did not, so there the copy is compared.
  if (keyring.active.version !== header.activeVersion) {
    keyring.destroy();
    return { failure: "tampered", what: ALTERED };
  }
  return { keyring };
}

/**
 * What is visibly wrong with a header before any key is tried (said at start, where a vault that cannot be
 * opened would otherwise just stay locked): an unknown format or KDF row, or a passphrase KDF while a
 * vault.key exists. Null when nothing is.
 */
export function headerProblem(header: VaultHeaderRow, vaultKeyPresent: boolean): string | null {
  const kdf = parseStoredKdf(header.kdf);
  if (!kdf || (header.format !== VAULT_FORMAT && header.format !== LEGACY_FORMAT)) {
    return "the vault header's format or KDF row is not one this server knows (altered, or written by a newer server); the vault stays locked";
  }
  if (kdf.name === "pbkdf2-sha256" && vaultKeyPresent) {
    return (
      "the vault header asks for a passphrase, but <data-dir>/vault.key exists: if this vault was never re-keyed to a passphrase, " +
      "its KDF row was replaced; if it was, the file is a leftover of an interrupted rekey and can be removed"
    );
  }
  return null;
}
