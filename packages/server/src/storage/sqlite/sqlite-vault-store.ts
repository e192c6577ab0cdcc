/**
 * @module storage/sqlite/sqlite-vault-store
 * The SQLite backend of `VaultStore`, on the backend's connection (sqlite-store.ts). Reads run synchronously on the
 * connection; every transaction goes through the backend's group-commit batcher, where it runs in
 * its own savepoint: it commits whole or not at all, and resolves only once the batch is durable.
 * One process uses the file, so the store is not `shared`; reads are still held to the transaction's
 * announced reads (contracts/vault-store.ts), so a missing hint fails here as it would on PostgreSQL.
 */
import type { Database, Statement } from "better-sqlite3";
import type {
  AuditFilter,
  AuditHead,
  ListedSecret,
  StoredAuditEntry,
  StoredSecret,
  VaultHeaderRow,
  VaultReads,
  VaultStore,
  VaultTx,
} from "../contracts/vault-store.js";
import { announcedReadsOnly } from "../contracts/vault-store.js";
import { toAudit, toHeader, toMeta, toVersion, type AuditDbRow, type HeaderDbRow, type SecretDbRow, type VersionDbRow } from "../rows/vault-rows.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

export class SqliteVaultStore implements VaultStore {
  private readonly stmt: {
    getHeader: Statement<[], HeaderDbRow>;
    putHeader: Statement;
    getMeta: Statement<[string], SecretDbRow>;
    getVersions: Statement<[string], VersionDbRow>;
    listMeta: Statement<[], SecretDbRow>;
    listVersionNumbers: Statement<[], { name: string; version: number }>;
    countSecrets: Statement<[], { n: number }>;
    countSecretsPrefixed: Statement<[number, string], { n: number }>;
    putMeta: Statement;
    putVersion: Statement;
    pruneVersions: Statement<[string, number]>;
    replaceCiphertext: Statement<[number, Buffer, string, number]>;
    allVersions: Statement<[], VersionDbRow>;
    touch: Statement<[string, string, string]>;
    deleteSecret: Statement<[string]>;
    keyUsage: Statement<[], { version: number; encryptions: number }>;
    addKeyUsage: Statement<[number, number], { encryptions: number }>;
    deleteKeyUsage: Statement<[number]>;
    auditHead: Statement<[], { seq: number; mac: string }>;
    setAuditHead: Statement<[number, string]>;
    appendAudit: Statement;
    auditPage: Statement<[number, number], AuditDbRow>;
  };
  private readonly tx: VaultTx;
  readonly shared = false;

