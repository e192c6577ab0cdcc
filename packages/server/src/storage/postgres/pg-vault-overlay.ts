/**
 * @module storage/postgres/pg-vault-overlay
 * The synchronous `VaultTx` of a PostgreSQL vault transaction. PostgreSQL answers asynchronously, but the vault
 * runs its transaction work synchronously (it must: the work decides, encrypts and appends its audit entry in
 * one step). So pg-vault-store.ts first loads, inside the transaction and under the vault's advisory lock,
 * everything the work may read (the header, the audit head, the key usage counters and the announced secrets),
 * and this overlay then answers the work from those rows: reads see the transaction's own earlier writes,
 * every write is recorded in order for the store to apply as SQL before COMMIT, and a read of a secret that
 * was not announced throws (`unannouncedRead`) instead of answering from rows that were never loaded.
 *
 * The overlay's checks mirror the memory store's (a version of a missing secret, a duplicate version, a
 * missing version to re-encrypt), so a mistake is refused while `work` runs; for secrets that were not loaded
 * (blind writes), PostgreSQL's own constraints refuse the same mistakes when the writes are applied.
 */
import {
  unannouncedRead,
  type AuditHead,
  type SecretMetaRow,
  type SecretVersionRow,
  type StoredAuditEntry,
  type StoredSecret,
  type VaultHeaderRow,
  type VaultTx,
} from "../contracts/vault-store.js";

/** One change `work` made, in the order it made it. */
export type VaultWrite =
  | { kind: "header"; header: VaultHeaderRow }
  | { kind: "meta"; meta: SecretMetaRow }
  | { kind: "version"; row: SecretVersionRow }
  | { kind: "prune"; name: string; keepFrom: number }
  | { kind: "replace"; name: string; version: number; keyVersion: number; ciphertext: Buffer }
  | { kind: "touch"; name: string; at: string; by: string }
  | { kind: "delete"; name: string }
  | { kind: "addUsage"; version: number; delta: number }
  | { kind: "dropUsage"; version: number }
  | { kind: "audit"; entry: StoredAuditEntry };

/** What the store loaded for one transaction. */
export interface OverlayRows {
  header: VaultHeaderRow | null;
  head: AuditHead | null;
  usage: Map<number, number>;
  /** The loaded secrets, present ones only. */
  secrets: StoredSecret[];
  /** The names whose rows were loaded (an absent one is known to be absent); ignored with `all`. */
  names: ReadonlySet<string>;
  /** Every secret was loaded. */
  all: boolean;
}

const copy = (bytes: Buffer) => Buffer.from(bytes);
const cloneHeader = (row: VaultHeaderRow): VaultHeaderRow => ({ ...row, keyring: copy(row.keyring) });
const cloneMeta = (row: SecretMetaRow): SecretMetaRow => ({ ...row, headMac: row.headMac === null ? null : copy(row.headMac) });
const cloneVersion = (row: SecretVersionRow): SecretVersionRow => ({ ...row, ciphertext: copy(row.ciphertext) });

export class VaultOverlay {
  readonly writes: VaultWrite[] = [];
  private header: VaultHeaderRow | null;
  private head: AuditHead | null;
  private readonly usage: Map<number, number>;
  private readonly metas = new Map<string, SecretMetaRow>();
  /** name → version → row, for loaded secrets. */
  private readonly versions = new Map<string, Map<number, SecretVersionRow>>();

  constructor(private readonly rows: OverlayRows) {
    this.header = rows.header;
    this.head = rows.head;
    this.usage = new Map(rows.usage);
    for (const secret of rows.secrets) {
      this.metas.set(secret.meta.name, secret.meta);
      this.versions.set(secret.meta.name, new Map(secret.versions.map((row) => [row.version, row])));
    }
  }

  private loaded(name: string): boolean {
    return this.rows.all || this.rows.names.has(name);
  }

  private need(name: string): void {
    if (!this.loaded(name)) throw unannouncedRead(`secret ${JSON.stringify(name)}`);
  }

