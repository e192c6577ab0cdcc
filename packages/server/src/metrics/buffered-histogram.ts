/**
 * @module metrics/buffered-histogram
 * A Prometheus histogram for the request path: a series is a handle that a caller looks up once per label set
 * and keeps, and an observation is one bucket search and three additions. prom-client's own `Histogram` validates
 * the labels, builds a hash string and turns the bucket bound into a property name on every `observe`; with three
 * histograms per gateway request that was about half of the metrics' cost per request in profiles.
 *
 * The exposition is prom-client's: this object registers in a prom-client `Registry` like any metric and hands it
 * the same values, in the same order, that `Histogram#getForPromString` / `get` would for the same observations
 * (series in order of first observation; per series the cumulative buckets, `+Inf`, `_sum`, `_count`).
 * `buffered-histogram.test.ts` checks the text against a prom-client `Histogram` fed the same values.
 */
import { validateMetricName, type Registry } from "prom-client";

/** One label set's buckets; `observe` is the whole request-path cost. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative), by index of the upper bound. */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** False after the histogram was reset: the next observation starts the series again (as prom-client would). */
  attached = true;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
    private readonly reattach: (series: HistogramSeries) => void,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
    if (!this.attached) {
      this.counts.fill(0);
      this.sum = 0;
      this.count = 0;
      this.attached = true;
      this.reattach(this);
    }
    const bounds = this.bounds;
    // Above the last bound, an observation counts only in +Inf (= count), as in prom-client.
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count += 1;
  }

  /** Cumulative count of observations at or below `bounds[index]`. */
  cumulative(index: number, previous: number): number {
    return previous + this.counts[index]!;
  }
}

/** One exported sample, shaped as prom-client's registry reads it. */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels?: Readonly<Record<string, string>>;
  value: number;
  metricName: string;
  exemplar?: null;
}

export interface BufferedHistogramConfig<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
  /** Upper bounds, ascending (used as given, as prom-client does). */
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

export class BufferedHistogram<L extends string = string> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly L[];
  private readonly bounds: readonly number[];
  /** Series in order of creation (prom-client exports in order of first observation). */
  private series: HistogramSeries[] = [];
  /** The series of a histogram without labels (exported from the start, as prom-client does; after a reset, once observed). */
  private unlabelled: HistogramSeries | null = null;

  constructor(config: BufferedHistogramConfig<L>) {
    if (!validateMetricName(config.name)) throw new Error("Invalid metric name");
    // As given, like prom-client (which neither sorts nor checks them).
    const bounds = [...config.buckets];
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames ?? [];
    this.bounds = bounds;
    if (this.labelNames.length === 0) this.unlabelled = this.add({});
    for (const registry of config.registers) registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  /**
   * A new series for `labels` (every name must be one of the histogram's). Callers keep the handle per label set:
   * two calls with the same labels make two series.
   */
  add(labels: Readonly<Record<L, string>> | Readonly<Record<string, never>>): HistogramSeries {
    for (const name of Object.keys(labels)) {
      if (!(this.labelNames as readonly string[]).includes(name)) throw new Error(`Added label "${name}" is not included in initial labelset: ${JSON.stringify(this.labelNames)}`);
    }
    const series = new HistogramSeries(labels, this.bounds, (again) => this.series.push(again));
    this.series.push(series);
    return series;
  }

  /** Observes on the histogram without labels. */
  observe(value: number): void {
    if (!this.unlabelled) throw new Error("this histogram has labels: observe through a series");
    this.unlabelled.observe(value);
  }

  /** Forgets every observation (prom-client's `reset`); kept handles start their series again when next observed. */
  reset(): void {
    for (const series of this.series) series.attached = false;
    this.series = [];
  }

  /** What prom-client's registry renders as text. */
  getForPromString(): { name: string; help: string; type: string; values: Sample[]; aggregator: string } {
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative = series.cumulative(i, cumulative);
        values.push({ labels: { le: this.bounds[i]! }, sharedLabels: series.labels, value: cumulative, metricName: bucketName, exemplar: null });
      }
      values.push({ labels: { le: "+Inf" }, sharedLabels: series.labels, value: series.count, metricName: bucketName, exemplar: null });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The JSON form (`registry.getMetricsAsJSON`): shared labels merged into each sample's labels. */
  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: string } {
    const data = this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return data;
  }
}
