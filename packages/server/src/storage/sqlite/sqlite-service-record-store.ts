/**
 * @module storage/sqlite/sqlite-service-record-store
 * The SQLite backend of `ServiceRecordStore`: service records, their tag and capability index rows, and the
 * event log, under one revision counter. Reads run synchronously on the backend's connection; every write
 * goes through the backend's group-commit batcher (write-batcher.ts), so it is acknowledged only after its
 * transaction committed (and, in synchronous=FULL, was fsynced), while concurrent writes share one commit.
 * With the writer thread, a service write is *planned* here (revision, conflicts, which index rows change)
 * and its statements are committed by the thread (writer-thread.ts); this module keeps what the main
 * connection cannot see yet.
 */
import { SERVICE_STATUSES, type RegistryEvent, type ServiceRecord } from "@kai/protocol";
import type { Database, Statement } from "better-sqlite3";
import { RevisionConflict, type ServiceDelete, type ServiceDraft, type ServicePage, type ServiceQuery, type ServiceRecordStore, type ServiceWrite } from "../contracts/node-store.js";
import type { Viewer } from "../contracts/viewer.js";
import { decodeListCursor, encodeListCursor } from "../contracts/page-cursor.js";
import type { EnqueueOptions } from "./write-batcher.js";
import { MAX_TERMS_PER_INSERT, type WriteSink } from "./write-statements.js";
import { encodeRecordDoc, eventDocIsRowDoc, eventDocOf, fromRow, parseRecordDoc, serviceColumns, serviceUpdateColumns, type ServiceRow } from "./record-codec.js";
import { buildListQuery, visibilityClause } from "./service-query.js";
import type { ServiceChange, ServiceDecision } from "../contracts/node-store.js";
import { changeByRead } from "../rows/change-by-read.js";

/** Dynamic listing queries are prepared once per distinct SQL shape; this bounds that cache. */
const MAX_CACHED_QUERIES = 256;
const COMPACTED_THROUGH = "events_compacted_through";
const RERUNNABLE: EnqueueOptions = { rerunnable: true };
const PLANNED: EnqueueOptions = { planned: true };

/** What this part gets from the backend that owns the connection and the batcher (sqlite-store.ts). */
export interface SqliteServiceRecordHooks {
  /** Queues `run` into the next batch transaction (see write-batcher.ts for the options); rejects once closed. */
  enqueue<T>(run: (sink: WriteSink) => T, options: EnqueueOptions): Promise<T>;
  /** Throws when the backend is closed. */
  assertOpen(): void;
}

/** What planning a write needs of a stored (or planned, not yet committed) service row. */
interface PlannedRow {
  seq: number;
  revision: number;
  doc: string;
}

/** What one transaction changed, from planning until it commits (write-batcher.ts `seal`). */
export interface SealedBatch {
  /** The last revision it used. */
  revision: number;
  /** Each id it wrote, with the seq of its row, or null when it deleted the row; in order. */
  idChanges: IdChange[];
}

type IdChange = [id: string, seq: number | null];

interface EventRow {
  revision: number;
  event: RegistryEvent["event"];
  doc: string;
}

export class SqliteServiceRecordStore implements ServiceRecordStore {
  private readonly listCache = new Map<string, Statement>();
  /** Highest committed revision. */
  private committedRevision: number;
  /** Highest revision used inside the batch being written (equals committedRevision between batches). */
  private workingRevision: number;
  /**
   * With the writer thread: the rows (revision, document) that transactions planned and not yet committed have
   * written (the one the thread commits, and the next, planned meanwhile), which this connection cannot see before
   * the thread commits. A row leaves when its transaction committed (unless planned again since), all when one
   * rolled back.
   */
  private readonly planned = new Map<string, PlannedRow>();
  /**
   * The seq (rowid) of every committed service row, by id: the only index of ids there is (migration 15). Rows are
   * read and written by seq; SQLite keeps no index on id, whose random order made each registration rewrite a random
   * page of it. It also answers "is this id new", the common case, with no read at all (each read on this connection
   * after the writer thread committed starts with a cold page cache). Never misses a committed id: an id is added when
   * its write commits and removed only when its delete committed. An entry whose row is gone (a write that threw after
   * noting its id) is harmless: every read by seq checks the id too, and finds nothing.
   */
  private readonly seqs: Map<string, number>;
  /**
   * Id changes of the transaction being planned, applied to `seqs` in order when it commits (`sealBatch` takes
   * them), dropped if it rolls back.
   */
  private idChanges: IdChange[] = [];
  /**
   * The ids written by transactions not yet committed, with their row's seq (null: deleted), so that planning
   * finds rows this connection's transaction wrote but `seqs` does not hold yet.
   */
  private readonly uncommittedSeqs = new Map<string, number | null>();
  /** What the write being planned changed in `planned`, to put back if it throws half-way (writeServices). */
  private plannedUndo: Array<[string, PlannedRow | undefined]> = [];

