/**
 * @module storage/postgres/pg-service-plan
 * Plans one group-commit batch of service writes (pg-service-batcher.ts) in memory, against the rows the batch
 * read under the revision-counter lock: checks each write's expected revision, assigns revisions in order, and
 * keeps what each id looks like after the writes before it. A write that conflicts is refused here and leaves no
 * trace, so one conflict never fails the others and no savepoint is needed. The outcome is one set-based statement
 * for the whole batch (events, services, tag and capability rows, each an `unnest` of arrays, and the counter), so a
 * batch of 100 writes costs as many round trips as a batch of one.
 */
import type { RegistryEvent, ServiceRecord } from "@kai/protocol";
import { RevisionConflict, type ServiceChange, type ServiceDecision, type ServiceDelete, type ServiceDraft, type ServiceWrite } from "../contracts/node-store.js";
import { docWithRevision, encodeRecordDoc, eventDocIsRowDoc, eventDocOf, parseRecordDoc, serviceColumns } from "../sqlite/record-codec.js";
import { recordOf, type StoredService } from "./pg-service-rows.js";
import { booleanArrayParameter, numberArrayParameter, textArrayParameter } from "./pg-array-parameters.js";

/** One caller's work in a batch. */
export type ServiceBatchEntry =
  | { kind: "write"; write: ServiceWrite }
  /** writeServices: all or nothing. */
  | { kind: "writes"; writes: ServiceWrite[] }
  | { kind: "delete"; id: string; expectedRevision: number | undefined }
  /** deleteServices: all or nothing. */
  | { kind: "deletes"; deletes: readonly ServiceDelete[] }
  /** changeService: decided here, against the row read under the counter lock (no read of its own before). */
  | { kind: "change"; id: string; decide: ServiceDecision };

export type EntryOutcome = { ok: true; value: RegistryEvent | RegistryEvent[] | Array<RegistryEvent | null> | ServiceChange | null } | { ok: false; error: unknown };

/** An id's state after the writes planned so far: null once deleted. */
interface PlannedService extends StoredService {
  /** The draft written, when this batch wrote the row. */
  draft?: ServiceDraft;
}

interface PlannedEvent {
  revision: number;
  event: RegistryEvent["event"];
  serviceId: string;
  /** The event's document; null when PostgreSQL derives it from the row's (see `rowDoc`). */
  doc: string | null;
  previous: string | null;
  /**
   * The row document this event's is that document with `revision` appended (`eventDocOf`), when so: if the row the
   * batch writes for the id still holds it (this was the id's last write in the batch), the statement builds the
   * event's document from the row's instead of receiving a second copy of it.
   */
  rowDoc?: string;
}

/**
 * A batch's term rows (tags or capabilities) as parallel arrays of terms and seqs: rows removed, rows of a new seq
 * (inserted plainly), and rows added to an existing seq (inserted unless there).
 */
interface TermRows {
  remove: [string[], number[]];
  insert: [string[], number[]];
  add: [string[], number[]];
}

/** Each distinct term of `terms` as a row of `seq` (a term listed twice is one row). */
function pushUnique(rows: [string[], number[]], terms: readonly string[], seq: number): void {
  terms.forEach((term, index) => {
    if (terms.indexOf(term) !== index) return;
    rows[0].push(term);
    rows[1].push(seq);
  });
}

export interface PlannedStatement {
  /** Prepared once per connection under this name. */
  name?: string;
  text: string;
  values: unknown[];
}

export function idsOf(entry: ServiceBatchEntry): string[] {
  switch (entry.kind) {
    case "write":
      return [entry.write.record.id];
    case "writes":
      return entry.writes.map((write) => write.record.id);
    case "deletes":
      return entry.deletes.map((remove) => remove.id);
    case "delete":
    case "change":
      return [entry.id];
  }
}

/**
 * Everything a batch writes, in ONE statement (data-modifying WITH queries all run, on one snapshot): its events, the
 * services rows, the tag and capability rows removed and added, and the revision counter, notifying `kai_changes`
 * with the batch's last revision (delivered at commit). One round trip and one plan, prepared once per connection,
 * whatever the batch holds. The removed and added term rows never share a key, and a record that moved (deleted and
 * registered again in the batch) had its old row deleted by an earlier statement, so no row is touched twice.
 */