  constructor(
    private readonly db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    const prepare = <P extends unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
    this.stmt = {
      getHeader: prepare("SELECT format, kdf, keyring, active_version, created_at, updated_at FROM vault_header WHERE id = 1"),
      putHeader: db.prepare(
        `INSERT INTO vault_header (id, format, kdf, keyring, active_version, created_at, updated_at)
         VALUES (1, @format, @kdf, @keyring, @active_version, @created_at, @updated_at)
         ON CONFLICT (id) DO UPDATE SET format = excluded.format, kdf = excluded.kdf, keyring = excluded.keyring,
           active_version = excluded.active_version, updated_at = excluded.updated_at`,
      ),
      getMeta: prepare("SELECT * FROM vault_secrets WHERE name = ?"),
      getVersions: prepare("SELECT name, version, key_version, ciphertext, created_at FROM vault_secret_versions WHERE name = ? ORDER BY version DESC"),
      listMeta: prepare("SELECT * FROM vault_secrets ORDER BY name"),
      listVersionNumbers: prepare("SELECT name, version FROM vault_secret_versions ORDER BY name, version DESC"),
      countSecrets: prepare("SELECT count(*) AS n FROM vault_secrets"),
      // substr, not LIKE: a prefix is matched literally, whatever `%` or `_` it holds.
      countSecretsPrefixed: prepare("SELECT count(*) AS n FROM vault_secrets WHERE substr(name, 1, ?) = ?"),
      putMeta: db.prepare(
        `INSERT INTO vault_secrets (name, version, description, created_at, created_by, updated_at, updated_by, last_used_at, last_used_by, expires_at, head_mac)
         VALUES (@name, @version, @description, @created_at, @created_by, @updated_at, @updated_by, @last_used_at, @last_used_by, @expires_at, @head_mac)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, description = excluded.description,
           created_at = excluded.created_at, created_by = excluded.created_by, updated_at = excluded.updated_at,
           updated_by = excluded.updated_by, last_used_at = excluded.last_used_at, last_used_by = excluded.last_used_by,
           expires_at = excluded.expires_at, head_mac = excluded.head_mac`,
      ),
      putVersion: db.prepare(
        `INSERT INTO vault_secret_versions (name, version, key_version, ciphertext, created_at)
         VALUES (@name, @version, @key_version, @ciphertext, @created_at)`,
      ),
      pruneVersions: prepare("DELETE FROM vault_secret_versions WHERE name = ? AND version < ?"),
      replaceCiphertext: prepare("UPDATE vault_secret_versions SET key_version = ?, ciphertext = ? WHERE name = ? AND version = ?"),
      allVersions: prepare("SELECT name, version, key_version, ciphertext, created_at FROM vault_secret_versions ORDER BY name, version"),
      touch: prepare("UPDATE vault_secrets SET last_used_at = ?, last_used_by = ? WHERE name = ?"),
      deleteSecret: prepare("DELETE FROM vault_secrets WHERE name = ?"),
      keyUsage: prepare("SELECT version, encryptions FROM vault_key_usage"),
      addKeyUsage: prepare(
        `INSERT INTO vault_key_usage (version, encryptions) VALUES (?, ?)
         ON CONFLICT (version) DO UPDATE SET encryptions = encryptions + excluded.encryptions RETURNING encryptions`,
      ),
      deleteKeyUsage: prepare("DELETE FROM vault_key_usage WHERE version = ?"),
      auditHead: prepare("SELECT seq, mac FROM vault_audit_head WHERE id = 1"),
      setAuditHead: prepare("INSERT INTO vault_audit_head (id, seq, mac) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac"),
      appendAudit: db.prepare(
        `INSERT INTO vault_audit (seq, at, token_id, actor, operation, secret, outcome, reason, request_id, mac)
         VALUES (@seq, @at, @token_id, @actor, @operation, @secret, @outcome, @reason, @request_id, @mac)`,
      ),
      auditPage: prepare("SELECT * FROM vault_audit WHERE seq > ? ORDER BY seq LIMIT ?"),
    };
    this.tx = this.createTx();
  }

  async claimAuditKey(check: string): Promise<string> {
    return check;
  }

  async getHeader(): Promise<VaultHeaderRow | null> {
    this.hooks.assertOpen();
    return this.tx.getHeader();
  }

  async getSecret(name: string): Promise<StoredSecret | null> {
    this.hooks.assertOpen();
    return this.tx.getSecret(name);
  }

  async listSecrets(): Promise<ListedSecret[]> {
    this.hooks.assertOpen();
    const versions = new Map<string, number[]>();
    for (const row of this.stmt.listVersionNumbers.iterate()) {
      const list = versions.get(row.name);
      if (list) list.push(row.version);
      else versions.set(row.name, [row.version]);
    }
    return this.stmt.listMeta.all().map((row) => ({ ...toMeta(row), versions: versions.get(row.name) ?? [] }));
  }

  async countSecrets(exceptPrefix?: string): Promise<number> {
    this.hooks.assertOpen();
    const all = this.stmt.countSecrets.get()?.n ?? 0;
    return exceptPrefix === undefined ? all : all - (this.stmt.countSecretsPrefixed.get(exceptPrefix.length, exceptPrefix)?.n ?? 0);
  }

  async keyUsage(): Promise<Map<number, number>> {
    this.hooks.assertOpen();
    return new Map(this.stmt.keyUsage.all().map((row) => [row.version, row.encryptions]));
  }

