/**
 * @module cluster/redis/redis-fanout
 * Cross-instance wake-ups over Redis pub/sub (`cache.redis.url`): an instance that committed registry changes, or
 * published a cluster signal, PUBLISHes a tiny "wake" on a channel, and every other instance subscribed to it reads
 * its log at once (the change tailer's `kick`, the signal reader's `wake`).
 *
 * A wake is ONLY a hint. The PostgreSQL logs stay the source of truth for order and completeness, and the NOTIFY
 * and the poll keep working beside it, so a lost message, a Redis outage or a subscriber that reconnects costs
 * latency, never a change. What it adds: wakes keep flowing where PostgreSQL's NOTIFY cannot (a pooler in
 * transaction mode, a LISTEN connection that is reconnecting), and they cost the database nothing.
 *
 * Nothing here throws into its callers: publishing while Redis is down drops the wake (logged once per outage by
 * the client), and the subscriber connection reconnects forever by itself. After each (re)subscription every
 * callback is called once, as the PostgreSQL listener does after a reconnect: wakes sent meanwhile were lost.
 *
 * Publishing uses the node's shared client (commands); receiving needs a connection of its own, because a Redis
 * connection in subscriber mode accepts nothing but (un)subscriptions.
 */
import type { Redis } from "ioredis";
import type { ClusterSignals, SignalTopic } from "../cluster-types.js";
import { closeRedisClient, isRedisReady, type RedisClientLogger } from "./redis-client.js";

/** What a wake asks the receiver to read: the registry's event log, or the cluster signal log. */
export type WakeKind = "changes" | "signals";

const KINDS: readonly WakeKind[] = ["changes", "signals"];
/** A subscription that failed on a live connection is tried again after this, ms. */
const RESUBSCRIBE_DELAY_MS = 1_000;

export interface RedisFanoutOptions {
  /** The node's shared client (cluster/redis/redis-client.ts): wakes are published on it. Not closed here. */
  redis: Redis;
  /** `cache.redis.keyPrefix`: the channels are `<prefix>wake:<kind>`, so nodes sharing one Redis never wake each other. */
  keyPrefix: string;
  /** This instance's id: it is the message, so an instance skips its own wakes (it woke itself already). */
  instanceId: string;
  logger?: RedisClientLogger;
}