  private readonly stmt: {
    getService: Statement<[number, string], ServiceRow>;
    getRevision: Statement<[number, string], PlannedRow>;
    deleteService: Statement<[number]>;
    insertEvent: Statement<[number, string, string, string]>;
    eventsAfter: Statement<[number, number], EventRow>;
    deleteEventsThrough: Statement<[number]>;
    getState: Statement<[string], { value: number }>;
    setState: Statement<[string, number]>;
    sequence: Statement<[], { seq: number }>;
    countAll: Statement<[], { status: string; n: number }>;
    countVisible: Statement<[string], { status: string; n: number }>;
  };

  /** `plansForThread`: service writes are committed by the writer thread, so planned rows must be kept here. */
  constructor(
    private readonly db: Database,
    private readonly hooks: SqliteServiceRecordHooks,
    private readonly plansForThread: boolean,
  ) {
    const prepare = <P extends unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
    const visible = visibilityClause({ owner: "", admin: false });
    this.stmt = {
      getService: prepare("SELECT seq, id, heartbeat_at, revision, doc FROM services WHERE seq = ? AND id = ?"),
      getRevision: prepare("SELECT seq, revision, doc FROM services WHERE seq = ? AND id = ?"),
      deleteService: prepare("DELETE FROM services WHERE seq = ?"),
      insertEvent: prepare("INSERT INTO events (revision, event, service_id, doc) VALUES (?, ?, ?, ?)"),
      eventsAfter: prepare("SELECT revision, event, doc FROM events WHERE revision > ? ORDER BY revision LIMIT ?"),
      deleteEventsThrough: prepare("DELETE FROM events WHERE revision <= ?"),
      getState: prepare("SELECT value FROM store_state WHERE key = ?"),
      setState: prepare("INSERT INTO store_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      sequence: prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'"),
      countAll: prepare("SELECT status, count(*) AS n FROM services GROUP BY status"),
      countVisible: prepare(`SELECT status, count(*) AS n FROM services s WHERE ${visible?.sql ?? "1"} GROUP BY status`),
    };
    this.committedRevision = this.workingRevision = this.stmt.sequence.get()?.seq ?? 0;
    // One pass over the table at open (~0.4 s at 100k services): see seqs.
    this.seqs = loadSeqs(db);
  }

  // ---- the batcher's hooks (write-batcher.ts), called by the backend ----

  /** A transaction's writes are all run or planned: what it changed, applied if it commits (`batchCommitted`). */
  sealBatch(): SealedBatch {
    const sealed = { revision: this.workingRevision, idChanges: this.idChanges };
    this.idChanges = [];
    return sealed;
  }

  /**
   * A transaction committed (in order): its id changes and revisions now count as stored, and its planned rows are
   * forgotten, except those the transaction planned after it (still in flight) wrote again.
   */
  batchCommitted(batch: SealedBatch): void {
    for (const [id, seq] of batch.idChanges) {
      if (seq !== null) this.seqs.set(id, seq);
      else this.seqs.delete(id);
      const planned = this.planned.get(id);
      if (planned === undefined || planned.revision <= batch.revision) {
        this.planned.delete(id);
        this.uncommittedSeqs.delete(id);
      }
    }
    this.committedRevision = batch.revision;
  }

  /** A transaction was rolled back as a whole, and any planned after it with it: nothing they planned happened. */
  batchRolledBack(): void {
    this.idChanges = [];
    this.uncommittedSeqs.clear();
    this.workingRevision = this.committedRevision;
    this.planned.clear();
  }

  // ---- services ----

  writeService(write: ServiceWrite): Promise<RegistryEvent> {
    return this.writePlanned((sink) => this.applyWrite(write, sink));
  }

