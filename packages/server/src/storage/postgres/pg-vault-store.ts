/**
 * @module storage/postgres/pg-vault-store
 * The credential vault's store on PostgreSQL, shared by every instance of one node (`shared: true`).
 *
 * Transactions. `VaultTx` is synchronous, PostgreSQL is not. A transaction therefore runs in three steps on
 * one pooled connection:
 *  1. BEGIN, take the vault's transaction-scoped advisory lock (`VAULT_LOCK`), load the header, the audit
 *     head, the key usage counters and the secrets the caller announced in `reads` (one round trip for the
 *     fixed part, one for the named secrets);
 *  2. run `work` synchronously, exactly once, against an overlay of those rows (pg-vault-overlay.ts) that
 *     records every write; a throw here rolls back and rejects with the caller's own error;
 *  3. apply the recorded writes as SQL, in order, then COMMIT; the promise resolves after COMMIT returns, so
 *     an acknowledged write is as durable as the server's commit (synchronous_commit).
 * The advisory lock serialises vault transactions of EVERY instance: one audit chain (each entry follows the
 * head the previous instance left), no lost update of a secret's version number or a counter, and the rows
 * loaded in step 1 cannot change before COMMIT. Within one instance transactions also queue locally, so they
 * apply in call order (the contract's rule) and the pool is not filled with sessions waiting on the lock.
 * The lock is taken with `pg_advisory_xact_lock`, so it is released by COMMIT/ROLLBACK or by the connection
 * dying; no session lock can leak through the pool.
 *
 * Reads outside a transaction go to the database every time (there is no cache): a secret written on one
 * instance is readable on all at once. A secret with its versions is read in ONE statement (one snapshot),
 * so a reader never pairs one version's metadata with another's rows.
 *
 * A lost connection or a server that is going away becomes `StorageUnavailableError` (pg-errors.ts; answered
 * 503 `storage_unavailable`); nothing was acknowledged, and the next transaction takes a fresh connection.
 */
import type pg from "pg";
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
import { toAudit, toHeader, toMeta, type AuditDbRow, type HeaderDbRow, type SecretDbRow } from "../rows/vault-rows.js";
import { toStorageError } from "./pg-errors.js";
import { VaultOverlay, type VaultWrite } from "./pg-vault-overlay.js";
import { groupSecrets, SECRET_ORDER, SECRET_WITH_VERSIONS, type SecretWithVersionDbRow } from "./pg-vault-rows.js";

/**
 * Key of the transaction-scoped advisory lock every vault transaction takes (a fixed bigint beside the
 * migration runner's 7164917000001; only the vault takes this one).
 */
export const VAULT_LOCK = "7164917000002";

/** `error` as the vault should see it: connection trouble becomes `StorageUnavailableError` (pg-errors.ts). */
const storageFailure = toStorageError;

export function createPgVaultStore(pool: pg.Pool): VaultStore {
  return new PgVaultStore(pool);
}

