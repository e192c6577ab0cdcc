/**
 * @module storage/postgres/pg-service-batcher
 * Group commit of service writes on PostgreSQL. Writes issued while a batch is being committed wait and form the
 * next batch (no timer: an idle store commits on the next turn of the event loop), so under load one transaction,
 * one revision-counter bump, one NOTIFY and one WAL flush serve many writes.
 *
 * Each batch transaction first locks the one revision-counter row (`store_state.revision`). Every registry write
 * of every instance does, so registry transactions run one after another across instances: revisions are gap-free,
 * strictly increasing, and commit in revision order (a reader of `revision > x` can never see x + 2 before x + 1).
 * Under that lock the batch reads the rows it touches, which are then current (nothing else writes them but a
 * heartbeat, whose newer time the upsert keeps), and plans every write in memory (pg-service-plan.ts): a conflict
 * is refused without touching the database, so it never fails the other writes. At the end the counter is set to
 * the batch's last revision and `kai_changes` is notified with it; both take effect at commit. BEGIN, the lock and
 * the read go in one round trip (`lockAndRead`), and the write carries COMMIT (`thenCommit`), so a batch costs two.
 * A batch of new records usually costs one (`inOneRoundTrip`): planned before any lock or read, it is sent as one
 * statement that locks the counter itself and writes only if no other write committed since this instance's last.
 *
 * A write is acknowledged only after COMMIT returned, with synchronous_commit on: it survives a crash of the
 * process and of PostgreSQL. If the batch fails for another reason than the database being unavailable, its
 * writes run again one by one, so only the culprit fails (a unique violation from a writer that did not take the
 * counter lock, e.g. a bulk copy, becomes the `RevisionConflict` it is).
 */
import { FlushLoop } from "./pg-flush-loop.js";
import pg from "pg";
import { RevisionConflict } from "../contracts/node-store.js";
import { REGISTRY_CHANGES_CHANNEL } from "../contracts/storage-backend.js";
import { isUniqueViolation, unavailableReason } from "./pg-errors.js";
import type { PgDatabase, ThenCommit } from "./pg-database.js";
import { idsOf, ServiceBatchPlan, type EntryOutcome, type ServiceBatchEntry } from "./pg-service-plan.js";
import { storedOf, type PgServiceRow, type StoredService } from "./pg-service-rows.js";

/** Writes per batch at most (bounds the statements' array sizes and the time the counter lock is held). */
const MAX_BATCH = 500;

const READ_TOUCHED = "SELECT seq, id, heartbeat_at, revision, doc FROM services WHERE id = ANY($1::text[])";

/**
 * The counter lock and the rows `ids` in ONE statement, sent with BEGIN as one simple-protocol query (hence the ids
 * inlined as literals). A statement reads on the snapshot it started with, and the lock may have waited for another
 * instance's batch that committed after it: `seen` (the counter on that snapshot) then differs from `locked` (the
 * row the lock returns is always the newest), and the rows are read again, under the lock. Every registry write
 * bumps the counter under this lock, so equal values mean no write committed in between and the rows are current.
 */
function lockAndRead(ids: readonly string[]): string {
  const list = ids.map(literalOf).join(", ");
  return `SELECT c.value AS locked, (SELECT value FROM store_state WHERE key = 'revision') AS seen, s.seq, s.id, s.heartbeat_at, s.revision, s.doc
    FROM (SELECT value FROM store_state WHERE key = 'revision' FOR UPDATE) c
    LEFT JOIN services s ON s.id = ANY(ARRAY[${list}]::text[])`;
}

/**
 * `id` as an SQL string literal. An id without a quote or a backslash (every id the schema's pattern allows) is only
 * quoted: pg's escapeLiteral builds its answer a character at a time (~1 KB of garbage per registration, issue 13).
 */
function literalOf(id: string): string {
  return id.includes("'") || id.includes("\\") ? pg.escapeLiteral(id) : `'${id}'`;
}

interface LockedRow {
  locked: string;
  seen: string | null;
  id: string | null;
}

