/**
 * @module cluster/redis/redis-service-cache
 * The seed's short-TTL service cache: single service records by id (`getService`), read through Redis and shared
 * by the instances of a node, each entry living at most `cache.redis.serviceTtlMs`. A Redis that is down, slow or
 * answering nonsense is skipped: the read goes to the store (PostgreSQL), never to an error.
 *
 * WHERE IT MAY BE USED. Only for reads that may be slightly behind: KLP discovery and verification answers, the
 * recipient check of KLP messages (docs/architecture/redis.md). NEVER for the registry's own reads (the HTTP API,
 * a write's precondition): "an acknowledged write is visible on every instance at once" cannot hold with a cache in
 * front of them. Instance A commits and acknowledges; a client reads on B before any instance has invalidated the
 * entry; the only way for B to know is to ask PostgreSQL, which costs the very round trip the cache would save.
 *
 * How fresh it is, even so:
 * - Every instance invalidates the entry of every change its change tailer publishes (`follow`), so an entry is
 *   gone as soon as the FIRST instance that reaches Redis has applied the change: usually milliseconds.
 * - On the instance itself, reads never run ahead of its feed: while an invalidation of an id is queued or in
 *   flight, reads of that id go to the store; when an invalidation could not be sent, all reads go to the store
 *   until this instance has moved the cache to a new generation (every entry of the old one is dead at once).
 * - A read that missed fills the entry only under a lease taken atomically with the miss; an invalidation deletes
 *   the lease, so a record read before a change can never be stored after that change's invalidation (the lost
 *   race of read-through caches), however slow the read was.
 * - Whatever else goes wrong (every instance cut off from Redis while a change commits, Redis restored from an old
 *   snapshot), an entry dies after `ttlMs`.
 *
 * Written here rather than with a library: no maintained Node 20 cache offers leases that an invalidation revokes
 * plus a generation fence (lease-cache, the closest, needs Node 22), and the whole is three short Lua scripts.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { parseJson, ServiceRecordSchema, type ServiceRecord } from "@kai/protocol";
import type { ServiceRecordStore } from "../../storage/contracts/node-store.js";
import type { Change } from "../../registry/change-feed.js";
import { isRedisReady, type RedisClientLogger } from "./redis-client.js";

/** How long a miss may take to fill its entry, ms: a slower read still answers, but caches nothing. */
const DEFAULT_LEASE_MS = 5_000;

/**
 * A hit returns the entry of the current generation; otherwise a lease (`<generation>|<nonce>`) is set on the id
 * and returned. KEYS: generation, value, lease. ARGV: lease ms, nonce.
 */
const READ_LUA = `
local gen = redis.call('GET', KEYS[1]) or '0'
local stored = redis.call('GET', KEYS[2])
if stored then
  local cut = string.find(stored, '|', 1, true)
  if cut and string.sub(stored, 1, cut - 1) == gen then
    return {'hit', string.sub(stored, cut + 1)}
  end
end
local lease = gen .. '|' .. ARGV[2]
redis.call('SET', KEYS[3], lease, 'PX', ARGV[1])
return {'miss', lease}
`;

/**
 * Stores the entry only if the reader's lease is still there (no invalidation since its miss, not expired, not
 * replaced by a later miss) and of the current generation. KEYS: generation, value, lease. ARGV: lease, entry, ttl ms.
 */