/**
 * The batch's write (and its counter bump and NOTIFY) as one statement. `ifCurrent`: the variant for a batch planned
 * before any lock or read, against an empty database state (`PgServiceBatcher`'s one-round-trip path): it locks the
 * counter itself and writes only if the counter is still $34 (no registry write committed since this instance's last
 * batch); otherwise it writes nothing and says so (`bumped` null, `locked` the counter as it is). Every write below
 * carries that condition; the lock CTE is evaluated through it, before any row is written. A counter moved by another
 * instance is seen even if it committed after this statement's snapshot: a row lock waits for that commit and then
 * returns the newest version of the row. An id of the batch that exists already fails the statement (the plain
 * insert's unique violation on `services.id`), which the batcher takes as "not current" too. (Not a NOT EXISTS on
 * the ids: its generic plan, made while the table was small, could keep scanning the whole table as it grew.)
 */
function commitBatchText(ifCurrent: boolean): string {
  const and = ifCurrent ? " AND EXISTS (SELECT 1 FROM current)" : "";
  const where = ifCurrent ? " WHERE EXISTS (SELECT 1 FROM current)" : "";
  const guard = ifCurrent
    ? `locked AS (
    SELECT value FROM store_state WHERE key = 'revision' FOR UPDATE
  ), current AS (
    SELECT 1 FROM locked WHERE value = $34::bigint
  ), `
    : "";
  const result = ifCurrent
    ? `SELECT l.value AS locked, b.value AS bumped, CASE WHEN b.value IS NOT NULL THEN pg_notify($28, b.value::text) END AS notified
  FROM locked l LEFT JOIN bumped b ON true`
    : "SELECT pg_notify($28, value::text) FROM bumped";
  return `
  WITH ${guard}new_events AS (
    -- A NULL document is the written row's with the revision appended (what eventDocOf makes, byte for byte).
    INSERT INTO events (revision, event, service_id, doc, previous)
    SELECT e.revision, e.event, e.service_id, COALESCE(e.doc, left(s.doc, -1) || ',"revision":' || e.revision || '}'), e.previous
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS e(revision, event, service_id, doc, previous)
    LEFT JOIN unnest($7::text[], $18::text[]) AS s(id, doc) ON e.doc IS NULL AND s.id = e.service_id${where}
  ), inserted AS (
    -- Rows of new (or moved) records: a plain insert. The plan read every touched row under the counter lock, so
    -- none of these ids exists; ON CONFLICT would make each a speculative insertion (an arbiter lookup, a token and
    -- a confirmation record: ~20 % of the statement's time for a batch of new records, measured).
    INSERT INTO services (seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc)
    SELECT seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc
    FROM unnest($6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::integer[],
                $14::bigint[], $15::bigint[], $16::bigint[], $17::text[], $18::text[], $29::boolean[])
      AS r(seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc, fresh)
    WHERE r.fresh${and}
  ), updated AS (
    UPDATE services SET owner = r.owner, visibility = r.visibility, type = r.type, provider = r.provider, status = r.status,
      ttl = r.ttl,
      -- A heartbeat saved by another instance since this batch read the row is newer than the draft's: keep it.
      heartbeat_at = GREATEST(services.heartbeat_at, r.heartbeat_at),
      updated_at = r.updated_at, revision = r.revision, search = r.search, doc = r.doc
    FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::integer[],
                $14::bigint[], $15::bigint[], $16::bigint[], $17::text[], $18::text[], $29::boolean[])
      AS r(id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc, fresh)
    WHERE NOT r.fresh AND services.id = r.id${and}
  ), tags_removed AS (
    DELETE FROM service_tags t USING unnest($19::text[], $20::bigint[]) AS d(term, seq) WHERE t.tag = d.term AND t.seq = d.seq${and}
  ), tags_inserted AS (
    -- Terms of a new seq (a new or moved record): no row can hold that seq yet, so a plain insert.
    INSERT INTO service_tags (tag, seq) SELECT * FROM unnest($21::text[], $22::bigint[])${where}
  ), tags_added AS (
    INSERT INTO service_tags (tag, seq) SELECT * FROM unnest($30::text[], $31::bigint[])${where} ON CONFLICT DO NOTHING
  ), capabilities_removed AS (
    DELETE FROM service_capabilities c USING unnest($23::text[], $24::bigint[]) AS d(term, seq) WHERE c.capability = d.term AND c.seq = d.seq${and}
  ), capabilities_inserted AS (
    INSERT INTO service_capabilities (capability, seq) SELECT * FROM unnest($25::text[], $26::bigint[])${where}
  ), capabilities_added AS (
    INSERT INTO service_capabilities (capability, seq) SELECT * FROM unnest($32::text[], $33::bigint[])${where} ON CONFLICT DO NOTHING
  ), bumped AS (
    UPDATE store_state SET value = $27 WHERE key = 'revision'${and} RETURNING value
  )
  ${result}`;
}

