/**
 * @module metrics/buffered-series
 * Counter and gauge increments on the request path as plain additions, handed to prom-client when the registry
 * is read (`collect`). prom-client validates and hashes the label object on every `inc`; the gateway makes
 * five such updates per request, which showed as ~2% of its CPU in bench/gateway profiles. Here a request pays
 * one Map lookup per update; prom-client still owns the series, their exposition and every read of them.
 */
import type { Counter, Gauge, LabelValues } from "prom-client";

export interface Pending<L extends string> {
  readonly labels: LabelValues<L>;
  delta: number;
  /** Whether prom-client has the series yet (a series that was touched must appear, even at 0). */
  known: boolean;
}

/** Pending increments of one counter or gauge, by label set. Bound to its metric's `collect` by `flushInto`. */
export class BufferedSeries<L extends string> {
  private readonly pending = new Map<string, Pending<L>>();

  /**
   * Adds `delta` (may be negative for gauges) to the series `labels`. `key` must identify the label set
   * (the label values joined); `labels` is only built the first time a key is seen.
   */
  add(key: string, labels: () => LabelValues<L>, delta = 1): void {
    this.entry(key, labels).delta += delta;
  }

  /**
   * The pending entry of the series `key` (made on first use), for callers that keep it per label set and add to its
   * `delta` directly: no key string or label closure per increment.
   */
  entry(key: string, labels: () => LabelValues<L>): Pending<L> {
    let entry = this.pending.get(key);
    if (!entry) this.pending.set(key, (entry = { labels: labels(), delta: 0, known: false }));
    return entry;
  }

  /** Moves the pending increments into the metric (called from its `collect`, i.e. when it is read). */
  flushInto(metric: Counter<L> | Gauge<L>): void {
    for (const entry of this.pending.values()) {
      if (entry.delta === 0 && entry.known) continue;
      metric.inc(entry.labels, entry.delta);
      entry.delta = 0;
      entry.known = true;
    }
  }
}
