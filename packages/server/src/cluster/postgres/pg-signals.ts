/**
 * @module cluster/postgres/pg-signals
 * The signal bus on PostgreSQL: a log table (`cluster_signals`) with ids that commit in order, a NOTIFY that
 * only means "read the log", and a reader that follows the log by id.
 *
 * Publishing takes a transaction advisory lock, then inserts max(id)+1: the next publisher waits for the lock,
 * which is freed at commit, so no id ever becomes visible after a higher one and a reader that has seen id n
 * can never miss a later-committed id below n. The reader reads `id > lastSeen` on a notification, on a poll
 * every `pollIntervalMs` (a lost NOTIFY costs one interval) and after every reconnect; reads are serialised,
 * and `lastSeen` moves past each row as it is handed out, so each signal reaches each subscriber once, in order.
 *
 * The log is pruned after `retentionMs` (by the leader), always keeping its newest row so ids never restart.
 * A reader that finds a hole after its `lastSeen` was cut off longer than that: it tells `onMissed` listeners.
 */
import type pg from "pg";
import {
  encodeSignalPayload,
  Listeners,
  SignalSubscribers,
  stateEntry,
  type ClusterLogger,
  type ClusterSignals,
  type SignalHandler,
  type SignalTopic,
} from "../cluster-types.js";
import { LOCK_NAMESPACE, SIGNAL_CHANNEL, SIGNAL_ID_LOCK } from "./pg-cluster-keys.js";
import { asStorageError, errorText } from "./pg-errors.js";

export interface PgSignalsOptions {
  pool: pg.Pool;
  instanceId: string;
  logger: ClusterLogger;
  /** Signals older than this are pruned, ms. */
  retentionMs: number;
  /** Rows read per query. */
  batchSize?: number;
}

interface SignalRow {
  id: string;
  topic: SignalTopic;
  payload: unknown;
  origin: string;
}

export class PgSignals implements ClusterSignals {
  private readonly subscribers: SignalSubscribers;
  private readonly missed: Listeners<void>;
  private readonly batchSize: number;
  private lastSeen = 0;
  private reading: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private failing = false;

  constructor(private readonly options: PgSignalsOptions) {
    this.subscribers = new SignalSubscribers(options.logger);
    this.missed = new Listeners<void>(options.logger, "missed-signals");
    this.batchSize = options.batchSize ?? 500;
  }

  /** Signals are for the live instances: an instance starts after the newest one committed so far. */
  async begin(): Promise<void> {
    const { rows } = await this.options.pool.query<{ max: string }>("SELECT coalesce(max(id), 0)::text AS max FROM cluster_signals");
    this.lastSeen = Number(rows[0]!.max);
  }