  writeServices(writes: ServiceWrite[]): Promise<RegistryEvent[]> {
    // One batch entry, hence one savepoint (or one plan): the writes land together or not at all.
    return this.writePlanned((sink) => writes.map((write) => this.applyWrite(write, sink)));
  }

  /** A read (`seqs` answers a new id without SQLite) and a write conditional on its revision. */
  changeService(id: string, decide: ServiceDecision): Promise<ServiceChange> {
    return changeByRead(this, id, decide);
  }

  deleteService(id: string, expectedRevision?: number): Promise<RegistryEvent | null> {
    return this.write((sink) => {
      const event = this.applyDelete(id, expectedRevision, sink);
      // Last, after everything that can throw: a delete must never reach seqs unless it happened.
      if (event) this.noteIdChange(id, null);
      return event;
    });
  }

  deleteServices(deletes: readonly ServiceDelete[]): Promise<Array<RegistryEvent | null>> {
    // One batch entry, hence one savepoint: the deletes land together or not at all (write() resets the revision).
    return this.write((sink) => {
      const events = deletes.map(({ id, expectedRevision }) => this.applyDelete(id, expectedRevision, sink));
      // Only once every delete ran: a conflict half-way must leave no id noted as deleted (seqs would lose a row).
      for (const event of events) if (event) this.noteIdChange(event.service.id, null);
      return events;
    });
  }

  async getService(id: string): Promise<ServiceRecord | null> {
    this.hooks.assertOpen();
    return this.readCommitted(id);
  }

  /** Point reads on this connection are synchronous and cheap: one per id, new ids answered by seqs. */
  async getServices(ids: readonly string[]): Promise<Array<ServiceRecord | null>> {
    this.hooks.assertOpen();
    return ids.map((id) => this.readCommitted(id));
  }

  /**
   * The seq of `id`'s row as a write on this connection sees it (planning here; the lease store saves heartbeats by
   * it): written by a transaction not yet committed, else committed; undefined when there is none. Use it together
   * with the id.
   */
  rowSeq(id: string): number | undefined {
    if (this.uncommittedSeqs.has(id)) return this.uncommittedSeqs.get(id) ?? undefined;
    return this.seqs.get(id);
  }

  async listServices(query: ServiceQuery): Promise<ServicePage> {
    this.hooks.assertOpen();
    const limit = Math.max(1, Math.min(1000, Math.trunc(query.limit)));
    const after = query.cursor !== undefined ? decodeListCursor(query.cursor, query) : null;
    // One row more than asked tells whether another page exists, so the last page has nextCursor null.
    const built = buildListQuery(query.filter, query.viewer, after, limit + 1, query);
    const rows = this.cachedStatement(built.sql).all(...built.params) as Array<ServiceRow & { sort_value?: string | number }>;
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    // The cursor carries the database's own sort value of the last row, so the next page compares like with like.
    return { services: page.map(fromRow), nextCursor: more && last ? encodeListCursor(query, last.sort_value ?? null, last.seq) : null };
  }

  async countServices(viewer: Viewer): Promise<Record<ServiceRecord["status"], number>> {
    this.hooks.assertOpen();
    const counts = Object.fromEntries(SERVICE_STATUSES.map((status) => [status, 0])) as Record<ServiceRecord["status"], number>;
    const rows = viewer.admin ? this.stmt.countAll.all() : this.stmt.countVisible.all(viewer.owner);
    for (const row of rows) if (row.status in counts) counts[row.status as ServiceRecord["status"]] = row.n;
    return counts;
  }

  // ---- events ----

  async currentRevision(): Promise<number> {
    this.hooks.assertOpen();
    return this.committedRevision;
  }

  /**
   * The rule: compaction records the highest revision it dropped (`compactedThrough`, 0 if never).
   * `afterRevision < compactedThrough` means at least one event the caller needs is gone → "compacted".
   * Otherwise every event after `afterRevision` is still in the log (revisions have no gaps), so the
   * answer is complete: `eventsSince(0)` on a never-compacted log returns everything.
   */
  async eventsSince(afterRevision: number, limit: number): Promise<RegistryEvent[] | "compacted"> {
    this.hooks.assertOpen();
    const compactedThrough = this.stmt.getState.get(COMPACTED_THROUGH)?.value ?? 0;
    if (afterRevision < compactedThrough) return "compacted";
    const rows = this.stmt.eventsAfter.all(Math.max(0, afterRevision), Math.max(0, Math.trunc(limit)));
    return rows.map((row) => ({ event: row.event, revision: row.revision, service: parseRecordDoc(row.doc) }));
  }

