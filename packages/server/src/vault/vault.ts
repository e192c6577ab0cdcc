/**
 * @module vault/vault
 * The credential vault's contract inside the server: what the HTTP routes, the registry (credential
 * references) and later the gateway (credential injection) may ask of it. Implemented by
 * `vault-service.ts`. Every method that touches a secret or a key authorises the actor itself and writes
 * an audit entry, allowed or denied; if the audit entry cannot be written, the operation fails.
 *
 * Errors are `ApiError`s: `vault_locked` (503) whenever a key is needed and the vault is locked,
 * `vault_not_initialized` (503), `invalid_passphrase` (403, nothing more said), `forbidden` (403, scope
 * or secret pattern), `not_found` (404; also for expired secrets), `decryption_failed` (400, the same
 * for every transit decrypt failure), `rate_limited` (429, repeated wrong passphrases).
 */
import type {
  AuditEntry,
  PutSecretRequest,
  Scope,
  SecretInfo,
  SecretValueResponse,
  VaultStatus,
} from "@kai/protocol";

/** Who is acting, as the vault needs to know it (a verified token, or the server itself). */
export interface VaultActor {
  /** null for the server's own operations (auto-unlock at start, automatic rotation). */
  tokenId: string | null;
  owner: string;
  scopes: readonly Scope[];
  /** Secret-name patterns the token is limited to; undefined = no limit beyond its scopes. */
  secretPatterns?: readonly string[];
  requestId?: string;
}

export interface AuditQuery {
  limit: number;
  operation?: string;
  outcome?: AuditEntry["outcome"];
  actor?: string;
  afterSeq?: number;
  /** `desc`: the newest matching entries, newest first. */
  order?: "asc" | "desc";
}

export interface Vault {
  status(): Promise<VaultStatus>;
  /** First-time setup; with no passphrase, the development default (random key in vault.key, auto-unlock). */
  init(passphrase: string | undefined, actor: VaultActor): Promise<VaultStatus>;
  /** With the passphrase; without (undefined), a key-file vault from `<data-dir>/vault.key` (after a lock). */
  unlock(passphrase: string | undefined, actor: VaultActor): Promise<VaultStatus>;
  lock(actor: VaultActor): Promise<VaultStatus>;
  /** New passphrase (or back to the key file when undefined): re-wraps the keyring, secrets untouched. */
  rekey(newPassphrase: string | undefined, actor: VaultActor): Promise<VaultStatus>;
  /** New data-key version; every secret re-encrypted in one transaction; old versions retired. */
  rotate(actor: VaultActor): Promise<{ keyVersion: number; reencrypted: number; retiredVersions: number[]; skipped: string[] }>;

  putSecret(name: string, request: PutSecretRequest, actor: VaultActor): Promise<SecretInfo>;
  getSecret(name: string, actor: VaultActor): Promise<SecretValueResponse>;
  listSecrets(actor: VaultActor): Promise<SecretInfo[]>;
  deleteSecret(name: string, actor: VaultActor): Promise<void>;

  encrypt(plaintext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ ciphertext: string; keyVersion: number }>;
  decrypt(ciphertext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ plaintext: string }>;
  rewrap(ciphertext: string, associatedData: string | undefined, actor: VaultActor): Promise<{ ciphertext: string; keyVersion: number }>;

  auditEntries(query: AuditQuery, actor: VaultActor): Promise<AuditEntry[]>;
  verifyAudit(actor: VaultActor): Promise<{ ok: boolean; entries: number; brokenAt: number | null }>;

  /**
   * Stores a credential that arrived with a service registration (auth.token) as the secret
   * `services/<serviceId>/credential` on the actor's behalf, and returns the reference `vault:<name>`.
   * Needs only the registering token's services:write (checked by the caller).
   */
  storeServiceCredential(serviceId: string, value: string, actor: VaultActor): Promise<string>;

  /**
   * Checks what `storeServiceCredential` would refuse (the value, a locked vault) without writing, and returns the
   * reference the record will hold; the registry stores the credential only after the record committed.
   */
  checkServiceCredential(serviceId: string, value: string, actor: VaultActor): Promise<string>;

  /** Stops timers and drops keys from memory (server shutdown). */
  close(): Promise<void>;
}
