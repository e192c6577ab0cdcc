/**
 * @module cluster/postgres/dedicated-connection
 * The one connection of an instance that is not from the pool: it holds the leader's session advisory lock
 * (a pooled connection would hand the lock to whoever borrows it next) and LISTENs for signal notifications.
 *
 * It keeps itself alive: TCP keepalive on both ends (so PostgreSQL frees a dead leader's lock, and this side
 * notices a dead server, within seconds rather than the kernel's two hours), a client-side timeout on every
 * query, and a reconnect with backoff whenever the connection fails. Every query it runs is trivial, so any
 * error on it is treated as a broken connection: it is dropped (which frees its locks on the server) and
 * opened again. Owners hear `onLost` at once, and `onConnected` after each (re)connect, LISTEN included.
 */
import pg from "pg";
import type { ClusterLogger } from "../cluster-types.js";
import { errorText } from "./pg-errors.js";

export interface DedicatedConnectionOptions {
  clientConfig: pg.ClientConfig;
  /** Shown in pg_stat_activity, so an operator (or a test) can find this instance's connection. */
  applicationName: string;
  /** Channel to LISTEN on after every connect. */
  channel: string;
  /** A query on this connection not answered within this is a dead connection, ms. */
  queryTimeoutMs: number;
  /** Server-side keepalive: idle seconds before the first probe, seconds between probes, probes lost before the server drops us. */
  keepalive: { idleSeconds: number; intervalSeconds: number; count: number };
  /** Longest wait between reconnect attempts, ms. */
  maxBackoffMs: number;
  logger: ClusterLogger;
  onConnected(): void;
  onLost(): void;
  onNotification(payload: string | undefined): void;
}

export class DedicatedConnection {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = 100;
  private closed = false;
  private failingSince: number | null = null;
  /** Bumped on every connect: a result from an older connection says nothing about the current one. */
  private generationCounter = 0;

  constructor(private readonly options: DedicatedConnectionOptions) {}

  get connected(): boolean {
    return this.client !== null;
  }

  get generation(): number {
    return this.generationCounter;
  }

  /** Opens the connection; throws when the first attempt fails (later failures reconnect by themselves). */
  async start(): Promise<void> {
    await this.connect();
  }

  /**
   * Runs a query on the current connection. Throws when there is none or it fails; a failure drops the
   * connection (its session locks with it) and schedules a reconnect.
   */
  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const client = this.client;
    if (!client) throw new Error("the cluster's connection is down");
    try {
      return await client.query<R>(text, values);
    } catch (error) {
      this.lost(client, error);
      throw error;
    }
  }

  /** Drops the connection on purpose (its session locks are freed by the server) and reconnects. */
  reset(reason: string): void {
    if (this.client) this.lost(this.client, new Error(reason));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    if (!this.connecting) {
      this.connecting = this.open().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async open(): Promise<void> {
    const { clientConfig, keepalive, queryTimeoutMs } = this.options;
    const client = new pg.Client({
      ...clientConfig,
      application_name: this.options.applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: keepalive.idleSeconds * 1000,
      query_timeout: queryTimeoutMs,
      connectionTimeoutMillis: clientConfig.connectionTimeoutMillis ?? Math.max(queryTimeoutMs, 1000),
    });
    // Without a listener an 'error' would crash the process; every failure goes through lost().
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("the connection ended")));
    client.on("notification", (message) => {
      if (message.channel === this.options.channel && this.client === client) this.options.onNotification(message.payload);
    });
    try {
      await client.connect();
      // The server notices a vanished client (kill -9 of its host, a cut network) and frees its lock in seconds.
      await client.query(
        `SET tcp_keepalives_idle = ${keepalive.idleSeconds}; SET tcp_keepalives_interval = ${keepalive.intervalSeconds}; SET tcp_keepalives_count = ${keepalive.count}`,
      );
      // Unacknowledged data too (PostgreSQL 12+); an older server keeps the keepalives alone.
      await client.query(`SET tcp_user_timeout = ${(keepalive.idleSeconds + keepalive.intervalSeconds * keepalive.count) * 1000}`).catch(() => undefined);
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (error) {
      client.removeAllListeners("end");
      client.on("error", () => undefined);
      await client.end().catch(() => undefined);
      this.scheduleReconnect(error);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.generationCounter++;
    this.backoffMs = 100;
    if (this.failingSince !== null) {
      this.options.logger.info({ downMs: Date.now() - this.failingSince }, "cluster connection restored");
      this.failingSince = null;
    }
    this.options.onConnected();
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    // end() sends Terminate when the socket still works, so the server drops the session (and the lock) now.
    client.end().catch(() => undefined);
    if (!this.closed) {
      this.options.logger.warn({ err: errorText(error) }, "cluster connection lost; reconnecting");
      this.failingSince ??= Date.now();
      this.options.onLost();
      this.scheduleReconnect(error);
    }
  }

  private scheduleReconnect(error: unknown): void {
    if (this.closed || this.timer) return;
    this.failingSince ??= Date.now();
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect().catch((next: unknown) => {
        // scheduleReconnect already ran inside open(); log only the change of reason, not every attempt.
        if (errorText(next) !== errorText(error)) this.options.logger.warn({ err: errorText(next) }, "cluster connection: reconnect failed");
      });
    }, delay);
  }
}