  compactEvents(keep: number): Promise<void> {
    return this.write(() => {
      const through = this.workingRevision - Math.max(0, Math.trunc(keep));
      const previous = this.stmt.getState.get(COMPACTED_THROUGH)?.value ?? 0;
      if (through <= previous) return;
      this.stmt.deleteEventsThrough.run(through);
      this.stmt.setState.run(COMPACTED_THROUGH, through);
    });
  }

  // ---- writing ----

  /** A write that runs its statements on this connection, inside the batch transaction. */
  private write<T>(run: (sink: WriteSink) => T): Promise<T> {
    return this.hooks.enqueue((sink) => {
      // The batcher rolls this entry back to its savepoint on a throw; the revision counter must follow,
      // or a writeServices call that fails half-way would leave a gap in the revisions.
      const start = this.workingRevision;
      try {
        return run(sink);
      } catch (error) {
        this.workingRevision = start;
        throw error;
      }
      // Re-runnable: its only state outside SQLite is workingRevision, which the rolledBack hook resets.
    }, RERUNNABLE);
  }

  /**
   * A service write: its statements go to the sink, which runs them here or in the writer thread's next
   * transaction. Planning may throw (a revision conflict); it then leaves no trace in the batch's state.
   */
  private writePlanned<T>(plan: (sink: WriteSink) => T): Promise<T> {
    return this.hooks.enqueue((sink) => {
      const start = this.workingRevision;
      const undo: Array<[string, PlannedRow | undefined]> = (this.plannedUndo = []);
      try {
        return plan(sink);
      } catch (error) {
        this.workingRevision = start;
        for (const [id, before] of undo.reverse()) {
          if (before) this.planned.set(id, before);
          else this.planned.delete(id);
        }
        throw error;
      }
    }, PLANNED);
  }

  /**
   * Notes that the open transaction writes `id` into the row `seq`, or deletes it (null). An entry left by a write
   * that then threw is harmless: it names a seq whose row holds no such id (reads check both), and a delete is noted
   * after its last throw.
   */
  private noteIdChange(id: string, seq: number | null): void {
    this.idChanges.push([id, seq]);
    this.uncommittedSeqs.set(id, seq);
  }

  /** The committed record of `id`, read by its seq (reads on this connection see committed rows only). */
  private readCommitted(id: string): ServiceRecord | null {
    const row = this.serviceRow(this.seqs.get(id), id);
    return row ? fromRow(row) : null;
  }

  /** The row at `seq` if it holds `id` (a stale seq finds nothing, never another record). */
  private serviceRow(seq: number | undefined, id: string): ServiceRow | undefined {
    return seq === undefined ? undefined : this.stmt.getService.get(seq, id);
  }

  /** The stored place, revision and document of a service, as of the batch being planned. */
  private currentRow(id: string): PlannedRow | undefined {
    const planned = this.planned.get(id);
    if (planned) return planned;
    const seq = this.rowSeq(id);
    return seq === undefined ? undefined : this.stmt.getRevision.get(seq, id);
  }

  /**
   * Deletes one record on this connection (inside the batch transaction), with its index rows, and appends its
   * `deregistered` event under the next revision; null when absent. The caller notes the id change once nothing
   * more can throw. A row deleted earlier in the same transaction is found absent (this connection sees it gone).
   */
  private applyDelete(id: string, expectedRevision: number | undefined, sink: WriteSink): RegistryEvent | null {
    const row = this.serviceRow(this.rowSeq(id), id);
    if (!row) return null;
    if (expectedRevision !== undefined && expectedRevision !== row.revision) throw new RevisionConflict(id, row.revision);
    const last = fromRow(row);
    const revision = this.workingRevision + 1;
    this.stmt.insertEvent.run(revision, "deregistered", id, JSON.stringify(last));
    this.replaceTerms(row.seq, last, null, sink);
    this.stmt.deleteService.run(row.seq);
    this.workingRevision = revision;
    // The event carries the record as it last was (its revision is that of its last change).
    return { event: "deregistered", revision, service: last };
  }

