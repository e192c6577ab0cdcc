/**
 * @module storage/postgres/pg-listener
 * The backend's one LISTEN connection, shared by every subscriber of every channel. It is a dedicated connection,
 * not a pooled one: a pooled connection goes back to the pool between queries, and its LISTEN with it.
 *
 * PostgreSQL keeps no notifications for a listener that is not connected, so when the connection drops (the
 * server restarted, the network cut it, a health query failed) this module reconnects by itself with a growing
 * back-off, LISTENs again on every channel, and then calls every subscriber's `onReconnect`: the subscriber reads
 * again whatever it follows (e.g. the change log after its last revision), which is PostgreSQL's own advice.
 */
import pg from "pg";
import { StorageUnavailableError } from "../contracts/storage-errors.js";
import { toStorageError } from "./pg-errors.js";
import { waitAtMost } from "../../wait-at-most.js";

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;
/** How often the idle connection is asked a trivial query, so that a dead one is noticed and replaced. */
const HEALTH_INTERVAL_MS = 10_000;

interface Subscriber {
  onNotify: (payload: string) => void;
  onReconnect: () => void;
}

export interface ListenerLogger {
  warn(msg: string): void;
  info?(msg: string): void;
}

export class PgListener {
  private client: pg.Client | null = null;
  /** Channels the current connection is LISTENing on. */
  private listening = new Set<string>();
  private connecting: Promise<pg.Client> | null = null;
  private readonly channels = new Map<string, Set<Subscriber>>();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = FIRST_RETRY_MS;
  private healthTimer: NodeJS.Timeout | null = null;
  /** Set once a connection was made: after that, a lost connection is retried in the background. */
  private everConnected = false;
  private closed = false;

  constructor(
    private readonly clientConfig: pg.ClientConfig,
    private readonly logger: ListenerLogger | undefined,
  ) {}

  /** See `SharedStorage.listen` (contracts/storage-backend.ts). */
  async listen(channel: string, onNotify: (payload: string) => void, onReconnect: () => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error("the store is closed");
    const subscriber: Subscriber = { onNotify, onReconnect };
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(subscriber);
    const unsubscribe = async () => this.unsubscribe(channel, subscriber);
    // While reconnecting in the background, the subscriber is served once the connection is back (onReconnect).
    if (this.everConnected && !this.client) return unsubscribe;
    try {
      const client = this.client ?? (await this.connect());
      await this.listenOn(client, channel);
    } catch (error) {
      if (this.everConnected) return unsubscribe;
      // Never connected: the caller learns now that the database is not there.
      set.delete(subscriber);
      if (set.size === 0) this.channels.delete(channel);
      throw toStorageError(error);
    }
    return unsubscribe;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.retryTimer = this.healthTimer = null;
    const client = this.client ?? (await this.connecting?.catch(() => null)) ?? null;
    this.client = null;
    if (client) await waitAtMost(client.end().catch(() => undefined), END_WAIT_MS);
  }

  private async unsubscribe(channel: string, subscriber: Subscriber): Promise<void> {
    const set = this.channels.get(channel);
    if (!set?.delete(subscriber) || set.size > 0) return;
    this.channels.delete(channel);
    const client = this.client;
    if (client && this.listening.delete(channel)) await client.query(`UNLISTEN ${client.escapeIdentifier(channel)}`).catch(() => undefined);
  }

  private async listenOn(client: pg.Client, channel: string): Promise<void> {
    if (this.listening.has(channel) || this.client !== client) return;
    await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    this.listening.add(channel);
  }

  /** Opens the connection and LISTENs on every channel; one attempt at a time. */
  private connect(): Promise<pg.Client> {
    this.connecting ??= (async () => {
      const client = new pg.Client(this.clientConfig);
      client.on("notification", (message) => this.dispatch(message.channel, message.payload ?? ""));
      // Both fire on a lost connection; `lost` handles it once. Without an error handler, the process would crash.
      client.on("error", () => this.lost(client));
      client.on("end", () => this.lost(client));
      try {
        await client.connect();
        if (this.closed) throw new StorageUnavailableError("the store is closed");
        this.client = client;
        this.listening = new Set();
        for (const channel of this.channels.keys()) await this.listenOn(client, channel);
      } catch (error) {
        if (this.client === client) this.client = null;
        // Not awaited without a bound: pg's end() of a client whose connect failed may never settle (a connect that
        // timed out under load), and this attempt must settle for close() to finish.
        await waitAtMost(client.end().catch(() => undefined), END_WAIT_MS);
        throw error;
      }
      this.everConnected = true;
      this.retryMs = FIRST_RETRY_MS;
      this.healthTimer ??= setInterval(() => this.checkHealth(), HEALTH_INTERVAL_MS).unref();
      return client;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private dispatch(channel: string, payload: string): void {
    for (const subscriber of [...(this.channels.get(channel) ?? [])]) {
      try {
        subscriber.onNotify(payload);
      } catch (error) {
        // One subscriber's fault must not keep the others from hearing it.
        this.logger?.warn(`a notification handler on ${channel} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private checkHealth(): void {
    const client = this.client;
    if (!client) return;
    client.query("SELECT 1").catch(() => this.lost(client));
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.listening = new Set();
    void client.end().catch(() => undefined);
    if (this.closed) return;
    this.logger?.warn("the PostgreSQL listening connection was lost; reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().then(
        () => {
          this.logger?.info?.("the PostgreSQL listening connection is back");
          for (const set of [...this.channels.values()]) {
            for (const subscriber of [...set]) {
              try {
                subscriber.onReconnect();
              } catch (error) {
                this.logger?.warn(`a reconnect handler failed: ${error instanceof Error ? error.message : String(error)}`);
              }
            }
          }
        },
        () => {
          this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.retryTimer.unref();
  }
}

/** How long closing waits for a connection's end before it lets it go (the process's exit closes its socket). */
const END_WAIT_MS = 2_000;