class PgVaultStore implements VaultStore {
  readonly shared = true;
  /** This instance's transactions, one after another in call order. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly pool: pg.Pool) {}

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (error) {
      throw storageFailure(error);
    }
  }

  async claimAuditKey(check: string): Promise<string> {
    await this.query("INSERT INTO vault_audit_key (id, key_check) VALUES (1, $1) ON CONFLICT (id) DO NOTHING", [check]);
    // A separate statement: it sees a row another instance committed while our insert waited on it.
    const [row] = await this.query<{ key_check: string }>("SELECT key_check FROM vault_audit_key WHERE id = 1");
    return row?.key_check ?? check;
  }

  async getHeader(): Promise<VaultHeaderRow | null> {
    const [row] = await this.query<HeaderDbRow>("SELECT format, kdf, keyring, active_version, created_at, updated_at FROM vault_header WHERE id = 1");
    return row ? toHeader(row) : null;
  }

  async getSecret(name: string): Promise<StoredSecret | null> {
    const rows = await this.query<SecretWithVersionDbRow>(`${SECRET_WITH_VERSIONS} WHERE s.name = $1 ${SECRET_ORDER}`, [name]);
    return groupSecrets(rows)[0] ?? null;
  }

  async listSecrets(): Promise<ListedSecret[]> {
    const rows = await this.query<SecretDbRow & { versions: number[] }>(
      `SELECT s.*, coalesce((SELECT array_agg(v.version ORDER BY v.version DESC) FROM vault_secret_versions v WHERE v.name = s.name), '{}') AS versions
         FROM vault_secrets s ORDER BY s.name COLLATE "C"`,
    );
    return rows.map((row) => ({ ...toMeta(row), versions: row.versions.map(Number) }));
  }

  async countSecrets(exceptPrefix?: string): Promise<number> {
    // starts_with, not LIKE: the prefix is matched literally, whatever `%` or `_` it holds.
    const [row] =
      exceptPrefix === undefined
        ? await this.query<{ n: string }>("SELECT count(*) AS n FROM vault_secrets")
        : await this.query<{ n: string }>("SELECT count(*) AS n FROM vault_secrets WHERE NOT starts_with(name, $1)", [exceptPrefix]);
    return Number(row?.n ?? 0);
  }

  async keyUsage(): Promise<Map<number, number>> {
    const rows = await this.query<{ version: number; encryptions: string }>("SELECT version, encryptions FROM vault_key_usage");
    return new Map(rows.map((row) => [Number(row.version), Number(row.encryptions)]));
  }

  async listAudit(filter: AuditFilter): Promise<StoredAuditEntry[]> {
    const values: unknown[] = [Math.max(0, Math.trunc(filter.afterSeq ?? 0))];
    const where = ["seq > $1"];
    const add = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      values.push(value);
      where.push(`${column} = $${values.length}`);
    };
    add("operation", filter.operation);
    add("outcome", filter.outcome);
    add("actor", filter.actor);
    values.push(Math.max(1, Math.min(1000, Math.trunc(filter.limit))));
    // Only fixed clause texts are joined; every value is a bound parameter.
    const order = filter.order === "desc" ? "DESC" : "ASC";
    const rows = await this.query<AuditDbRow>(`SELECT * FROM vault_audit WHERE ${where.join(" AND ")} ORDER BY seq ${order} LIMIT $${values.length}`, values);
    return rows.map(toAudit);
  }

  async auditPage(afterSeq: number, limit: number): Promise<StoredAuditEntry[]> {
    const rows = await this.query<AuditDbRow>("SELECT * FROM vault_audit WHERE seq > $1 ORDER BY seq LIMIT $2", [afterSeq, limit]);
    return rows.map(toAudit);
  }

  async auditHead(): Promise<AuditHead | null> {
    const [row] = await this.query<{ seq: string; mac: string }>("SELECT seq, mac FROM vault_audit_head WHERE id = 1");
    return row ? { seq: Number(row.seq), mac: row.mac } : null;
  }

  transact<T>(work: (tx: VaultTx) => T, reads?: VaultReads): Promise<T> {
    const run = this.chain.then(() => this.run(work, reads));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async run<T>(work: (tx: VaultTx) => T, reads: VaultReads | undefined): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw storageFailure(error);
    }
    let broken = false;
    /** An error of the caller's work or of our own checks: it reaches the caller unchanged. */
    const own: { error?: unknown } = {};
    try {
      const overlay = await this.load(client, reads);
      let value: T;
      try {
        // Exactly once: the caller's work may keep state in memory.
        value = work(overlay.tx);
      } catch (error) {
        own.error = error;
        throw error;
      }
      await this.apply(client, overlay, (error) => (own.error = error));
      await client.query("COMMIT");
      return value;
    } catch (error) {
      // After a failed BEGIN nothing is open; ROLLBACK then only warns. A connection that cannot even roll back is dropped.
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw "error" in own ? own.error : storageFailure(error);
    } finally {
      client.release(broken);
    }
  }

  /** BEGIN, the vault lock, and the rows `work` may read. */
  private async load(client: pg.PoolClient, reads: VaultReads | undefined): Promise<VaultOverlay> {
    const all = reads?.allSecrets === true;
    // One round trip for everything without parameters (the lock key is our own constant).
    const results = (await client.query(
      `BEGIN;
       SELECT pg_advisory_xact_lock(${VAULT_LOCK});
       SELECT format, kdf, keyring, active_version, created_at, updated_at FROM vault_header WHERE id = 1;
       SELECT seq, mac FROM vault_audit_head WHERE id = 1;
       SELECT version, encryptions FROM vault_key_usage;
       ${all ? `${SECRET_WITH_VERSIONS} ${SECRET_ORDER};` : ""}`,
    )) as unknown as pg.QueryResult[];
    const [header] = results[2]!.rows as HeaderDbRow[];
    const [head] = results[3]!.rows as Array<{ seq: string; mac: string }>;
    const usage = new Map((results[4]!.rows as Array<{ version: number; encryptions: string }>).map((row) => [Number(row.version), Number(row.encryptions)]));
    const names = [...new Set(reads?.secrets ?? [])];
    let secretRows: SecretWithVersionDbRow[] = [];
    if (all) secretRows = results[5]!.rows as SecretWithVersionDbRow[];
    else if (names.length > 0) secretRows = (await client.query<SecretWithVersionDbRow>(`${SECRET_WITH_VERSIONS} WHERE s.name = ANY($1::text[]) ${SECRET_ORDER}`, [names])).rows;
    return new VaultOverlay({
      header: header ? toHeader(header) : null,
      head: head ? { seq: Number(head.seq), mac: head.mac } : null,
      usage,
      secrets: groupSecrets(secretRows),
      names: new Set(names),
      all,
    });
  }

  /** The recorded writes as SQL, in the order `work` made them; the audit head once, at the end. */
  private async apply(client: pg.PoolClient, overlay: VaultOverlay, ownError: (error: Error) => void): Promise<void> {
    for (const write of overlay.writes) await applyWrite(client, write, ownError);
    const head = overlay.movedHead;
    if (head) {
      await client.query(
        "INSERT INTO vault_audit_head (id, seq, mac) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac",
        [head.seq, head.mac],
      );
    }
  }
}