  /** Plans one service write: the event, the row and its index rows, under the next revision. */
  private applyWrite(write: ServiceWrite, sink: WriteSink): RegistryEvent {
    const { record } = write;
    const existing = this.currentRow(record.id);
    const current = existing?.revision ?? 0;
    if (write.expectedRevision !== undefined && write.expectedRevision !== current) {
      throw new RevisionConflict(record.id, current);
    }
    const revision = this.workingRevision + 1;
    // A new record is placed at the end of the listing order; an existing one keeps its place.
    const seq = existing?.seq ?? revision;
    const doc = encodeRecordDoc(record);
    if (existing) sink(["updateService", 0, serviceUpdateColumns(record, seq, revision, doc)]);
    else sink(["insertService", 0, serviceColumns(record, seq, revision, doc)]);
    if (eventDocIsRowDoc(record, doc)) sink(["insertEventOfService", 0, [write.event, seq]]);
    else sink(["insertEvent", 0, [revision, write.event, record.id, eventDocOf(record, doc, revision)]]);
    this.replaceTerms(seq, existing ? parseRecordDoc(existing.doc) : null, record, sink);
    // Only now, with every statement planned, does the revision count as used.
    this.workingRevision = revision;
    this.noteIdChange(record.id, seq);
    if (this.plansForThread) {
      // The thread has not written it yet: the next write of this id in the batch must see it here.
      this.plannedUndo.push([record.id, this.planned.get(record.id)]);
      this.planned.set(record.id, { seq, revision, doc });
    }
    if (write.handOver) {
      // Named store on the caller's draft: the same key order as the copy below (revision last).
      const service = record as ServiceRecord;
      service.revision = revision;
      return { event: write.event, revision, service };
    }
    return { event: write.event, revision, service: { ...record, revision } };
  }

  /**
   * Brings a service's tag and capability index rows from `before` to `after` (null = none), touching only
   * the rows that differ: a new registration only inserts, a re-registration with the same tags writes nothing.
   */
  private replaceTerms(seq: number, before: Pick<ServiceDraft, "tags" | "capabilities"> | null, after: Pick<ServiceDraft, "tags" | "capabilities"> | null, sink: WriteSink): void {
    const sync = (old: readonly string[], next: readonly string[], remove: "deleteTag" | "deleteCapability", insert: "insertTags" | "insertCapabilities") => {
      let added: readonly string[] = next;
      if (old.length > 0) {
        const keep = new Set(next);
        for (const term of old) if (!keep.has(term)) sink([remove, 0, [term, seq]]);
        const had = new Set(old);
        added = next.filter((term) => !had.has(term));
      }
      // One multi-row INSERT per few terms instead of one statement per term.
      for (let from = 0; from < added.length; from += MAX_TERMS_PER_INSERT) {
        const chunk = added.slice(from, from + MAX_TERMS_PER_INSERT);
        const params: Array<string | number> = [];
        for (const term of chunk) params.push(term, seq);
        sink([insert, chunk.length - 1, params]);
      }
    };
    sync(before?.tags ?? [], after?.tags ?? [], "deleteTag", "insertTags");
    sync(before?.capabilities ?? [], after?.capabilities ?? [], "deleteCapability", "insertCapabilities");
  }

  private cachedStatement(sql: string): Statement {
    let statement = this.listCache.get(sql);
    if (statement) {
      // Re-insert to mark as recently used (Map keeps insertion order).
      this.listCache.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      if (this.listCache.size >= MAX_CACHED_QUERIES) {
        const oldest = this.listCache.keys().next();
        if (!oldest.done) this.listCache.delete(oldest.value);
      }
    }
    this.listCache.set(sql, statement);
    return statement;
  }
}

/**
 * `seqs` as stored: one pass over the table. Nothing but this store writes the table and it never writes an id twice,
 * so an id found twice means the file was changed by hand; the newest row (highest seq) is the one read and written.
 */
function loadSeqs(db: Database): Map<string, number> {
  const seqs = new Map<string, number>();
  for (const [seq, id] of db.prepare<[], [number, string]>("SELECT seq, id FROM services ORDER BY seq").raw().all()) seqs.set(id, seq);
  return seqs;
}