const FILL_LUA = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[3])
local gen = redis.call('GET', KEYS[1]) or '0'
if string.sub(ARGV[1], 1, #gen + 1) ~= gen .. '|' then return 0 end
redis.call('SET', KEYS[2], gen .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
`;

interface CacheCommands {
  kaiServiceCacheRead(generationKey: string, valueKey: string, leaseKey: string, leaseMs: number, nonce: string): Promise<[string, string]>;
  kaiServiceCacheFill(generationKey: string, valueKey: string, leaseKey: string, lease: string, entry: string, ttlMs: number): Promise<number>;
}

export interface RedisServiceCacheOptions {
  /** The node's shared client (cluster/redis/redis-client.ts: fails fast while Redis is away). Not closed here. */
  redis: Redis;
  /** Where records really are: the store (PostgreSQL). */
  source: Pick<ServiceRecordStore, "getService">;
  /** `cache.redis.keyPrefix`; keys are `<prefix>svc:…`. */
  keyPrefix: string;
  /** `cache.redis.serviceTtlMs`: an entry's longest life. */
  ttlMs: number;
  leaseMs?: number;
  logger?: RedisClientLogger;
}

/** What the cache did, since it was made (for tests and the operator). */
export interface ServiceCacheStats {
  hits: number;
  misses: number;
  /** Reads that went to the store without asking Redis (down, not yet fenced, an invalidation pending). */
  bypassed: number;
  /** Entries stored after a miss. */
  fills: number;
}

/** The part of a change feed the cache follows. */
export interface FollowedFeed {
  readonly revision: number;
  subscribe(listener: (change: Change) => void): () => void;
}

export class RedisServiceCache implements Pick<ServiceRecordStore, "getService"> {
  private readonly redis: Redis & CacheCommands;
  private readonly generationKey: string;
  private readonly leaseMs: number;
  /** Ids whose invalidation is queued (sent on the next microtask, all in one DEL) or in flight. */
  private readonly queued = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  private flushing: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  /**
   * Reasons to distrust every entry, counted: one at start (entries may predate this instance), one more for each
   * invalidation that may not have reached Redis. `fencedThrough` is how many of them a new generation, started
   * AFTER them, has dealt with; while it is behind, reads bypass the cache.
   */
  private distrust = 1;
  private fencedThrough = 0;
  private fencing: Promise<boolean> | null = null;
  private readonly counts: ServiceCacheStats = { hits: 0, misses: 0, bypassed: 0, fills: 0 };
  private failing = false;

  constructor(private readonly options: RedisServiceCacheOptions) {
    this.redis = options.redis as Redis & CacheCommands;
    this.generationKey = `${options.keyPrefix}svc:gen`;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    // EVALSHA with EVAL as the fallback: a restarted Redis that forgot the scripts is given them again.
    this.redis.defineCommand("kaiServiceCacheRead", { numberOfKeys: 3, lua: READ_LUA });
    this.redis.defineCommand("kaiServiceCacheFill", { numberOfKeys: 3, lua: FILL_LUA });
  }

  /**
   * Fences the cache at start, so this instance's first reads do not kill entries other instances have filled
   * meanwhile. Call it after `follow`: a change published between the fence and the subscription would go
   * uninvalidated by this instance. Resolves false when Redis cannot be reached (reads go to the store and fence
   * later). Never throws.
   */
  start(): Promise<boolean> {
    return isRedisReady(this.redis) ? this.fenced() : Promise.resolve(false);
  }

  get stats(): ServiceCacheStats {
    return { ...this.counts };
  }

  /** The record from Redis when a live entry holds it, otherwise from the store (and cached). Errors only as the store's. */
  async getService(id: string): Promise<ServiceRecord | null> {
    if (!this.usable(id) || !(await this.fenced())) {
      this.counts.bypassed++;
      return this.options.source.getService(id);
    }
    let answer: [string, string];
    try {
      answer = await this.redis.kaiServiceCacheRead(this.generationKey, this.valueKey(id), this.leaseKey(id), this.leaseMs, randomUUID());
      this.noteRecovered();
    } catch (error) {
      this.noteFailure(error);
      this.counts.bypassed++;
      return this.options.source.getService(id);
    }
    const [kind, payload] = answer;
    if (kind === "hit") {
      const record = this.decode(payload);
      if (record !== undefined) {
        this.counts.hits++;
        return record;
      }
      // Not a record this code wrote (another version, a hand-made key): the store answers, nothing is filled.
      this.counts.bypassed++;
      return this.options.source.getService(id);
    }
    this.counts.misses++;
    const record = await this.options.source.getService(id);
    try {
      const stored = await this.redis.kaiServiceCacheFill(this.generationKey, this.valueKey(id), this.leaseKey(id), payload, JSON.stringify(record), this.options.ttlMs);
      if (stored === 1) this.counts.fills++;
    } catch (error) {
      // The record is right; only its entry is missing.
      this.noteFailure(error);
    }
    return record;
  }

  /**
   * Drops the entry of `id` and its lease (every instance calls this for every change it applies). Never throws:
   * when the DEL may not have reached Redis, this instance stops using the cache until it has fenced a new generation.
   */
  invalidate(id: string): void {
    this.queued.add(id);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // One DEL for everything a tailer page published in one go.
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flushing = this.flushing.then(() => this.flush());
    });
  }

  /** Resolves once every invalidation asked for so far has been answered (or failed). */
  async settled(): Promise<void> {
    await Promise.resolve();
    await this.flushing;
  }

  /**
   * Invalidates each change's record as `feed` publishes it (the change tailer's feed: changes of every instance).
   * A jump in revisions (the tailer skipped a compacted stretch of the log) may hide changes: the cache is fenced anew.
   */
  follow(feed: FollowedFeed): () => void {
    let last = feed.revision;
    return feed.subscribe(({ event }) => {
      if (event.revision > last + 1) this.distrust++;
      last = Math.max(last, event.revision);
      this.invalidate(event.service.id);
    });
  }

  private usable(id: string): boolean {
    return isRedisReady(this.redis) && !this.queued.has(id) && !this.inFlight.has(id);
  }

  /** Moves the cache to a new generation once (shared by concurrent readers); false while that is not possible. */
  private fenced(): Promise<boolean> {
    if (this.fencedThrough >= this.distrust) return Promise.resolve(true);
    // Only what was distrusted before the INCR is sent is dealt with by it: a failure while it is in flight needs another.
    const through = this.distrust;
    this.fencing ??= this.redis
      .incr(this.generationKey)
      .then(
        () => {
          this.fencedThrough = Math.max(this.fencedThrough, through);
          return this.fencedThrough >= this.distrust;
        },
        (error: unknown) => {
          this.noteFailure(error);
          return false;
        },
      )
      .finally(() => {
        this.fencing = null;
      });
    return this.fencing;
  }

  private async flush(): Promise<void> {
    if (this.queued.size === 0) return;
    const ids = [...this.queued];
    this.queued.clear();
    for (const id of ids) this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
    try {
      if (!isRedisReady(this.redis)) throw new Error("Redis is not connected");
      await this.redis.del(...ids.flatMap((id) => [this.valueKey(id), this.leaseKey(id)]));
      this.noteRecovered();
    } catch (error) {
      // Some other instance may have dropped the entries, or none: this one cannot tell, so it trusts no entry
      // until a new generation makes all of them dead.
      this.distrust++;
      this.noteFailure(error);
    } finally {
      for (const id of ids) {
        const left = (this.inFlight.get(id) ?? 1) - 1;
        if (left > 0) this.inFlight.set(id, left);
        else this.inFlight.delete(id);
      }
    }
  }

  private decode(payload: string): ServiceRecord | null | undefined {
    const json = parseJson(payload);
    if (!json.ok) return undefined;
    if (json.value === null) return null;
    const parsed = ServiceRecordSchema.safeParse(json.value);
    return parsed.success ? parsed.data : undefined;
  }

  private valueKey(id: string): string {
    return `${this.options.keyPrefix}svc:v:${id}`;
  }

  private leaseKey(id: string): string {
    return `${this.options.keyPrefix}svc:l:${id}`;
  }

  private noteFailure(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.options.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, "the Redis service cache is unavailable: service reads go to PostgreSQL");
  }

  private noteRecovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.options.logger?.info({}, "the Redis service cache is in use again");
  }
}

/**
 * `store` with its `getService` answered by `cache` and everything else untouched: for the readers that may be
 * behind (see the module comment), never for the registry that writes.
 */
export function withServiceCache<T extends Pick<ServiceRecordStore, "getService">>(store: T, cache: Pick<ServiceRecordStore, "getService">): T {
  return new Proxy(store, {
    get(target, property) {
      if (property === "getService") return (id: string) => cache.getService(id);
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
