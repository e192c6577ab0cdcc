/**
 * @module metrics/metrics
 * The node's Prometheus metrics (prom-client), in one registry owned by the server rather than prom-client's
 * global one, so that several servers in one process (tests, embedding) never mix their figures.
 * Recording is an in-memory increment on the request path; all formatting happens when `/metrics` is scraped.
 * Gauges that describe state (services by status, watchers, revision) are read at scrape time via `collect`,
 * so keeping them costs nothing between scrapes.
 *
 * Label values are bounded: HTTP metrics use the route *pattern* (never the raw path, which would create a
 * series per service id), and gateway metrics use service ids, which the registry bounds.
 *
 * Hot-path recording goes through the `record…` methods: counters and gauges buffer their increments
 * (`BufferedSeries`, flushed when read), histograms are `BufferedHistogram`s (same exposition, a bucket search per
 * observation), and each label set's handles are found through nested maps of the label values, so a request pays
 * neither prom-client's per-call label validation and hashing nor a key string per update.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { BufferedHistogram, type HistogramSeries } from "./buffered-histogram.js";
import { BufferedSeries, type Pending } from "./buffered-series.js";
import { NodeActivity } from "./node-activity.js";

/** Latency buckets in seconds: sub-millisecond steps matter for gateway overhead, tens of seconds for LLM calls. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export interface RegistryGaugeSource {
  /** Services by status, all owners (the scraper holds metrics:read, not a viewer's token). */
  servicesByStatus(): Promise<Record<string, number>>;
  revision(): number;
  watchers(): number;
}

/** One (method, route)'s series: its duration and its count per status. */
interface HttpSeries {
  readonly duration: HistogramSeries;
  readonly byStatus: Map<number, Pending<"method" | "route" | "status">>;
}

