/**
 * @module vault/vault-errors
 * The errors the vault's parts throw, made in one place so every part says the same thing for the same
 * failure (the messages and codes are part of the API: docs/api.md). `Refusal` carries a refusal out of a
 * store transaction so the transaction rolls back and the refusal is then audited on its own; `StaleKeys`
 * carries "another instance changed the header" out of an operation so it is retried after a reload.
 */
import { ApiError } from "../errors.js";

/** Thrown inside a transaction to abort it with an ApiError after recording why. */
export class Refusal extends Error {
  constructor(
    readonly error: ApiError,
    readonly outcome: "denied" | "failed",
    readonly reason: string,
  ) {
    super(error.message);
  }
}

/**
 * The store's header is no longer the one this instance's keys came from: another instance sharing the
 * database rotated the data key or changed the passphrase. Never reaches a caller: the vault reloads its keys
 * from the store (vault-reload.ts) and runs the operation again; nothing was written or audited before it.
 */
export class StaleKeys extends Error {
  constructor() {
    super("the vault header changed on another instance; reload the keys");
  }
}

export const lockedError = () => new ApiError("vault_locked", "the vault is locked; unlock it with `kai vault unlock`");
export const notInitialized = () => new ApiError("vault_not_initialized", "the vault is not initialised; run `kai vault init`");
export const alreadyInitialized = () => new ApiError("conflict", "the vault is already initialised");
export const invalidPassphrase = () => new ApiError("invalid_passphrase", "invalid passphrase");
export const decryptionFailed = () => new ApiError("decryption_failed", "decryption failed");
export const secretNotFound = () => new ApiError("not_found", "secret not found");
/** A secret's ciphertext or its authenticated metadata (version, expiry, key version) was altered. */
export const integrityError = () => new ApiError("vault_tampered", "a stored secret failed its integrity check: the vault's data was altered outside the server");
/** The header's keyring, active key version, format or KDF check was altered (the key itself is right). */
export const headerTampered = () =>
  new ApiError("vault_tampered", "the vault header failed its integrity check (keyring, key version or KDF altered outside the server); the vault stays locked");
export const keyFileMissing = () => new ApiError("vault_locked", "vault.key is missing from the data directory; the vault opens only with it");
export const keyFileWrong = () => new ApiError("vault_locked", "vault.key does not belong to this vault (its key check does not match)");
/** A format-1 header has no key check: a wrong key and an altered keyring look the same there. */
export const keyFileLegacyFailed = () => new ApiError("vault_locked", "vault.key does not open this vault (a wrong key, or an altered keyring)");
export const auditUnavailable = () => new ApiError("unavailable", "the vault audit log could not be written; the operation was not performed");
/** Instances sharing a database cannot share a key file in each one's own data directory. */
export const passphraseNeeded = (path: string) =>
  validation(path, "instances that share a database need a passphrase (start every instance with the same KAI_VAULT_PASSPHRASE); the key-file default works for one instance only");
export const validation = (path: string, message: string) => new ApiError("validation_failed", `invalid ${path}`, [{ path, message }]);
