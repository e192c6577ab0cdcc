/**
 * @module storage/postgres/pg-plugin-install-store
 * The PostgreSQL backend of `PluginInstallStore` (contracts/plugin-install-store.ts), shared by every instance of the
 * node: a put is one upsert whose row lock makes the revision bump atomic when two instances record one id at once;
 * the package is a bytea column, read only when an instance follows the row (listings read its length).
 */
import { type PluginInstallHead, type PluginInstallStore, type PluginInstallWrite, type StoredPluginInstall } from "../contracts/plugin-install-store.js";
import type { PgDatabase } from "./pg-database.js";

/** Migration 10: the desired plugin installs every instance follows (issue 18). */
export const PLUGIN_INSTALL_SCHEMA = `
  CREATE TABLE plugin_installs (
    id       text COLLATE "C" PRIMARY KEY,
    revision bigint NOT NULL,
    action   text NOT NULL,
    version  text NOT NULL,
    package  bytea,
    sha256   text,
    trust    text,
    signer   text,
    purge    boolean NOT NULL,
    by       text NOT NULL,
    origin   text NOT NULL,
    at       text NOT NULL
  );
`;

type HeadRow = {
  id: string;
  revision: string | number;
  action: string;
  version: string;
  sha256: string | null;
  trust: string | null;
  signer: string | null;
  purge: boolean;
  by: string;
  origin: string;
  at: string;
  bytes: string | number;
};

type Row = Omit<HeadRow, "bytes"> & { package: Buffer | null };

const HEAD = "id, revision, action, version, sha256, trust, signer, purge, by, origin, at";

const decodeHead = (row: HeadRow): PluginInstallHead => ({
  id: row.id,
  revision: Number(row.revision),
  action: row.action as PluginInstallHead["action"],
  version: row.version,
  sha256: row.sha256,
  trust: row.trust as PluginInstallHead["trust"],
  signer: row.signer,
  purge: row.purge,
  by: row.by,
  origin: row.origin,
  at: row.at,
  bytes: Number(row.bytes),
});

export class PgPluginInstallStore implements PluginInstallStore {
  constructor(private readonly db: PgDatabase) {}

  async putInstall(write: PluginInstallWrite): Promise<PluginInstallHead> {
    const rows = await this.db.query<HeadRow>(
      `INSERT INTO plugin_installs (id, revision, action, version, package, sha256, trust, signer, purge, by, origin, at) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (id) DO UPDATE SET revision = plugin_installs.revision + 1, action = excluded.action, version = excluded.version, package = excluded.package,
         sha256 = excluded.sha256, trust = excluded.trust, signer = excluded.signer, purge = excluded.purge, by = excluded.by, origin = excluded.origin, at = excluded.at
       RETURNING ${HEAD}, coalesce(octet_length(package), 0) AS bytes`,
      [write.id, write.action, write.version, write.package, write.sha256, write.trust, write.signer, write.purge, write.by, write.origin, write.at],
    );
    return decodeHead(rows[0]!);
  }

  async getInstall(id: string): Promise<StoredPluginInstall | null> {
    const rows = await this.db.query<Row>(`SELECT ${HEAD}, package FROM plugin_installs WHERE id = $1`, [id]);
    const row = rows[0];
    if (!row) return null;
    const { package: bytes, ...head } = row;
    const { bytes: _length, ...rest } = decodeHead({ ...head, bytes: 0 });
    return { ...rest, package: bytes };
  }

  async copyInstall(row: StoredPluginInstall): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `INSERT INTO plugin_installs (id, revision, action, version, package, sha256, trust, signer, purge, by, origin, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [row.id, row.revision, row.action, row.version, row.package, row.sha256, row.trust, row.signer, row.purge, row.by, row.origin, row.at],
    );
    return rows.length === 1;
  }

  async listInstalls(): Promise<PluginInstallHead[]> {
    return (await this.db.query<HeadRow>(`SELECT ${HEAD}, coalesce(octet_length(package), 0) AS bytes FROM plugin_installs ORDER BY id`)).map(decodeHead);
  }
}

