/**
 * @module storage/memory/memory-vault-store
 * A `VaultStore` in process memory, for `storage.kind: memory` and as the second implementation that keeps
 * the vault storage contract honest. Transactions keep an undo log, so a throw inside `work` leaves the
 * state exactly as it was (the same all-or-nothing rule SQLite's savepoints give). Reads are held to the
 * transaction's announced reads, like every backend (contracts/vault-store.ts).
 */
import type {
  AuditFilter,
  AuditHead,
  ListedSecret,
  SecretMetaRow,
  SecretVersionRow,
  StoredAuditEntry,
  StoredSecret,
  VaultHeaderRow,
  VaultReads,
  VaultStore,
  VaultTx,
} from "../contracts/vault-store.js";
import { announcedReadsOnly } from "../contracts/vault-store.js";

const cloneVersion = (row: SecretVersionRow): SecretVersionRow => ({ ...row, ciphertext: Buffer.from(row.ciphertext) });
const cloneHeader = (row: VaultHeaderRow): VaultHeaderRow => ({ ...row, keyring: Buffer.from(row.keyring) });
const cloneMeta = (row: SecretMetaRow): SecretMetaRow => ({ ...row, headMac: row.headMac === null ? null : Buffer.from(row.headMac) });

export class MemoryVaultStore implements VaultStore {
  private header: VaultHeaderRow | null = null;
  private readonly secrets = new Map<string, SecretMetaRow>();
  /** name → version → row */
  private readonly versions = new Map<string, Map<number, SecretVersionRow>>();
  private readonly usage = new Map<number, number>();
  private readonly audit: StoredAuditEntry[] = [];
  private head: AuditHead | null = null;
  /** Undo actions of the running transaction, newest last. */
  private undo: Array<() => void> = [];
  /** Transactions run one after another, in call order, like the SQLite batcher's. */
  private chain: Promise<unknown> = Promise.resolve();

  readonly shared = false;

  constructor(private readonly check: () => void) {}

  async claimAuditKey(check: string): Promise<string> {
    return check;
  }

  async getHeader(): Promise<VaultHeaderRow | null> {
    this.check();
    return this.header ? cloneHeader(this.header) : null;
  }

  async getSecret(name: string): Promise<StoredSecret | null> {
    this.check();
    return this.readSecret(name);
  }