async function applyWrite(client: pg.PoolClient, write: VaultWrite, ownError: (error: Error) => void): Promise<void> {
  switch (write.kind) {
    case "header": {
      const { header } = write;
      await client.query(
        `INSERT INTO vault_header (id, format, kdf, keyring, active_version, created_at, updated_at) VALUES (1, $1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET format = excluded.format, kdf = excluded.kdf, keyring = excluded.keyring,
           active_version = excluded.active_version, updated_at = excluded.updated_at`,
        [header.format, header.kdf, header.keyring, header.activeVersion, header.createdAt, header.updatedAt],
      );
      return;
    }
    case "meta": {
      const { meta } = write;
      await client.query(
        `INSERT INTO vault_secrets (name, version, description, created_at, created_by, updated_at, updated_by, last_used_at, last_used_by, expires_at, head_mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, description = excluded.description,
           created_at = excluded.created_at, created_by = excluded.created_by, updated_at = excluded.updated_at,
           updated_by = excluded.updated_by, last_used_at = excluded.last_used_at, last_used_by = excluded.last_used_by,
           expires_at = excluded.expires_at, head_mac = excluded.head_mac`,
        [meta.name, meta.version, meta.description, meta.createdAt, meta.createdBy, meta.updatedAt, meta.updatedBy, meta.lastUsedAt, meta.lastUsedBy, meta.expiresAt, meta.headMac],
      );
      return;
    }
    case "version": {
      const { row } = write;
      await client.query("INSERT INTO vault_secret_versions (name, version, key_version, ciphertext, created_at) VALUES ($1, $2, $3, $4, $5)", [
        row.name,
        row.version,
        row.keyVersion,
        row.ciphertext,
        row.createdAt,
      ]);
      return;
    }
    case "prune":
      await client.query("DELETE FROM vault_secret_versions WHERE name = $1 AND version < $2", [write.name, write.keepFrom]);
      return;
    case "replace": {
      const result = await client.query("UPDATE vault_secret_versions SET key_version = $1, ciphertext = $2 WHERE name = $3 AND version = $4", [
        write.keyVersion,
        write.ciphertext,
        write.name,
        write.version,
      ]);
      if (result.rowCount !== 1) {
        const error = new Error("secret version to re-encrypt is missing");
        ownError(error);
        throw error;
      }
      return;
    }
    case "touch":
      await client.query("UPDATE vault_secrets SET last_used_at = $1, last_used_by = $2 WHERE name = $3", [write.at, write.by, write.name]);
      return;
    case "delete":
      await client.query("DELETE FROM vault_secrets WHERE name = $1", [write.name]);
      return;
    case "addUsage":
      await client.query(
        `INSERT INTO vault_key_usage (version, encryptions) VALUES ($1, $2)
         ON CONFLICT (version) DO UPDATE SET encryptions = vault_key_usage.encryptions + excluded.encryptions`,
        [write.version, write.delta],
      );
      return;
    case "dropUsage":
      await client.query("DELETE FROM vault_key_usage WHERE version = $1", [write.version]);
      return;
    case "audit": {
      const { entry } = write;
      await client.query(
        `INSERT INTO vault_audit (seq, at, token_id, actor, operation, secret, outcome, reason, request_id, mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [entry.seq, entry.at, entry.tokenId, entry.actor, entry.operation, entry.secret, entry.outcome, entry.reason, entry.requestId, entry.mac],
      );
      return;
    }
  }
}
