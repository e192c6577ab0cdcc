/**
 * @module federation/importer
 * The import side: statements a trusted peer sent (in a `state_sync` answer or a push) are checked one by
 * one and the ones that hold are kept. The rules, each refusal counted by its KLP code:
 * - the statement is well formed and signed by its origin (`KLP_MALFORMED`, `KLP_BAD_SIGNATURE`);
 * - its origin is the peer that sent it: a peer cannot speak for another node (`KLP_UNAUTHORIZED`);
 * - it is newer (origin revision) than what is held; older ones are ignored, so reordering is harmless;
 * - a record statement that has already run out is ignored.
 * A batch is written in one transaction together with the peer's cursor, then applied to the in-memory
 * directory (which tells the watch stream); `onStored` then hears which origin's records changed in the store
 * (the other instances of a cluster re-read them).
 */
import type { klp } from "@kai/protocol";
import type { FederationStore, ImportedRow } from "../storage/contracts/federation-store.js";
import type { ImportedDirectory, ImportedEntry } from "./imported-directory.js";
import { checkStatement, importedServiceRecord } from "./statements.js";

export type RejectionCounter = (peerDid: string, code: klp.KlpErrorCode) => void;

/** Told after records of `origin` were written to or deleted from the store. */
export type StoredListener = (origin: string) => void;

export interface ImportOutcome {
  applied: number;
  ignored: number;
  rejected: number;
}

/** How many recent deletions are remembered, so that an older statement arriving late cannot bring a record back. */
const TOMBSTONE_MEMORY = 100_000;

export class FederationImporter {
  private readonly tombstones = new Map<string, number>();

  constructor(
    private readonly store: FederationStore,
    private readonly directory: ImportedDirectory,
    private readonly countRejection: RejectionCounter,
    private readonly now: () => number = Date.now,
    private readonly onStored: StoredListener = () => undefined,
  ) {}

  /**
   * Checks and keeps `statements` from `peerDid`. With `cursor`, the peer's cursor moves in the same
   * transaction. With `keep` (a snapshot's last page), records of that origin not in the snapshot and not
   * newer than its revision are dropped.
   */
  async apply(
    peerDid: string,
    statements: readonly unknown[],
    options: { cursor?: { revision: number; epoch: string }; sweepSnapshot?: { seen: ReadonlySet<string>; revision: number } } = {},
  ): Promise<ImportOutcome> {
    const outcome: ImportOutcome = { applied: 0, ignored: 0, rejected: 0 };
    const upserts = new Map<string, ImportedEntry>();
    const deletes = new Set<string>();
    const nowMs = this.now();
    for (const raw of statements) {
      const check = checkStatement(raw, peerDid);
      if (!check.ok) {
        outcome.rejected++;
        this.countRejection(peerDid, check.code);
        continue;
      }
      const statement = check.statement;
      const held =
        upserts.get(statement.serviceId)?.originRevision ??
        this.directory.get(peerDid, statement.serviceId)?.originRevision ??
        this.tombstones.get(`${peerDid}\n${statement.serviceId}`) ??
        0;
      if (statement.originRevision < held) {
        outcome.ignored++;
        continue;
      }
      if (statement.kind === "tombstone") {
        this.rememberTombstone(peerDid, statement.serviceId, statement.originRevision);
        upserts.delete(statement.serviceId);
        deletes.add(statement.serviceId);
        outcome.applied++;
        continue;
      }
      const expiresAt = Date.parse(statement.expiresAt);
      if (expiresAt <= nowMs) {
        outcome.ignored++;
        continue;
      }
      deletes.delete(statement.serviceId);
      upserts.set(statement.serviceId, {
        origin: peerDid,
        serviceId: statement.serviceId,
        originRevision: statement.originRevision,
        expiresAt,
        statement,
        statementText: JSON.stringify(raw),
        record: importedServiceRecord(statement),
      });
      outcome.applied++;
    }
    if (options.sweepSnapshot) {
      const { seen, revision } = options.sweepSnapshot;
      for (const entry of this.directory.entriesFrom(peerDid)) {
        // Newer than the snapshot: pushed while it was being paged, so its absence means nothing.
        if (!seen.has(entry.serviceId) && !upserts.has(entry.serviceId) && entry.originRevision <= revision) deletes.add(entry.serviceId);
      }
    }
    const rows: ImportedRow[] = [...upserts.values()].map((entry) => ({
      origin: entry.origin,
      serviceId: entry.serviceId,
      originRevision: entry.originRevision,
      expiresAt: entry.expiresAt,
      statement: entry.statementText,
    }));
    const realDeletes = [...deletes].filter((id) => this.directory.get(peerDid, id) !== undefined);
    if (rows.length > 0 || realDeletes.length > 0 || options.cursor) {
      await this.store.applyImports({ origin: peerDid, upserts: rows, deletes: realDeletes, ...(options.cursor ? { cursor: options.cursor } : {}) });
    }
    for (const entry of upserts.values()) {
      // Re-check after the await: a push may have brought something newer meanwhile.
      const current = this.directory.get(peerDid, entry.serviceId);
      if (!current || current.originRevision <= entry.originRevision) this.directory.put(entry);
    }
    for (const id of realDeletes) this.directory.remove(peerDid, id);
    // A batch that only moved the cursor changed no record: nobody needs to re-read anything.
    if (rows.length > 0 || realDeletes.length > 0) this.onStored(peerDid);
    return outcome;
  }

  private rememberTombstone(peerDid: string, serviceId: string, revision: number): void {
    const key = `${peerDid}\n${serviceId}`;
    this.tombstones.delete(key);
    this.tombstones.set(key, revision);
    // Maps iterate in insertion order: the first key is the oldest deletion.
    if (this.tombstones.size > TOMBSTONE_MEMORY) this.tombstones.delete(this.tombstones.keys().next().value!);
  }

  /** Drops records whose origin stopped vouching for them; returns how many. */
  async sweepExpired(): Promise<number> {
    const expired = this.directory.expired(this.now());
    if (expired.length === 0) return 0;
    await this.store.deleteImports(expired.map((entry) => ({ origin: entry.origin, serviceId: entry.serviceId })));
    for (const entry of expired) this.directory.remove(entry.origin, entry.serviceId);
    for (const origin of new Set(expired.map((entry) => entry.origin))) this.onStored(origin);
    return expired.length;
  }

  /** Forgets everything from a peer (removed or no longer trusted); the store side is the caller's. */
  forget(peerDid: string): void {
    for (const key of [...this.tombstones.keys()]) if (key.startsWith(`${peerDid}\n`)) this.tombstones.delete(key);
    for (const entry of this.directory.entriesFrom(peerDid)) this.directory.remove(peerDid, entry.serviceId);
  }
}