  async listSecrets(): Promise<ListedSecret[]> {
    this.check();
    return [...this.secrets.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((meta) => ({ ...cloneMeta(meta), versions: [...(this.versions.get(meta.name)?.keys() ?? [])].sort((a, b) => b - a) }));
  }

  async countSecrets(exceptPrefix?: string): Promise<number> {
    this.check();
    if (exceptPrefix === undefined) return this.secrets.size;
    let count = 0;
    for (const name of this.secrets.keys()) if (!name.startsWith(exceptPrefix)) count++;
    return count;
  }

  async keyUsage(): Promise<Map<number, number>> {
    this.check();
    return new Map(this.usage);
  }

  async listAudit(filter: AuditFilter): Promise<StoredAuditEntry[]> {
    this.check();
    const limit = Math.max(1, Math.min(1000, Math.trunc(filter.limit)));
    const out: StoredAuditEntry[] = [];
    for (const entry of filter.order === "desc" ? this.audit.toReversed() : this.audit) {
      if (entry.seq <= (filter.afterSeq ?? 0)) continue;
      if (filter.operation !== undefined && entry.operation !== filter.operation) continue;
      if (filter.outcome !== undefined && entry.outcome !== filter.outcome) continue;
      if (filter.actor !== undefined && entry.actor !== filter.actor) continue;
      out.push({ ...entry });
      if (out.length >= limit) break;
    }
    return out;
  }

  async auditPage(afterSeq: number, limit: number): Promise<StoredAuditEntry[]> {
    this.check();
    return this.audit.filter((entry) => entry.seq > afterSeq).slice(0, limit).map((entry) => ({ ...entry }));
  }

  async auditHead(): Promise<AuditHead | null> {
    this.check();
    return this.head ? { ...this.head } : null;
  }

  transact<T>(work: (tx: VaultTx) => T, reads?: VaultReads): Promise<T> {
    const tx = announcedReadsOnly(this.tx, reads);
    const run = this.chain.then(() => {
      this.check();
      this.undo = [];
      try {
        return work(tx);
      } catch (error) {
        for (const step of this.undo.reverse()) step();
        throw error;
      } finally {
        this.undo = [];
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Test hook for the audit-tampering tests: the raw, mutable audit rows. */
  rawAudit(): StoredAuditEntry[] {
    return this.audit;
  }

  private readSecret(name: string): StoredSecret | null {
    const meta = this.secrets.get(name);
    if (!meta) return null;
    const versions = [...(this.versions.get(name)?.values() ?? [])].sort((a, b) => b.version - a.version).map(cloneVersion);
    return { meta: cloneMeta(meta), versions };
  }

  /** Remembers how to restore `map`'s entry for `key` as it is now. */
  private saveEntry<K, V>(map: Map<K, V>, key: K): void {
    const had = map.has(key);
    const before = map.get(key);
    this.undo.push(() => {
      if (had) map.set(key, before as V);
      else map.delete(key);
    });
  }

  private versionsOf(name: string): Map<number, SecretVersionRow> {
    let versions = this.versions.get(name);
    if (!versions) {
      this.saveEntry(this.versions, name);
      versions = new Map();
      this.versions.set(name, versions);
    }
    return versions;
  }

  private readonly tx: VaultTx = {
    getHeader: () => (this.header ? cloneHeader(this.header) : null),
    putHeader: (header) => {
      const before = this.header;
      this.undo.push(() => (this.header = before));
      this.header = cloneHeader(header);
    },
    getSecret: (name) => this.readSecret(name),
    putSecretMeta: (meta) => {
      this.saveEntry(this.secrets, meta.name);
      this.secrets.set(meta.name, cloneMeta(meta));
    },
    putSecretVersion: (row) => {
      if (!this.secrets.has(row.name)) throw new Error("secret version without its secret");
      const versions = this.versionsOf(row.name);
      if (versions.has(row.version)) throw new Error("secret version already exists");
      this.saveEntry(versions, row.version);
      versions.set(row.version, cloneVersion(row));
    },
    pruneSecretVersions: (name, keepFrom) => {
      const versions = this.versions.get(name);
      if (!versions) return;
      for (const version of [...versions.keys()]) {
        if (version >= keepFrom) continue;
        this.saveEntry(versions, version);
        versions.delete(version);
      }
    },
    replaceCiphertext: (name, version, keyVersion, ciphertext) => {
      const versions = this.versions.get(name);
      const row = versions?.get(version);
      if (!versions || !row) throw new Error("secret version to re-encrypt is missing");
      this.saveEntry(versions, version);
      versions.set(version, { ...row, keyVersion, ciphertext: Buffer.from(ciphertext) });
    },
    allSecretVersions: () => {
      const out: SecretVersionRow[] = [];
      for (const name of [...this.versions.keys()].sort()) {
        const versions = this.versions.get(name);
        if (!versions) continue;
        for (const row of [...versions.values()].sort((a, b) => a.version - b.version)) out.push(cloneVersion(row));
      }
      return out;
    },
    touchSecret: (name, at, by) => {
      const meta = this.secrets.get(name);
      if (!meta) return;
      this.saveEntry(this.secrets, name);
      this.secrets.set(name, { ...meta, lastUsedAt: at, lastUsedBy: by });
    },
    deleteSecret: (name) => {
      if (!this.secrets.has(name)) return false;
      this.saveEntry(this.secrets, name);
      this.saveEntry(this.versions, name);
      this.secrets.delete(name);
      this.versions.delete(name);
      return true;
    },
    addKeyUsage: (version, delta) => {
      this.saveEntry(this.usage, version);
      const total = (this.usage.get(version) ?? 0) + delta;
      this.usage.set(version, total);
      return total;
    },
    deleteKeyUsage: (version) => {
      this.saveEntry(this.usage, version);
      this.usage.delete(version);
    },
    auditHead: () => (this.head ? { ...this.head } : null),
    appendAudit: (entry) => {
      if ((this.head?.seq ?? 0) + 1 !== entry.seq) throw new Error("audit entry out of sequence");
      const before = this.head;
      const length = this.audit.length;
      this.undo.push(() => {
        this.audit.length = length;
        this.head = before;
      });
      this.audit.push({ ...entry });
      this.head = { seq: entry.seq, mac: entry.mac };
    },
  };
}