interface Pending {
  entry: ServiceBatchEntry;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches sent the ordinary way after a one-round-trip attempt that did not write, before the next attempt: a
 * workload of updates, or another instance writing, costs one wasted round trip in this many batches at most.
 */
const ORDINARY_AFTER_MISS = 8;

/**
 * Fresh planner statistics for the registry's tables after many writes. A filtered listing's plan depends on them
 * (walk one capability's or tag's index in listing order and stop at the page, or bitmap-scan and sort all of its
 * rows): after a bulk load, autovacuum's analyze came up to a minute late, and the query that takes ~4 ms on fresh
 * statistics took 144–157 ms (p99, 100k services) on those of a far smaller table. So this instance runs ANALYZE in
 * the background once its writes since the last one reach ANALYZE_AFTER_WRITES and ANALYZE_GROWTH of what it had
 * written before (every 5,000 at first, then at +20 %: 13 during a 100,000-service load, then rarely).
 */
const ANALYZE_AFTER_WRITES = 5_000;
const ANALYZE_GROWTH = 0.2;
const ANALYZE_REGISTRY = "ANALYZE services, service_tags, service_capabilities";

/** The first row of COMMIT_BATCH_IF_CURRENT: the counter as the statement found it, and its new value if it wrote. */
interface IfCurrentRow {
  locked: string;
  bumped: string | null;
}

export class PgServiceBatcher {
  private queue: Pending[] = [];
  /** The counter after this instance's last batch (undefined until one ran, or after one failed). */
  private knownRevision: number | undefined;
  /** Batches still to send the ordinary way before trying one round trip again. */
  private ordinaryBatches = 0;
  /** Changes this instance wrote before its last ANALYZE, and since. */
  private writtenBeforeAnalyze = 0;
  private writtenSinceAnalyze = 0;
  private analyzing = false;
  private readonly loop = new FlushLoop(
    () => this.queue.length > 0,
    () => this.commitBatch(this.queue.splice(0, MAX_BATCH)),
  );

  constructor(private readonly db: PgDatabase) {}

