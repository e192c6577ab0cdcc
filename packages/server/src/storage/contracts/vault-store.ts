/**
 * @module storage/contracts/vault-store
 * The credential vault's storage contract. The vault service (`vault/vault-service.ts`) does all the
 * cryptography; a store only keeps opaque bytes and metadata, so a backend never sees a key or a value.
 *
 * Rules every backend keeps (checked by `test/vault/core/vault-store-contract.ts`):
 * - `transact(work, reads)` runs `work` EXACTLY ONCE, synchronously, against a `VaultTx` and applies ALL its
 *   changes or NONE: a throw inside `work` rolls everything back and rejects. The promise resolves only once
 *   durable. The vault relies on this to write an operation and its audit entry together (fail closed).
 * - `reads` says which secrets `work` may read (`VaultReads`). The header, the audit head and the key usage
 *   counters are always readable. Why: a backend whose transactions are asynchronous (PostgreSQL) cannot
 *   answer a synchronous read from the database, so it loads what `work` will read before running it. Every
 *   backend refuses a read that was not announced (`unannouncedRead`), so a vault caller that forgets a hint
 *   fails its tests on SQLite too, not only in production on PostgreSQL.
 * - Transactions are applied in the order `transact` was called. A `shared` store is used by several
 *   instances at once: its transactions are serialised across all of them too (one audit chain, no lost update).
 * - Audit entries are append-only with strictly increasing `seq` (1, 2, 3, …); the head (last seq and MAC)
 *   is also kept apart from the entries, so a truncated log is detectable.
 * - Key usage counters only grow by `addKeyUsage` increments, so counts made by several instances add up.
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

/**
 * What a transaction's work reads besides the header, the audit head and the key usage counters.
 * `secrets`: the names it passes to `getSecret`, `deleteSecret` or `replaceCiphertext` (a name that turns out
 * absent is fine). `allSecrets`: it may read every secret (`allSecretVersions`, then any name).
 */
export interface VaultReads {
  secrets?: readonly string[];
  allSecrets?: boolean;
}

/** A read `work` did not announce in its `VaultReads`: a programming error in the caller, never a data problem. */
export function unannouncedRead(what: string): Error {
  return new Error(`vault transaction read ${what} without announcing it in transact's reads (a bug in the caller)`);
}

/**
 * `tx` with the reads rule of `reads` enforced (see the module rules). Backends that can read synchronously
 * (SQLite, memory) wrap their transaction object with it, so they refuse exactly what PostgreSQL cannot answer.
 */
export function announcedReadsOnly(tx: VaultTx, reads: VaultReads | undefined): VaultTx {
  const all = reads?.allSecrets === true;
  const names = new Set(reads?.secrets ?? []);
  const need = (name: string) => {
    if (!all && !names.has(name)) throw unannouncedRead(`secret ${JSON.stringify(name)}`);
  };
  return {
    ...tx,
    getSecret: (name) => {
      need(name);
      return tx.getSecret(name);
    },
    deleteSecret: (name) => {
      need(name);
      return tx.deleteSecret(name);
    },
    replaceCiphertext: (name, version, keyVersion, ciphertext) => {
      need(name);
      tx.replaceCiphertext(name, version, keyVersion, ciphertext);
    },
    allSecretVersions: () => {
      if (!all) throw unannouncedRead("every secret");
      return tx.allSecretVersions();
    },
  };
}

/** Synchronous access inside one transaction. */
export interface VaultTx {
  getHeader(): VaultHeaderRow | null;
  putHeader(header: VaultHeaderRow): void;

  /** Needs `name` in the transaction's reads. */
  getSecret(name: string): StoredSecret | null;
  /** Inserts or replaces the metadata row. */
  putSecretMeta(meta: SecretMetaRow): void;
  putSecretVersion(version: SecretVersionRow): void;
  /** Deletes versions of `name` older than `keepFrom` (version < keepFrom). */
  pruneSecretVersions(name: string, keepFrom: number): void;
  /** Replaces one version's ciphertext (rotation); throws when that version is missing. Needs `name` in the reads. */
  replaceCiphertext(name: string, version: number, keyVersion: number, ciphertext: Buffer): void;
  /** Every stored version of every secret, by name then version (rotation re-encrypts them all). Needs `allSecrets`. */
  allSecretVersions(): SecretVersionRow[];
  touchSecret(name: string, at: string, by: string): void;
  /** Deletes the secret and all its versions; false when absent. Needs `name` in the reads. */
  deleteSecret(name: string): boolean;

  /**
   * Adds `delta` encryptions under a data-key version (a missing counter starts at 0) and returns the new
   * total as this transaction sees it. An increment, never a set: counts made by several instances add up.
   */
  addKeyUsage(version: number, delta: number): number;
  deleteKeyUsage(version: number): void;

  /** The chain head, or null when the log is empty. */
  auditHead(): AuditHead | null;
  /** Appends the entry (its seq must be head.seq + 1) and moves the head to it. */
  appendAudit(entry: StoredAuditEntry): void;
}

export interface VaultStore {
  /** True when several instances use this store at once (PostgreSQL); the vault then refuses what only works for one. */
  readonly shared: boolean;
  /**
   * Records `check` (a check value of the instance's audit key) as the one every instance must use, unless one
   * is recorded already, and returns the recorded one. A store only one process uses may keep nothing and
   * return `check`: there is no other instance to disagree with.
   */
  claimAuditKey(check: string): Promise<string>;
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

  /** Runs `work` once in one atomic, durable transaction; `reads`: what it reads (see the module rules). */
  transact<T>(work: (tx: VaultTx) => T, reads?: VaultReads): Promise<T>;
}
