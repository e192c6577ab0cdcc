/**
 * @module klp/replay-cache
 * Remembers which message ids each sender has used, for as long as a message with that id could still
 * pass the staleness rule. Bounded in both senders and ids per sender; when a bound is reached after
 * dropping expired entries the cache refuses (fail closed) instead of forgetting ids, because a
 * forgotten id is a replay that would be let through.
 */

export interface ReplayCacheOptions {
  /** Most ids remembered per sender. */
  maxIdsPerSender?: number;
  /** Most senders remembered at once. */
  maxSenders?: number;
}

export type ReplayCheck = "fresh" | "replay" | "full";

export class ReplayCache {
  private readonly senders = new Map<string, Map<string, number>>();
  private readonly maxIdsPerSender: number;
  private readonly maxSenders: number;

  constructor(options: ReplayCacheOptions = {}) {
    this.maxIdsPerSender = options.maxIdsPerSender ?? 10_000;
    this.maxSenders = options.maxSenders ?? 10_000;
  }

  /**
   * Records `id` from `sender` until `expiresAtMs` (after which the staleness rule rejects the message
   * anyway) and says whether it was fresh, already seen, or could not be recorded.
   */
  checkAndRecord(sender: string, id: string, expiresAtMs: number, nowMs: number): ReplayCheck {
    let ids = this.senders.get(sender);
    if (ids) {
      const seenUntil = ids.get(id);
      if (seenUntil !== undefined && seenUntil >= nowMs) return "replay";
      if (ids.size >= this.maxIdsPerSender) prune(ids, nowMs);
      if (ids.size >= this.maxIdsPerSender) return "full";
    } else {
      if (this.senders.size >= this.maxSenders) this.pruneSenders(nowMs);
      if (this.senders.size >= this.maxSenders) return "full";
      ids = new Map();
      this.senders.set(sender, ids);
    }
    ids.set(id, expiresAtMs);
    return "fresh";
  }

  /** Number of remembered ids (all senders); for metrics and tests. */
  get size(): number {
    let total = 0;
    for (const ids of this.senders.values()) total += ids.size;
    return total;
  }

  private pruneSenders(nowMs: number): void {
    for (const [sender, ids] of this.senders) {
      prune(ids, nowMs);
      if (ids.size === 0) this.senders.delete(sender);
    }
  }
}

function prune(ids: Map<string, number>, nowMs: number): void {
  for (const [id, until] of ids) if (until < nowMs) ids.delete(id);
}