const COMMIT_BATCH = commitBatchText(false);
const COMMIT_BATCH_IF_CURRENT = commitBatchText(true);

/** Columns of a `services` row (serviceColumns in record-codec.ts). */
const SERVICE_COLUMN_COUNT = 13;
/** Which of them are `text` ($7–$12, $17, $18 of COMMIT_BATCH): sent as array literals written by textArrayParameter. */
const SERVICE_TEXT_COLUMNS = new Set([1, 2, 3, 4, 5, 6, 11, 12]);

export class ServiceBatchPlan {
  /** The last revision used so far. */
  revision: number;
  private readonly planned = new Map<string, PlannedService | null>();
  private readonly events: PlannedEvent[] = [];

  constructor(
    private readonly stored: ReadonlyMap<string, StoredService>,
    readonly baseRevision: number,
  ) {
    this.revision = baseRevision;
  }

  get empty(): boolean {
    return this.events.length === 0;
  }

  /** Changes planned (one event each). */
  get changes(): number {
    return this.events.length;
  }

  /** Plans one entry; a refused entry (a conflict) changes nothing. */
  apply(entry: ServiceBatchEntry): EntryOutcome {
    const revision = this.revision;
    const eventCount = this.events.length;
    const undo = new Map<string, PlannedService | null | undefined>();
    const remember = (id: string) => {
      if (!undo.has(id)) undo.set(id, this.planned.has(id) ? this.planned.get(id)! : undefined);
    };
    try {
      switch (entry.kind) {
        case "write":
          remember(entry.write.record.id);
          return { ok: true, value: this.write(entry.write) };
        case "writes":
          return {
            ok: true,
            value: entry.writes.map((write) => {
              remember(write.record.id);
              return this.write(write);
            }),
          };
        case "delete":
          remember(entry.id);
          return { ok: true, value: this.delete(entry.id, entry.expectedRevision) };
        case "deletes":
          return {
            ok: true,
            value: entry.deletes.map(({ id, expectedRevision }) => {
              remember(id);
              return this.delete(id, expectedRevision);
            }),
          };
        case "change":
          remember(entry.id);
          return { ok: true, value: this.change(entry.id, entry.decide) };
      }
    } catch (error) {
      this.revision = revision;
      this.events.length = eventCount;
      for (const [id, before] of undo) {
        if (before === undefined) this.planned.delete(id);
        else this.planned.set(id, before);
      }
      return { ok: false, error };
    }
  }

  private current(id: string): PlannedService | null {
    const planned = this.planned.get(id);
    if (planned !== undefined) return planned;
    return this.stored.get(id) ?? null;
  }

