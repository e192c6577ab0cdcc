/**
 * @module storage/contracts/vault-store
 * The credential vault's storage contract. The vault service (`vault/vault-service.ts`) does all the
 * cryptography; a store only keeps opaque bytes and metadata, so a backend never sees a key or a value.
 *
 * Rules every backend keeps (checked by `test/vault/core/vault-store-contract.ts`):
 * - `transact(work)` runs `work` synchronously against a `VaultTx` and applies ALL its changes or NONE:
 *   a throw inside `work` rolls everything back and rejects. The promise resolves only once durable.
 *   The vault relies on this to write an operation and its audit entry together (fail closed).
 * - Transactions are applied in the order `transact` was called.
 * - Audit entries are append-only with strictly increasing `seq` (1, 2, 3, …); the head (last seq and MAC)
 *   is also kept apart from the entries, so a truncated log is detectable.
 */

/** The vault header: how the keyring is wrapped. `kdf` is JSON (name, parameters, salt), not secret. */
export interface VaultHeaderRow {
  format: number;
  kdf: string;
  /** The keyring, AES-256-GCM-wrapped by the key-encryption key: nonce(12) | ciphertext | tag(16). */
  keyring: Buffer;
  /** The data-key version new encryptions use (also inside the keyring; this copy is for status while locked). */
  activeVersion: number;
  createdAt: string;
  updatedAt: string;
}

/** A secret's metadata (never its value). */
export interface SecretMetaRow {
  name: string;
  /** The current (newest) version. */
  version: number;
  description: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  lastUsedAt: string | null;
  lastUsedBy: string | null;
  expiresAt: string | null;
  /**
   * The vault's MAC over name, version, expiry and the current ciphertext's key version (vault/crypto/secret-head.ts);
   * null only in rows written before header format 2, until the migration at unlock seals them.
   */
  headMac: Buffer | null;
}

/** One stored version of a secret: its ciphertext (`fmt | keyVersion | nonce | ct | tag`). */
export interface SecretVersionRow {
  name: string;
  version: number;
  keyVersion: number;
  ciphertext: Buffer;
  createdAt: string;
}

/** A secret's metadata with the versions still kept (newest first), as listings show it. */
export interface ListedSecret extends SecretMetaRow {
  versions: number[];
}

export interface StoredSecret {
  meta: SecretMetaRow;
  /** Newest first. */
  versions: SecretVersionRow[];
}

export interface StoredAuditEntry {
  seq: number;
  at: string;
  tokenId: string | null;
  actor: string | null;
  operation: string;
  secret: string | null;
  outcome: "allowed" | "denied" | "failed";
  reason: string | null;
  requestId: string | null;
  /** hex HMAC chaining this entry to the previous one. */
  mac: string;
}

export interface AuditHead {
  seq: number;
  mac: string;
}

export interface AuditFilter {
  limit: number;
  operation?: string;
  outcome?: StoredAuditEntry["outcome"];
  actor?: string;
  afterSeq?: number;
  /** `desc`: the newest matching entries (still seq > afterSeq), newest first. */
  order?: "asc" | "desc";
}

/** Synchronous access inside one transaction. */
export interface VaultTx {
  getHeader(): VaultHeaderRow | null;
  putHeader(header: VaultHeaderRow): void;

  getSecret(name: string): StoredSecret | null;
  /** Inserts or replaces the metadata row. */
  putSecretMeta(meta: SecretMetaRow): void;
  putSecretVersion(version: SecretVersionRow): void;
  /** Deletes versions of `name` older than `keepFrom` (version < keepFrom). */
  pruneSecretVersions(name: string, keepFrom: number): void;
  /** Replaces one version's ciphertext (rotation). */
  replaceCiphertext(name: string, version: number, keyVersion: number, ciphertext: Buffer): void;
  /** Every stored version of every secret (rotation re-encrypts them all). */
  allSecretVersions(): SecretVersionRow[];
  touchSecret(name: string, at: string, by: string): void;
  /** Deletes the secret and all its versions; false when absent. */
  deleteSecret(name: string): boolean;

  /** Encryptions made under a data-key version, as persisted. */
  setKeyUsage(version: number, encryptions: number): void;
  deleteKeyUsage(version: number): void;

  /** The chain head, or null when the log is empty. */
  auditHead(): AuditHead | null;
  /** Appends the entry (its seq must be head.seq + 1) and moves the head to it. */
  appendAudit(entry: StoredAuditEntry): void;
}

export interface VaultStore {
  getHeader(): Promise<VaultHeaderRow | null>;
  getSecret(name: string): Promise<StoredSecret | null>;
  /** Metadata of every secret with its kept versions, ordered by name. */
  listSecrets(): Promise<ListedSecret[]>;
  /** How many secrets there are, leaving out those whose name starts with `exceptPrefix` (the vault's own). */
  countSecrets(exceptPrefix?: string): Promise<number>;
  /** Persisted encryption counters by key version. */
  keyUsage(): Promise<Map<number, number>>;

  /** Entries matching the filter (seq > afterSeq), at most `limit`: oldest first, or newest first with `order: "desc"`. */
  listAudit(filter: AuditFilter): Promise<StoredAuditEntry[]>;
  /** Entries with seq > afterSeq, in seq order, at most `limit` (for chain verification). */
  auditPage(afterSeq: number, limit: number): Promise<StoredAuditEntry[]>;
  auditHead(): Promise<AuditHead | null>;

  /** Runs `work` in one atomic, durable transaction (see the module rules). */
  transact<T>(work: (tx: VaultTx) => T): Promise<T>;
}