  async listAudit(filter: AuditFilter): Promise<StoredAuditEntry[]> {
    this.hooks.assertOpen();
    const where = ["seq > ?"];
    const params: Array<string | number> = [Math.max(0, Math.trunc(filter.afterSeq ?? 0))];
    if (filter.operation !== undefined) {
      where.push("operation = ?");
      params.push(filter.operation);
    }
    if (filter.outcome !== undefined) {
      where.push("outcome = ?");
      params.push(filter.outcome);
    }
    if (filter.actor !== undefined) {
      where.push("actor = ?");
      params.push(filter.actor);
    }
    params.push(Math.max(1, Math.min(1000, Math.trunc(filter.limit))));
    // Only fixed clause texts are joined; every value is a bound parameter.
    const order = filter.order === "desc" ? "DESC" : "ASC";
    const rows = this.db.prepare<unknown[], AuditDbRow>(`SELECT * FROM vault_audit WHERE ${where.join(" AND ")} ORDER BY seq ${order} LIMIT ?`).all(...params);
    return rows.map(toAudit);
  }

  async auditPage(afterSeq: number, limit: number): Promise<StoredAuditEntry[]> {
    this.hooks.assertOpen();
    return this.stmt.auditPage.all(afterSeq, limit).map(toAudit);
  }

  async auditHead(): Promise<AuditHead | null> {
    this.hooks.assertOpen();
    return this.tx.auditHead();
  }

  transact<T>(work: (tx: VaultTx) => T, reads?: VaultReads): Promise<T> {
    const tx = announcedReadsOnly(this.tx, reads);
    // The caller's work may keep state in memory (rotation counts encryptions): never re-run it.
    return this.hooks.enqueueOnce(() => work(tx));
  }

  private createTx(): VaultTx {
    const { stmt } = this;
    return {
      getHeader: () => {
        const row = stmt.getHeader.get();
        return row ? toHeader(row) : null;
      },
      putHeader: (header) => {
        stmt.putHeader.run({
          format: header.format,
          kdf: header.kdf,
          keyring: header.keyring,
          active_version: header.activeVersion,
          created_at: header.createdAt,
          updated_at: header.updatedAt,
        });
      },
      getSecret: (name) => {
        const meta = stmt.getMeta.get(name);
        if (!meta) return null;
        return { meta: toMeta(meta), versions: stmt.getVersions.all(name).map(toVersion) };
      },
      putSecretMeta: (meta) => {
        stmt.putMeta.run({
          name: meta.name,
          version: meta.version,
          description: meta.description,
          created_at: meta.createdAt,
          created_by: meta.createdBy,
          updated_at: meta.updatedAt,
          updated_by: meta.updatedBy,
          last_used_at: meta.lastUsedAt,
          last_used_by: meta.lastUsedBy,
          expires_at: meta.expiresAt,
          head_mac: meta.headMac,
        });
      },
      putSecretVersion: (version) => {
        stmt.putVersion.run({
          name: version.name,
          version: version.version,
          key_version: version.keyVersion,
          ciphertext: version.ciphertext,
          created_at: version.createdAt,
        });
      },
      pruneSecretVersions: (name, keepFrom) => {
        stmt.pruneVersions.run(name, keepFrom);
      },
      replaceCiphertext: (name, version, keyVersion, ciphertext) => {
        const changed = stmt.replaceCiphertext.run(keyVersion, ciphertext, name, version).changes;
        if (changed !== 1) throw new Error("secret version to re-encrypt is missing");
      },
      allSecretVersions: () => stmt.allVersions.all().map(toVersion),
      touchSecret: (name, at, by) => {
        stmt.touch.run(at, by, name);
      },
      deleteSecret: (name) => stmt.deleteSecret.run(name).changes > 0,
      addKeyUsage: (version, delta) => stmt.addKeyUsage.get(version, delta)!.encryptions,
      deleteKeyUsage: (version) => {
        stmt.deleteKeyUsage.run(version);
      },
      auditHead: () => {
        const row = stmt.auditHead.get();
        return row ? { seq: row.seq, mac: row.mac } : null;
      },
      appendAudit: (entry) => {
        const head = stmt.auditHead.get();
        if ((head?.seq ?? 0) + 1 !== entry.seq) throw new Error("audit entry out of sequence");
        stmt.appendAudit.run({
          seq: entry.seq,
          at: entry.at,
          token_id: entry.tokenId,
          actor: entry.actor,
          operation: entry.operation,
          secret: entry.secret,
          outcome: entry.outcome,
          reason: entry.reason,
          request_id: entry.requestId,
          mac: entry.mac,
        });
        stmt.setAuditHead.run(entry.seq, entry.mac);
      },
    };
  }
}