  /**
   * `handOver`: the record may become the event's record (its revision set in place) instead of a copy. Only for a
   * draft made for this plan (`change`'s decision builds one per call): a `write` entry's record is planned again as
   * it was when a failed batch runs its entries one by one, so it must not change.
   */
  private write(write: ServiceWrite, handOver = false): RegistryEvent {
    const { record } = write;
    const existing = this.current(record.id);
    const actual = existing?.revision ?? 0;
    if (write.expectedRevision !== undefined && write.expectedRevision !== actual) throw new RevisionConflict(record.id, actual);
    const revision = this.revision + 1;
    // A new record goes to the end of the listing order; an existing one keeps its place.
    const seq = existing?.seq ?? revision;
    const doc = encodeRecordDoc(record);
    // What the row's heartbeat column will hold: the upsert keeps the newer of the stored and the written time.
    const parsed = record.heartbeat === null ? NaN : Date.parse(record.heartbeat);
    const beat = Number.isNaN(parsed) ? null : parsed;
    const kept = existing?.heartbeatAt ?? null;
    const heartbeatAt = kept === null ? beat : beat === null ? kept : Math.max(kept, beat);
    const derivable = eventDocIsRowDoc(record, doc);
    this.events.push({
      revision,
      event: write.event,
      serviceId: record.id,
      doc: derivable ? null : eventDocOf(record, doc, revision),
      previous: existing ? JSON.stringify(recordOf(record.id, existing)) : null,
      ...(derivable ? { rowDoc: doc } : {}),
    });
    this.planned.set(record.id, { seq, revision, heartbeatAt, doc, draft: record });
    this.revision = revision;
    if (handOver) {
      // Named store on the decision's own draft, after its documents were encoded: the same key order as the copy.
      const service = record as ServiceRecord;
      service.revision = revision;
      return { event: write.event, revision, service };
    }
    return { event: write.event, revision, service: { ...record, revision } };
  }

  /** The record as it is at this point of the batch, handed to `decide`; its write (if any) is planned at once. */
  private change(id: string, decide: ServiceDecision): ServiceChange {
    const existing = this.current(id);
    const previous = existing ? recordOf(id, existing) : null;
    const write = decide(previous);
    if (write === null) return { previous, event: null };
    if (write.record.id !== id) throw new Error(`changeService(${id}) decided a write of ${write.record.id}`);
    return { previous, event: this.write({ ...write, expectedRevision: existing?.revision ?? 0 }, write.handOver === true) };
  }

  private delete(id: string, expectedRevision: number | undefined): RegistryEvent | null {
    const existing = this.current(id);
    if (!existing) return null;
    if (expectedRevision !== undefined && expectedRevision !== existing.revision) throw new RevisionConflict(id, existing.revision);
    const last: ServiceRecord = recordOf(id, existing);
    const revision = this.revision + 1;
    const text = JSON.stringify(last);
    this.events.push({ revision, event: "deregistered", serviceId: id, doc: text, previous: text });
    this.planned.set(id, null);
    this.revision = revision;
    // The event carries the record as it last was (its revision is that of its last change).
    return { event: "deregistered", revision, service: last };
  }

  /**
   * The statements that make the database what the plan says (none when nothing was written): the delete of rows
   * that moved or went, if any, then COMMIT_BATCH, which also sets the counter and notifies `channel`. For a plan
   * made under the counter lock, against the rows read there.
   */
  statements(channel: string): PlannedStatement[] {
    return this.statementsOf(channel, undefined);
  }

  /**
   * The one statement of a plan made against an empty state (no stored rows) before the counter was locked: it writes
   * only if the counter is still `expectedRevision` (COMMIT_BATCH_IF_CURRENT). Its one row says which: `bumped` set
   * when it wrote, null (and nothing written) when not; an id that exists fails it with a unique violation.
   */
  statementIfCurrent(channel: string, expectedRevision: number): PlannedStatement {
    if (this.stored.size > 0) throw new Error("statementIfCurrent is for a plan against an empty state");
    const [statement, ...more] = this.statementsOf(channel, expectedRevision);
    if (!statement || more.length > 0) throw new Error("a plan against an empty state makes exactly one statement");
    return statement;
  }