  readonly tx: VaultTx = {
    getHeader: () => (this.header ? cloneHeader(this.header) : null),
    putHeader: (header) => {
      this.header = cloneHeader(header);
      this.writes.push({ kind: "header", header: cloneHeader(header) });
    },
    getSecret: (name) => {
      this.need(name);
      const meta = this.metas.get(name);
      if (!meta) return null;
      const versions = [...(this.versions.get(name)?.values() ?? [])].sort((a, b) => b.version - a.version).map(cloneVersion);
      return { meta: cloneMeta(meta), versions };
    },
    putSecretMeta: (meta) => {
      if (this.loaded(meta.name)) {
        this.metas.set(meta.name, cloneMeta(meta));
        if (!this.versions.has(meta.name)) this.versions.set(meta.name, new Map());
      }
      this.writes.push({ kind: "meta", meta: cloneMeta(meta) });
    },
    putSecretVersion: (row) => {
      if (this.loaded(row.name)) {
        if (!this.metas.has(row.name)) throw new Error("secret version without its secret");
        const versions = this.versions.get(row.name)!;
        if (versions.has(row.version)) throw new Error("secret version already exists");
        versions.set(row.version, cloneVersion(row));
      }
      this.writes.push({ kind: "version", row: cloneVersion(row) });
    },
    pruneSecretVersions: (name, keepFrom) => {
      const versions = this.versions.get(name);
      if (versions) for (const version of [...versions.keys()]) if (version < keepFrom) versions.delete(version);
      this.writes.push({ kind: "prune", name, keepFrom });
    },
    replaceCiphertext: (name, version, keyVersion, ciphertext) => {
      this.need(name);
      const versions = this.versions.get(name);
      const row = versions?.get(version);
      if (!versions || !row) throw new Error("secret version to re-encrypt is missing");
      versions.set(version, { ...row, keyVersion, ciphertext: copy(ciphertext) });
      this.writes.push({ kind: "replace", name, version, keyVersion, ciphertext: copy(ciphertext) });
    },
    allSecretVersions: () => {
      if (!this.rows.all) throw unannouncedRead("every secret");
      const out: SecretVersionRow[] = [];
      // Code-unit order, the order SQLite's BINARY collation and PostgreSQL's "C" give for the vault's names.
      for (const name of [...this.versions.keys()].sort()) {
        for (const row of [...this.versions.get(name)!.values()].sort((a, b) => a.version - b.version)) out.push(cloneVersion(row));
      }
      return out;
    },
    touchSecret: (name, at, by) => {
      const meta = this.metas.get(name);
      if (meta) this.metas.set(name, { ...meta, lastUsedAt: at, lastUsedBy: by });
      this.writes.push({ kind: "touch", name, at, by });
    },
    deleteSecret: (name) => {
      this.need(name);
      if (!this.metas.has(name)) return false;
      this.metas.delete(name);
      this.versions.delete(name);
      this.writes.push({ kind: "delete", name });
      return true;
    },
    addKeyUsage: (version, delta) => {
      const total = (this.usage.get(version) ?? 0) + delta;
      this.usage.set(version, total);
      this.writes.push({ kind: "addUsage", version, delta });
      return total;
    },
    deleteKeyUsage: (version) => {
      this.usage.delete(version);
      this.writes.push({ kind: "dropUsage", version });
    },
    auditHead: () => (this.head ? { ...this.head } : null),
    appendAudit: (entry) => {
      if ((this.head?.seq ?? 0) + 1 !== entry.seq) throw new Error("audit entry out of sequence");
      this.head = { seq: entry.seq, mac: entry.mac };
      this.writes.push({ kind: "audit", entry: { ...entry } });
    },
  };

  /** The audit head after the work, when it appended entries (the store writes the head once). */
  get movedHead(): AuditHead | null {
    return this.writes.some((write) => write.kind === "audit") ? this.head : null;
  }
}