  enqueue(entry: ServiceBatchEntry): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.db.assertOpen();
      this.queue.push({ entry, resolve, reject });
      this.loop.schedule();
    });
  }

  /** Resolves once everything queued so far (and whatever queues meanwhile) is committed or rejected. */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    let outcomes: EntryOutcome[];
    const entries = batch.map((pending) => pending.entry);
    const ids = [...new Set(entries.flatMap(idsOf))];
    try {
      outcomes =
        (await this.inOneRoundTrip(entries)) ??
        (await this.db.transaction((client, first, thenCommit) => this.run(client, first as unknown as LockedRow[], ids, entries, thenCommit), {
          whenClosed: true,
          begin: lockAndRead(ids),
        }));
    } catch (error) {
      this.knownRevision = undefined;
      if (batch.length > 1 && unavailableReason(error) === null) {
        // Nothing was written: run each write alone, so that only the one at fault is refused.
        for (const pending of batch) await this.commitBatch([pending]);
        return;
      }
      const reason = batch.length === 1 && isUniqueViolation(error) ? await this.conflictOf(batch[0]!.entry) : error;
      for (const pending of batch) pending.reject(reason);
      return;
    }
    batch.forEach((pending, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  }

  /**
   * The batch in one round trip, when it can be: planned before any lock or read, as if none of its ids existed and
   * the counter were still where this instance's last batch left it, and sent with its BEGIN and COMMIT as one
   * statement that writes only if both hold (COMMIT_BATCH_IF_CURRENT: it checks the counter; an existing id fails its
   * insert on the unique index). On one instance registering new services,
   * both always hold: the lock-and-read round trip is saved (~5–8 ms of a ~22 ms batch at 256 registrations in
   * flight, most of it the answer waiting for the event loop). Undefined when it was not tried (the batch holds a
   * delete, touches stored rows or was refused as planned, or the last try missed) or did not write: the caller then
   * runs the batch the ordinary way. Decisions (`changeService`) may thus be called twice, which their contract allows.
   */
  private async inOneRoundTrip(entries: ServiceBatchEntry[]): Promise<EntryOutcome[] | undefined> {
    if (this.knownRevision === undefined) return undefined;
    // A delete is decided by the stored row, which a plan against an empty state cannot see, and its statement would
    // not notice (a delete inserts nothing that could collide): the record would be answered absent and stay. A
    // batch with one goes the ordinary way (before, a delete grouped with a new registration was lost so).
    if (entries.some((entry) => entry.kind === "delete" || entry.kind === "deletes")) return undefined;
    if (this.ordinaryBatches > 0) {
      this.ordinaryBatches--;
      return undefined;
    }
    const plan = new ServiceBatchPlan(new Map(), this.knownRevision);
    const outcomes = entries.map((entry) => plan.apply(entry));
    if (plan.empty || outcomes.some((outcome) => !outcome.ok)) return undefined;
    let row: IfCurrentRow | undefined;
    try {
      [row] = (await this.db.transactionOfOne(plan.statementIfCurrent(REGISTRY_CHANGES_CHANNEL, this.knownRevision), { whenClosed: true })) as unknown as IfCurrentRow[];
    } catch (error) {
      // An id of the batch exists (rolled back, nothing written); anything else is the batch's failure.
      if (!isUniqueViolation(error)) throw error;
    }
    if (row?.bumped === null || row?.bumped === undefined) {
      // Another writer moved the counter, or an id exists: nothing was written.
      this.ordinaryBatches = ORDINARY_AFTER_MISS;
      return undefined;
    }
    this.knownRevision = plan.revision;
    this.noteWritten(plan.changes);
    return outcomes;
  }

  /** Counts committed changes; starts a background ANALYZE when enough have accumulated (see ANALYZE_AFTER_WRITES). */
  private noteWritten(changes: number): void {
    this.writtenSinceAnalyze += changes;
    const due = Math.max(ANALYZE_AFTER_WRITES, ANALYZE_GROWTH * this.writtenBeforeAnalyze);
    if (this.analyzing || this.writtenSinceAnalyze < due) return;
    this.analyzing = true;
    this.writtenBeforeAnalyze += this.writtenSinceAnalyze;
    this.writtenSinceAnalyze = 0;
    // Not awaited by any write; a failure (the store closing, the database away) only means no fresh statistics yet.
    this.db
      .query(ANALYZE_REGISTRY)
      .catch(() => undefined)
      .finally(() => {
        this.analyzing = false;
      });
  }

  private async run(client: pg.PoolClient, first: LockedRow[], ids: string[], entries: ServiceBatchEntry[], thenCommit: ThenCommit): Promise<EntryOutcome[]> {
    const head = first[0];
    if (!head) throw new Error("the revision counter row is missing");
    const base = Number(head.locked);
    let rows = first.filter((row) => row.id !== null) as unknown as PgServiceRow[];
    if (head.seen !== head.locked) {
      rows = (await client.query<PgServiceRow>({ name: "kai_read_touched", text: READ_TOUCHED, values: [ids] })).rows;
    }
    const stored = new Map<string, StoredService>(rows.map((row) => [row.id, storedOf(row)]));
    const plan = new ServiceBatchPlan(stored, base);
    const outcomes = entries.map((entry) => plan.apply(entry));
    const statements = plan.empty ? [] : plan.statements(REGISTRY_CHANGES_CHANNEL);
    const last = statements.pop();
    for (const statement of statements) await client.query(statement);
    // The batch's write carries its COMMIT: one round trip less per batch.
    if (last) await thenCommit(last);
    // (Without a write, the transaction commits after this returns: the counter stays at `base`.)
    this.knownRevision = plan.revision;
    this.noteWritten(plan.changes);
    return outcomes;
  }

  /** The conflict a unique violation stands for: the id exists now, at this revision. */
  private async conflictOf(entry: ServiceBatchEntry): Promise<unknown> {
    const id = idsOf(entry)[0] ?? "";
    try {
      const rows = await this.db.query<{ revision: string }>("SELECT revision FROM services WHERE id = $1", [id]);
      return new RevisionConflict(id, Number(rows[0]?.revision ?? 0));
    } catch (error) {
      return error;
    }
  }
}