  private statementsOf(channel: string, ifCurrent: number | undefined): PlannedStatement[] {
    if (this.events.length === 0) return [];
    const out: PlannedStatement[] = [];
    const events = this.events;
    const removed: string[] = [];
    const upserts: Array<Array<string | number | null>> = [];
    /** Per upsert: a new seq (a new or moved record: inserted) or not (an existing row: updated). */
    const fresh: boolean[] = [];
    const terms = (): TermRows => ({ remove: [[], []], insert: [[], []], add: [[], []] });
    const tags = terms();
    const capabilities = terms();
    // Ids in one fixed order: two transactions that lock the same rows lock them in the same order (no deadlock).
    for (const id of [...this.planned.keys()].sort()) {
      const before = this.stored.get(id) ?? null;
      const after = this.planned.get(id) ?? null;
      const moved = before !== null && (after === null || after.seq !== before.seq);
      if (moved) removed.push(id);
      const newSeq = before === null || moved;
      if (after?.draft) {
        upserts.push(serviceColumns(after.draft, after.seq, after.revision, after.doc));
        fresh.push(newSeq);
      }
      const old = before ? parseRecordDoc(before.doc) : null;
      const sync = (target: TermRows, oldTerms: readonly string[], newTerms: readonly string[]) => {
        if (newSeq) {
          // A new seq (the common case: a new record): every term of the row is inserted and, if the record moved or
          // went, every row of its old seq goes; no sets built (four per record were ~1 KB of garbage per registration).
          if (before) pushUnique(target.remove, oldTerms, before.seq);
          if (after) pushUnique(target.insert, newTerms, after.seq);
          return;
        }
        // The same row (same seq): only the terms that changed.
        const keep = new Set(newTerms);
        for (const term of new Set(oldTerms)) {
          if (keep.has(term)) continue;
          target.remove[0].push(term);
          target.remove[1].push(before!.seq);
        }
        if (!after) return;
        const had = new Set(oldTerms);
        for (const term of new Set(newTerms)) {
          if (had.has(term)) continue;
          target.add[0].push(term);
          target.add[1].push(after.seq);
        }
      };
      sync(tags, old?.tags ?? [], after?.draft?.tags ?? []);
      sync(capabilities, old?.capabilities ?? [], after?.draft?.capabilities ?? []);
    }
    if (removed.length > 0) out.push({ text: "DELETE FROM services WHERE id = ANY($1::text[])", values: [removed] });
    const serviceArrays = Array.from({ length: SERVICE_COLUMN_COUNT }, (_, column) => {
      const values = upserts.map((row) => row[column]);
      return SERVICE_TEXT_COLUMNS.has(column) ? textArrayParameter(values as Array<string | null>) : numberArrayParameter(values as Array<number | null>);
    });
    out.push({
      name: ifCurrent === undefined ? "kai_commit_batch" : "kai_commit_batch_if_current",
      text: ifCurrent === undefined ? COMMIT_BATCH : COMMIT_BATCH_IF_CURRENT,
      values: [
        numberArrayParameter(events.map((e) => e.revision)),
        textArrayParameter(events.map((e) => e.event)),
        textArrayParameter(events.map((e) => e.serviceId)),
        // Derived in the statement when the batch's row for the id holds the document it extends; else sent.
        textArrayParameter(events.map((e) => (e.rowDoc === undefined ? e.doc : this.planned.get(e.serviceId)?.doc === e.rowDoc ? null : docWithRevision(e.rowDoc, e.revision)))),
        textArrayParameter(events.map((e) => e.previous)),
        ...serviceArrays,
        textArrayParameter(tags.remove[0]),
        numberArrayParameter(tags.remove[1]),
        textArrayParameter(tags.insert[0]),
        numberArrayParameter(tags.insert[1]),
        textArrayParameter(capabilities.remove[0]),
        numberArrayParameter(capabilities.remove[1]),
        textArrayParameter(capabilities.insert[0]),
        numberArrayParameter(capabilities.insert[1]),
        this.revision,
        channel,
        booleanArrayParameter(fresh),
        textArrayParameter(tags.add[0]),
        numberArrayParameter(tags.add[1]),
        textArrayParameter(capabilities.add[0]),
        numberArrayParameter(capabilities.add[1]),
        ...(ifCurrent === undefined ? [] : [ifCurrent]),
      ],
    });
    return out;
  }
}
