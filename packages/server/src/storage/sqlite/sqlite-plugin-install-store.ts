/**
 * @module storage/sqlite/sqlite-plugin-install-store
 * The SQLite backend of `PluginInstallStore` (contracts/plugin-install-store.ts), on the backend's connection: reads
 * run synchronously, a put is one upsert in the backend's group commit that bumps the row's revision (a batch re-run
 * after a rollback starts from the rolled-back row, so it bumps it once).
 */
import type { Database, Statement } from "better-sqlite3";
import { type PluginInstallHead, type PluginInstallStore, type PluginInstallWrite, type StoredPluginInstall } from "../contracts/plugin-install-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

/** Migration 14: the desired plugin installs every instance follows (issue 18). */
export const PLUGIN_INSTALL_SCHEMA = `
  CREATE TABLE plugin_installs (
    id         TEXT PRIMARY KEY NOT NULL,
    revision   INTEGER NOT NULL,
    action     TEXT NOT NULL,
    version    TEXT NOT NULL,
    package    BLOB,
    sha256     TEXT,
    trust      TEXT,
    signer     TEXT,
    purge      INTEGER NOT NULL,
    by         TEXT NOT NULL,
    origin     TEXT NOT NULL,
    at         TEXT NOT NULL
  );
`;

interface HeadRow {
  id: string;
  revision: number;
  action: string;
  version: string;
  sha256: string | null;
  trust: string | null;
  signer: string | null;
  purge: number;
  by: string;
  origin: string;
  at: string;
  bytes: number;
}

type Row = Omit<HeadRow, "bytes"> & { package: Buffer | null };

const HEAD = "id, revision, action, version, sha256, trust, signer, purge, by, origin, at";

const decodeHead = (row: HeadRow): PluginInstallHead => ({
  id: row.id,
  revision: row.revision,
  action: row.action as PluginInstallHead["action"],
  version: row.version,
  sha256: row.sha256,
  trust: row.trust as PluginInstallHead["trust"],
  signer: row.signer,
  purge: row.purge === 1,
  by: row.by,
  origin: row.origin,
  at: row.at,
  bytes: row.bytes,
});

export class SqlitePluginInstallStore implements PluginInstallStore {
  private readonly upsert: Statement<[string, string, string, Buffer | null, string | null, string | null, string | null, number, string, string, string], HeadRow>;
  private readonly selectOne: Statement<[string], Row>;
  private readonly selectAll: Statement<[], HeadRow>;
  private readonly insertCopied: Statement<[string, number, string, string, Buffer | null, string | null, string | null, string | null, number, string, string, string]>;

  constructor(
    db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    this.upsert = db.prepare(
      `INSERT INTO plugin_installs (id, revision, action, version, package, sha256, trust, signer, purge, by, origin, at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET revision = plugin_installs.revision + 1, action = excluded.action, version = excluded.version, package = excluded.package,
         sha256 = excluded.sha256, trust = excluded.trust, signer = excluded.signer, purge = excluded.purge, by = excluded.by, origin = excluded.origin, at = excluded.at
       RETURNING ${HEAD}, coalesce(length(package), 0) AS bytes`,
    );
    this.selectOne = db.prepare(`SELECT ${HEAD}, package FROM plugin_installs WHERE id = ?`);
    this.selectAll = db.prepare(`SELECT ${HEAD}, coalesce(length(package), 0) AS bytes FROM plugin_installs ORDER BY id`);
    this.insertCopied = db.prepare(
      "INSERT INTO plugin_installs (id, revision, action, version, package, sha256, trust, signer, purge, by, origin, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    );
  }

  putInstall(write: PluginInstallWrite): Promise<PluginInstallHead> {
    return this.hooks.enqueue(() => decodeHead(this.upsert.get(write.id, write.action, write.version, write.package, write.sha256, write.trust, write.signer, write.purge ? 1 : 0, write.by, write.origin, write.at)!));
  }

  async getInstall(id: string): Promise<StoredPluginInstall | null> {
    this.hooks.assertOpen();
    const row = this.selectOne.get(id);
    if (!row) return null;
    const { package: bytes, ...head } = row;
    const { bytes: _length, ...rest } = decodeHead({ ...head, bytes: 0 });
    return { ...rest, package: bytes === null ? null : Buffer.from(bytes) };
  }

  copyInstall(row: StoredPluginInstall): Promise<boolean> {
    return this.hooks.enqueue(
      () => this.insertCopied.run(row.id, row.revision, row.action, row.version, row.package, row.sha256, row.trust, row.signer, row.purge ? 1 : 0, row.by, row.origin, row.at).changes === 1,
    );
  }

  async listInstalls(): Promise<PluginInstallHead[]> {
    this.hooks.assertOpen();
    return this.selectAll.all().map(decodeHead);
  }
}

