/**
 * @module cluster/limits/window-counter
 * A counter as its users see it: it counts in its primary store (Redis or PostgreSQL, or memory on a
 * single instance), in PostgreSQL while Redis fails (Redis mode), and when no shared store answers it either
 * refuses (`whenDown: "fail"`, the caller answers 503) or counts this instance's share in memory
 * (`whenDown: "local"`: totals scaled by the number of live instances, so the node as a whole still stays near
 * its limit). A Redis outage therefore degrades to PostgreSQL, never to no limits.
 *
 * The failover is written here rather than with rate-limiter-flexible's `insuranceLimiter`: the PostgreSQL
 * counter is not one of its limiters, and the node must know (and log once) when it is counting elsewhere.
 */
import type { CountStore, RawCount } from "./count-store.js";
import { LimitStoreUnavailable, type CountSource, type WhenStoreDown, type WindowCount, type WindowCounter } from "./limit-types.js";

export interface WindowCounterParts {
  readonly id: string;
  readonly windowMs: number;
  readonly primary: CountStore;
  /** Used when the primary fails (PostgreSQL behind Redis). */
  readonly fallback?: CountStore;
  readonly whenDown: WhenStoreDown;
  /** This instance's own memory counter, for `whenDown: "local"`. */
  readonly local?: CountStore;
  /** How many instances share the limit (for `local` counts). */
  readonly instances: () => number;
  /** Told each time a store fails or answers again (the owner logs transitions). */
  readonly health: StoreHealth;
}

export interface StoreHealth {
  failed(source: CountSource, error: unknown): void;
  answered(source: CountSource): void;
}

export class FailoverWindowCounter implements WindowCounter {
  readonly id: string;
  readonly windowMs: number;

  constructor(private readonly parts: WindowCounterParts) {
    this.id = parts.id;
    this.windowMs = parts.windowMs;
  }

  add(key: string, amount = 1): Promise<WindowCount> {
    if (!Number.isInteger(amount) || amount < 1) return Promise.reject(new RangeError(`a counter adds positive integers, not ${amount}`));
    return this.run((store) => store.add(key, amount), true);
  }

  read(key: string): Promise<WindowCount> {
    return this.run((store) => store.read(key), true);
  }

  async refund(key: string, amount = 1): Promise<void> {
    await this.run(async (store) => {
      await store.refund(key, amount);
      return { total: 0, resetMs: 0 };
    }, false).catch(() => undefined);
  }

  private async run(operation: (store: CountStore) => Promise<RawCount>, scaleLocal: boolean): Promise<WindowCount> {
    const { primary, fallback, local, health } = this.parts;
    let lastError: unknown;
    for (const store of fallback ? [primary, fallback] : [primary]) {
      try {
        const raw = await operation(store);
        health.answered(store.source);
        return { total: raw.total, resetMs: raw.resetMs, source: store.source };
      } catch (error) {
        health.failed(store.source, error);
        lastError = error;
      }
    }
    if (this.parts.whenDown === "local" && local) {
      const raw = await operation(local);
      const scale = scaleLocal ? Math.max(1, Math.floor(this.parts.instances())) : 1;
      return { total: raw.total * scale, resetMs: raw.resetMs, source: "local" };
    }
    throw new LimitStoreUnavailable(`the rate counter ${this.id} cannot reach its store`, lastError);
  }
}