/** One (service, provider, capability)'s series: latency, calls per outcome, tokens. */
interface GatewaySeries {
  readonly duration: HistogramSeries;
  readonly byOutcome: Map<string, Pending<"service" | "provider" | "capability" | "outcome">>;
  prompt: Pending<"service" | "kind"> | null;
  completion: Pending<"service" | "kind"> | null;
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: BufferedHistogram<"method" | "route">;
  readonly gatewayRequests: Counter<"service" | "provider" | "capability" | "outcome">;
  readonly gatewayDuration: BufferedHistogram<"service" | "provider" | "capability">;
  readonly gatewayTokens: Counter<"service" | "kind">;
  readonly gatewayInFlight: Gauge<"service">;
  readonly gatewayBreaker: Gauge<"service">;
  readonly gatewayOverhead: BufferedHistogram;
  readonly gatewaySkips: Counter<"service" | "reason">;
  /** The last hour of gateway traffic as JSON for people (`/api/metrics/summary`, a service's activity). */
  readonly activity = new NodeActivity();
  private readonly httpCounts = new BufferedSeries<"method" | "route" | "status">();
  private readonly gatewayCounts = new BufferedSeries<"service" | "provider" | "capability" | "outcome">();
  private readonly tokenCounts = new BufferedSeries<"service" | "kind">();
  private readonly inFlight = new BufferedSeries<"service">();
  /**
   * Series handles by label values, as nested maps (method → route; service → provider → capability): a request
   * finds its series with a few Map lookups on strings it already holds, without building a key string.
   */
  private readonly httpSeries = new Map<string, Map<string, HttpSeries>>();
  private readonly gatewaySeries = new Map<string, Map<string, Map<string, GatewaySeries>>>();
  private readonly inFlightSeries = new Map<string, Pending<"service">>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "kai_" });
    const registers = [this.registry];
    const httpCounts = this.httpCounts;
    const gatewayCounts = this.gatewayCounts;
    const tokenCounts = this.tokenCounts;
    const inFlight = this.inFlight;
    this.httpRequests = new Counter({
      name: "kai_http_requests_total",
      help: "HTTP requests answered, by route pattern and status",
      labelNames: ["method", "route", "status"],
      registers,
      collect() {
        httpCounts.flushInto(this);
      },
    });
    this.httpDuration = new BufferedHistogram({ name: "kai_http_request_duration_seconds", help: "HTTP request duration by route pattern", labelNames: ["method", "route"], buckets: LATENCY_BUCKETS, registers });
    this.gatewayRequests = new Counter({
      name: "kai_gateway_upstream_requests_total",
      help: "Upstream calls made by the gateway, by service and outcome (ok or an error code)",
      labelNames: ["service", "provider", "capability", "outcome"],
      registers,
      collect() {
        gatewayCounts.flushInto(this);
      },
    });
    this.gatewayDuration = new BufferedHistogram({
      name: "kai_gateway_upstream_duration_seconds",
      help: "Upstream call latency by service (to the full answer; to the headers for streams)",
      labelNames: ["service", "provider", "capability"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.gatewayTokens = new Counter({
      name: "kai_gateway_tokens_total",
      help: "Tokens reported by providers, by service and kind (prompt, completion)",
      labelNames: ["service", "kind"],
      registers,
      collect() {
        tokenCounts.flushInto(this);
      },
    });
    this.gatewayInFlight = new Gauge({
      name: "kai_gateway_in_flight",
      help: "Upstream calls in flight by service",
      labelNames: ["service"],
      registers,
      collect() {
        inFlight.flushInto(this);
      },
    });
    this.gatewayBreaker = new Gauge({ name: "kai_gateway_breaker_state", help: "Circuit breaker per service: 0 closed, 1 half-open, 2 open", labelNames: ["service"], registers });
    this.gatewaySkips = new Counter({ name: "kai_gateway_skips_total", help: "Candidates passed over without a call (breaker open, cooling down after 429, at its RPM/TPM limit)", labelNames: ["service", "reason"], registers });
    this.gatewayOverhead = new BufferedHistogram({ name: "kai_gateway_overhead_seconds", help: "Time the gateway itself adds per request (routing, auth, translation), excluding upstream time", buckets: LATENCY_BUCKETS, registers });
  }

  // The record… methods look their series up inline (no helper taking a closure): they run several times per request.

  /** One answered HTTP request (method, route pattern or `unmatched`, status) and its duration. */
  recordHttpRequest(method: string, route: string, status: number, seconds: number): void {
    let byRoute = this.httpSeries.get(method);
    if (!byRoute) this.httpSeries.set(method, (byRoute = new Map()));
    let series = byRoute.get(route);
    if (!series) byRoute.set(route, (series = { duration: this.httpDuration.add({ method, route }), byStatus: new Map() }));
    let count = series.byStatus.get(status);
    if (!count) series.byStatus.set(status, (count = this.httpCounts.entry(`${method}\u0000${route}\u0000${status}`, () => ({ method, route, status: String(status) }))));
    count.delta += 1;
    series.duration.observe(seconds);
  }

  /** An upstream call of the gateway started (`delta` 1) or ended (`delta` -1). */
  recordGatewayInFlight(service: string, delta: number): void {
    let entry = this.inFlightSeries.get(service);
    if (!entry) this.inFlightSeries.set(service, (entry = this.inFlight.entry(service, () => ({ service }))));
    entry.delta += delta;
  }

  /** One finished upstream call: its outcome, latency and the tokens the provider reported. */
  recordGatewayResult(service: string, provider: string, capability: string, outcome: string, seconds: number, promptTokens?: number, completionTokens?: number): void {
    let byProvider = this.gatewaySeries.get(service);
    if (!byProvider) this.gatewaySeries.set(service, (byProvider = new Map()));
    let byCapability = byProvider.get(provider);
    if (!byCapability) byProvider.set(provider, (byCapability = new Map()));
    let series = byCapability.get(capability);
    if (!series) byCapability.set(capability, (series = { duration: this.gatewayDuration.add({ service, provider, capability }), byOutcome: new Map(), prompt: null, completion: null }));
    let count = series.byOutcome.get(outcome);
    if (!count) {
      const key = `${service}\u0000${provider}\u0000${capability}\u0000${outcome}`;
      series.byOutcome.set(outcome, (count = this.gatewayCounts.entry(key, () => ({ service, provider, capability, outcome }))));
    }
    count.delta += 1;
    series.duration.observe(seconds);
    if (promptTokens) (series.prompt ??= this.tokenCounts.entry(`${service}\u0000prompt`, () => ({ service, kind: "prompt" }))).delta += promptTokens;
    if (completionTokens) (series.completion ??= this.tokenCounts.entry(`${service}\u0000completion`, () => ({ service, kind: "completion" }))).delta += completionTokens;
  }

  /** Registry state gauges, read when scraped. */
  observeRegistry(source: RegistryGaugeSource): void {
    const registers = [this.registry];
    new Gauge({
      name: "kai_registry_services",
      help: "Registered services by status",
      labelNames: ["status"],
      registers,
      async collect() {
        const counts = await source.servicesByStatus();
        for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
      },
    });
    new Gauge({ name: "kai_registry_revision", help: "Latest registry revision", registers, collect() { this.set(source.revision()); } });
    new Gauge({ name: "kai_registry_watchers", help: "Open /ws/registry subscribers", registers, collect() { this.set(source.watchers()); } });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