export class RedisFanout {
  private readonly subscriber: Redis;
  private readonly channels: Map<string, WakeKind>;
  private readonly channelOf: Record<WakeKind, string>;
  private readonly callbacks: Record<WakeKind, Set<() => void>> = { changes: new Set(), signals: new Set() };
  /** Kinds with a PUBLISH in flight, and those woken again meanwhile (one more PUBLISH after it). */
  private readonly sending = new Set<WakeKind>();
  private readonly again = new Set<WakeKind>();
  private subscribed = false;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: RedisFanoutOptions) {
    this.channelOf = { changes: `${options.keyPrefix}wake:changes`, signals: `${options.keyPrefix}wake:signals` };
    this.channels = new Map(KINDS.map((kind) => [this.channelOf[kind], kind]));
    // Same server and settings as the shared client; subscriptions are made again by this class on every
    // "ready" (ioredis' own resubscription only knows channels whose first SUBSCRIBE got through).
    this.subscriber = options.redis.duplicate({ connectionName: `kai:wakes:${options.instanceId}`, autoResubscribe: false });
    let down = false;
    this.subscriber.on("error", (error: Error) => {
      // The shared client reports the outage; this connection only notes it once, without the URL.
      if (down || this.closed) return;
      down = true;
      options.logger?.warn({ err: { name: error.name, message: error.message } }, "Redis wakes are off until Redis is back: instances notice changes through PostgreSQL meanwhile");
    });
    this.subscriber.on("ready", () => {
      down = false;
      this.subscribe();
    });
    this.subscriber.on("close", () => void (this.subscribed = false));
    this.subscriber.on("message", (channel: string, origin: string) => {
      const kind = this.channels.get(channel);
      if (kind && origin !== options.instanceId) this.fire(kind);
    });
  }

  /** True while wakes from other instances are being received. */
  get receiving(): boolean {
    return this.subscribed && isRedisReady(this.subscriber);
  }

  /**
   * Tells the other instances to read `kind`'s log now. Fire and forget: never throws, never waits. Wakes are
   * coalesced: while one PUBLISH is in flight, any number of further wakes send exactly one more after it, so the
   * last wake always leaves after the last commit that asked for it.
   */
  publishWake(kind: WakeKind): void {
    if (this.closed) return;
    if (this.sending.has(kind)) {
      this.again.add(kind);
      return;
    }
    this.send(kind);
  }

  /** Calls `callback` on every wake of `kind` from another instance (and once after each resubscription). */
  onWake(kind: WakeKind, callback: () => void): () => void {
    const entry = () => callback();
    this.callbacks[kind].add(entry);
    return () => {
      this.callbacks[kind].delete(entry);
    };
  }

  /** Stops receiving and closes the subscriber connection (the shared client stays open: its owner closes it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    for (const kind of KINDS) this.callbacks[kind].clear();
    await closeRedisClient(this.subscriber);
  }

  private send(kind: WakeKind): void {
    const { redis, instanceId } = this.options;
    // Down: the wake is dropped (enableOfflineQueue is off anyway); NOTIFY and the poll still wake the others.
    if (!isRedisReady(redis)) return;
    this.sending.add(kind);
    redis
      .publish(this.channelOf[kind], instanceId)
      .catch(() => undefined)
      .finally(() => {
        this.sending.delete(kind);
        if (this.again.delete(kind) && !this.closed) this.send(kind);
      });
  }

  private subscribe(): void {
    if (this.closed || !isRedisReady(this.subscriber)) return;
    this.subscriber.subscribe(...this.channels.keys()).then(
      () => {
        this.subscribed = true;
        // Wakes published while this connection was away are lost: read once now, as after a LISTEN reconnect.
        for (const kind of KINDS) this.fire(kind);
      },
      () => {
        if (this.closed || this.retry) return;
        this.retry = setTimeout(() => {
          this.retry = null;
          this.subscribe();
        }, RESUBSCRIBE_DELAY_MS);
        this.retry.unref();
      },
    );
  }

  private fire(kind: WakeKind): void {
    for (const callback of [...this.callbacks[kind]]) {
      try {
        callback();
      } catch (error) {
        this.options.logger?.warn({ err: error instanceof Error ? error.message : String(error), kind }, "a Redis wake callback failed");
      }
    }
  }
}

/**
 * Every signal topic, checked by the compiler: adding a topic to `SignalTopic` without listing it here fails the
 * build, so no topic's publications go without a wake.
 */
const SIGNAL_TOPICS = {
  token_revoked: true,
  vault_changed: true,
  vault_secret_changed: true,
  health_verdict: true,
  health_probe: true,
  federation_changed: true,
  user_changed: true,
  session_revoked: true,
  task_control: true,
  run_agent: true,
  memory_changed: true,
  plugins_changed: true,
  plugin_installed: true,
  config_changed: true,
  log_lines_wanted: true,
  log_lines: true,
  doctor_wanted: true,
  doctor_report: true,
} satisfies Record<SignalTopic, true>;

/**
 * Publishes a "signals" wake whenever this instance's own signal reader delivers a signal this instance published
 * (i.e. right after it committed), whoever published it here: the token service, the vault, the health checker.
 * Hooks the public `subscribe` of `ClusterSignals`, so no publisher has to know about Redis. Returns the undo.
 */
export function wakeOnOwnSignals(signals: Pick<ClusterSignals, "subscribe">, fanout: Pick<RedisFanout, "publishWake">): () => void {
  const offs = (Object.keys(SIGNAL_TOPICS) as SignalTopic[]).map((topic) =>
    signals.subscribe(topic, (_payload, meta) => {
      if (meta.fromSelf) fanout.publishWake("signals");
    }),
  );
  return () => {
    for (const off of offs) off();
  };
}