  async publish(topic: SignalTopic, payload: Record<string, unknown>): Promise<void> {
    const json = encodeSignalPayload(topic, payload);
    const entry = stateEntry(topic, payload);
    let client: pg.PoolClient;
    try {
      client = await this.options.pool.connect();
    } catch (error) {
      throw asStorageError(error, "publishing a cluster signal");
    }
    let broken = false;
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_NAMESPACE, SIGNAL_ID_LOCK]);
      // A statement of its own after the lock: its snapshot sees the previous publisher's committed row.
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO cluster_signals (id, topic, payload, origin)
         SELECT coalesce(max(id), 0) + 1, $1, $2::jsonb, $3 FROM cluster_signals
         RETURNING id::text AS id`,
        [topic, json, this.options.instanceId],
      );
      if (entry?.clear) {
        await client.query("DELETE FROM cluster_state WHERE topic = $1 AND key = $2", [topic, entry.key]);
      } else if (entry) {
        await client.query(
          `INSERT INTO cluster_state (topic, key, value, updated_at) VALUES ($1, $2, $3::jsonb, now())
           ON CONFLICT (topic, key) DO UPDATE SET value = excluded.value, updated_at = now()`,
          [topic, entry.key, json],
        );
      }
      await client.query("SELECT pg_notify($1, $2)", [SIGNAL_CHANNEL, rows[0]!.id]);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw asStorageError(error, "publishing a cluster signal");
    } finally {
      client.release(broken);
    }
    // The publisher is a subscriber too: read now rather than wait for its own notification.
    this.wake();
  }

  subscribe(topic: SignalTopic, handler: SignalHandler): () => void {
    return this.subscribers.subscribe(topic, handler);
  }

  onMissed(listener: () => void): () => void {
    return this.missed.add(listener);
  }

  async state(topic: SignalTopic): Promise<Map<string, Record<string, unknown>>> {
    try {
      const { rows } = await this.options.pool.query<{ key: string; value: Record<string, unknown> }>(
        "SELECT key, value FROM cluster_state WHERE topic = $1 ORDER BY key",
        [topic],
      );
      return new Map(rows.map((row) => [row.key, row.value]));
    } catch (error) {
      throw asStorageError(error, "reading cluster state");
    }
  }

  /** Reads the log now (or once more right after the read in progress). Never throws: the poll retries. */
  wake(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readUntilCaughtUp().finally(() => {
      this.reading = null;
      // A wake that came after the loop's last check and before this line would otherwise wait for the poll.
      if (this.again && !this.failing) this.wake();
    });
  }

  /** Stops reading; resolves when the read in progress is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.reading;
  }

  /** Drops signals older than the retention, keeping the newest (ids continue from it). The leader runs this. */
  async prune(): Promise<number> {
    const result = await this.options.pool.query(
      `DELETE FROM cluster_signals
       WHERE at < now() - make_interval(secs => $1) AND id < (SELECT max(id) FROM cluster_signals)`,
      [this.options.retentionMs / 1000],
    );
    return result.rowCount ?? 0;
  }

  private async readUntilCaughtUp(): Promise<void> {
    do {
      this.again = false;
      try {
        while (!this.stopped && (await this.readBatch()) === this.batchSize);
        if (this.failing) this.options.logger.info({ lastSeen: this.lastSeen }, "reading cluster signals again");
        this.failing = false;
      } catch (error) {
        if (!this.failing) this.options.logger.warn({ err: errorText(error) }, "cannot read cluster signals; retrying on the next poll");
        this.failing = true;
        return;
      }
    } while (this.again && !this.stopped);
  }

  private async readBatch(): Promise<number> {
    const { rows } = await this.options.pool.query<SignalRow>(
      // id stays bigint for the ORDER BY (an alias `id::text AS id` would sort as text: "10" before "9"); pg hands int8 out as a string.
      "SELECT id, topic, payload, origin FROM cluster_signals WHERE id > $1 ORDER BY id LIMIT $2",
      [this.lastSeen, this.batchSize],
    );
    for (const row of rows) {
      if (this.stopped) break;
      const id = Number(row.id);
      if (id > this.lastSeen + 1) {
        this.options.logger.warn({ from: this.lastSeen + 1, to: id - 1 }, "cluster signals were pruned before this instance read them");
        this.lastSeen = id - 1;
        this.missed.emit();
      }
      this.lastSeen = id;
      const payload = this.objectPayload(row);
      if (payload) this.subscribers.deliver(row.topic, payload, { origin: row.origin, fromSelf: row.origin === this.options.instanceId });
    }
    return rows.length;
  }

  /** pg hands out each row's jsonb freshly parsed; a payload that is not an object (a hand-made row) is skipped. */
  private objectPayload(row: SignalRow): Record<string, unknown> | null {
    const payload = row.payload;
    if (typeof payload === "object" && payload !== null && !Array.isArray(payload)) return payload as Record<string, unknown>;
    this.options.logger.warn({ id: row.id, topic: row.topic }, "a cluster signal without an object payload was skipped");
    return null;
  }
}
