/**
 * @module gateway/router/capability-router
 * `CapabilityRouter`: finds the services that offer a capability, orders them by strategy and
 * hints, and executes the request with the service's credential, failing over within one deadline.
 * It composes the directory (registry mirror), model catalog, credentials, per-service stats and the
 * execution loop; the front doors call `route` / `routeStream` and report the returned metadata.
 */
import type { RateLimits } from "../../cluster/limits/limit-types.js";
import { SharedServiceWindows } from "../../cluster/limits/service-windows.js";
import type { ChatCompletionChunk, ChatCompletionRequest, ConnectorList, RoutingHints, ServiceCheckResponse, Usage } from "@kai/protocol";
import { ApiError, notFound } from "../../errors.js";
import { viewerOf, type Principal } from "../../auth/principal.js";
import type { ChangeFeed } from "../../registry/change-feed.js";
import type { NodeStore } from "../../storage/contracts/node-store.js";
import { canSee } from "../../storage/contracts/viewer.js";
import type { Vault } from "../../vault/vault.js";
import { cancellableOf } from "../cancel-signal.js";
import type { CallContext, Connector, ConnectorLogger, ConnectorOperation, HealthResult } from "../connector.js";
import { getConnector } from "../connectors/index.js";
import { describeConnectors } from "../connectors/catalog.js";
import { modelNotFoundMessage, selectCandidates, type CandidateQuery, type CandidateSources } from "./candidates.js";
import { CredentialResolver } from "./credentials.js";
import { ModelCatalog, type CatalogEntry } from "./model-catalog.js";
import { INVOKERS, MODEL_OPERATIONS, OPERATION_CAPABILITY, UNSAFE_TO_RETRY, modelOf, type RequestOf, type ResponseOf, type RouteOperation } from "./operations.js";
import { RouteExecution, type ExecutionDeps, type ExecutionInfo } from "./route-execution.js";
import type { RouteContext, RouteResult, RoutedStream, RouterObserver, RouterOptions } from "./router-types.js";
import { ServiceDirectory } from "./service-directory.js";
import { ServiceStatsTable, type ServiceStats } from "./service-stats.js";
import { relayStream, type OpenedStream } from "./stream-relay.js";

export interface CapabilityRouterDeps {
  readonly store: NodeStore;
  readonly feed: ChangeFeed;
  readonly options: RouterOptions;
  readonly vault?: Vault;
  /** Where `env:NAME` credentials are read (the server's environment). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly observer?: RouterObserver;
  readonly logger?: ConnectorLogger;
  /** Connector lookup by provider id; defaults to the built-in registry (`connectors/index.ts`). */
  readonly connectorFor?: (provider: string | undefined) => Connector | undefined;
  readonly now?: () => number;
  /** Where per-service RPM/TPM windows are counted: shared by every instance of the node when `limits.shared`. */
  readonly limits?: RateLimits;
}

/** A model some visible service serves (for `GET /v1/models`). */
export interface RoutableModel extends CatalogEntry {
  readonly provider: string;
}

export class CapabilityRouter {
  private readonly directory: ServiceDirectory;
  private readonly catalog: ModelCatalog;
  private readonly credentials: CredentialResolver;
  private readonly stats: ServiceStatsTable;
  private readonly connectorFor: (provider: string | undefined) => Connector | undefined;
  private readonly now: () => number;
  private readonly execution: ExecutionDeps;
  private readonly sources: CandidateSources;
  private prober: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: CapabilityRouterDeps) {
    const { options } = deps;
    this.now = deps.now ?? Date.now;
    this.connectorFor = deps.connectorFor ?? ((provider) => (provider ? getConnector(provider) : undefined));
    this.directory = new ServiceDirectory(deps.store, deps.feed);
    this.credentials = new CredentialResolver({ ...(deps.vault ? { vault: deps.vault } : {}), env: deps.env ?? process.env, cacheMs: options.credentialCacheMs, now: this.now });
    this.catalog = new ModelCatalog({
      directory: this.directory,
      connectorFor: this.connectorFor,
      credentials: this.credentials,
      refreshMs: options.modelRefreshMs,
      maxResponseBytes: options.maxResponseBytes,
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
    this.stats = new ServiceStatsTable(options.breaker, options.latencyEwmaAlpha, (serviceId, from, to) => {
      deps.logger?.warn({ serviceId, from, to }, "circuit breaker changed state");
      const observer = deps.observer;
      if (observer?.onBreakerChange) queueMicrotask(() => {
        try {
          observer.onBreakerChange?.({ serviceId, from, to });
        } catch {
          // Observers cannot affect routing.
        }
      });
    }, deps.limits?.shared ? new SharedServiceWindows(deps.limits, deps.logger) : undefined);
    this.execution = {
      options,
      stats: this.stats,
      credentials: this.credentials,
      catalog: this.catalog,
      now: this.now,
      ...(deps.observer ? { observer: deps.observer } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    };
    this.sources = { directory: this.directory, catalog: this.catalog, stats: this.stats, connectorFor: this.connectorFor };
  }

  /** Loads the registry, starts following its changes, fetches model lists and starts the breaker prober. */
  async start(): Promise<void> {
    await this.directory.start();
    this.unsubscribe = this.directory.subscribe(({ serviceId, previous, current }) => {
      if (!current || (previous && (previous.url !== current.url || previous.provider !== current.provider))) this.stats.delete(serviceId);
      if (previous?.auth.credentialRef && previous.auth.credentialRef !== current?.auth.credentialRef) this.credentials.forget(previous.auth.credentialRef);
      // The registry's health check brought it back: let its breaker probe now instead of waiting out the period.
      if (current && previous?.status === "offline" && current.status !== "offline") this.stats.peek(serviceId)?.breaker.healthy(this.now());
    });
    this.catalog.start();
    const every = this.deps.options.breaker.probeIntervalMs;
    if (every > 0) {
      this.prober = setInterval(() => void this.probeOpenBreakers(), every);
      this.prober.unref();
    }
  }

  stop(): void {
    if (this.prober) clearInterval(this.prober);
    this.prober = null;
    this.unsubscribe?.();
    this.catalog.stop();
    this.directory.stop();
  }

  /** Routes one non-streaming request; throws an `ApiError` (see `attemptsOf` for the attempts behind it). */
  async route<O extends RouteOperation>(operation: O, request: RequestOf<O>, context: RouteContext): Promise<RouteResult<ResponseOf<O>>> {
    const capability = context.capability ?? OPERATION_CAPABILITY[operation];
    const execution = this.startExecution(operation, capability, request, context);
    try {
      const selection = await this.select(operation, capability, request, context, execution);
      const outbound = this.outbound(request, selection.model, operation);
      const invoke = INVOKERS[operation];
      const running = execution.run(selection.candidates, async (candidate, call) => {
        const pending = invoke(candidate.connector, outbound, call);
        if (!pending) throw new Error(`connector ${candidate.connector.id} lists ${operation} but does not implement it`);
        const result = await pending;
        const outcome: { value: ResponseOf<O>; latencyMs: number; usage?: Usage; text?: string } = { value: result.data, latencyMs: result.latencyMs };
        if (result.usage) outcome.usage = result.usage;
        if (result.text !== undefined) outcome.text = result.text;
        return outcome;
      });
      const success = await (selection.unconfirmedModel ? running.catch((error: unknown) => unconfirmedModelError(error, selection.model)) : running);
      // Field by field rather than conditional spreads: this runs for every request (spreads showed in profiles).
      const routed: Mutable<RouteResult<ResponseOf<O>>> = {
        data: success.value,
        serviceId: success.candidate.record.id,
        provider: success.candidate.connector.id,
        latencyMs: success.latencyMs,
        attempts: execution.attempts,
        overheadMs: execution.overheadMs(),
      };
      if (selection.model !== undefined) routed.model = selection.model;
      if (success.usage) routed.usage = success.usage;
      if (success.text !== undefined) routed.text = success.text;
      return routed;
    } finally {
      execution.close();
    }
  }

  /**
   * Routes a streaming chat completion. Failover is free until a candidate's upstream answered 2xx and
   * sent its first chunk; the returned stream then belongs to that service (see `RoutedStream`).
   */
  async routeStream(request: ChatCompletionRequest, context: RouteContext): Promise<RoutedStream> {
    const operation: ConnectorOperation = "chat_stream";
    const capability = context.capability ?? OPERATION_CAPABILITY.chat_stream;
    const execution = this.startExecution(operation, capability, request, context);
    try {
      const selection = await this.select(operation, capability, request, context, execution);
      const outbound = this.outbound(request, selection.model, operation);
      const running = execution.run(
        selection.candidates,
        async (candidate, call): Promise<{ value: OpenedStream; latencyMs: number }> => {
          const started = performance.now();
          const open = candidate.connector.chatStream;
          if (!open) throw new Error(`connector ${candidate.connector.id} lists chat_stream but does not implement it`);
          const stream = await open.call(candidate.connector, outbound, call);
          const iterator = stream[Symbol.asyncIterator]();
          let first: IteratorResult<ChatCompletionChunk>;
          try {
            first = await iterator.next();
          } catch (error) {
            stream.cancel();
            throw error;
          }
          return { value: { stream, iterator, first, secrets: secretsOf(call) }, latencyMs: performance.now() - started };
        },
        true,
      );
      const success = await (selection.unconfirmedModel ? running.catch((error: unknown) => unconfirmedModelError(error, selection.model)) : running);
      return relayStream({
        execution,
        candidate: success.candidate,
        event: execution.event(success.candidate, success.attempt),
        opened: success.value,
        firstChunkMs: success.latencyMs,
        ...(selection.model !== undefined ? { model: selection.model } : {}),
      });
    } catch (error) {
      execution.close();
      throw error;
    }
  }

  /** The models the principal's visible, routable services serve (declared and listed). */
  models(principal: Principal, capability?: string): RoutableModel[] {
    const viewer = viewerOf(principal);
    const providers = new Map<string, string>();
    for (const record of this.directory.all()) {
      if (!canSee(viewer, record) || record.status === "offline" || record.status === "maintenance") continue;
      if (capability !== undefined && !record.capabilities.includes(capability)) continue;
      providers.set(record.id, record.provider ?? "");
    }
    return this.catalog.entries(providers.keys()).map((entry) => ({ ...entry, provider: providers.get(entry.serviceId)! }));
  }

  /** Per-service runtime state for `/metrics` and status pages. */
  serviceStats(): ServiceStats[] {
    return this.stats.snapshot(this.now());
  }

  /** Feeds a health-check result into the service's breaker (failures count like failed requests). */
  reportHealth(serviceId: string, result: Pick<HealthResult, "ok">): void {
    const runtime = this.stats.get(serviceId);
    if (result.ok) runtime.breaker.healthy(this.now());
    else runtime.breaker.failure(this.now());
  }

  /**
   * A live probe of one service the principal may see: its health endpoint through its connector and, when
   * healthy, the models it lists (which also refreshes the catalog). The result feeds the service's breaker.
   * Throws only `not_found`; a failing service is an answer with `ok: false`.
   */
  /** The connectors this node has and the request parameters each honours per operation (`GET /api/connectors`). */
  connectors(): ConnectorList {
    return describeConnectors();
  }

  async checkService(principal: Principal, serviceId: string, signal?: AbortSignal): Promise<ServiceCheckResponse> {
    const record = this.directory.get(serviceId);
    if (!record || !canSee(viewerOf(principal), record)) throw notFound("service");
    const connector = this.connectorFor(record.provider);
    const base = { serviceId, ...(record.provider !== undefined ? { provider: record.provider } : {}) };
    if (!connector || !record.url) {
      return { ...base, ok: false, latencyMs: 0, code: "capability_not_found", message: record.url ? `no connector for provider ${record.provider ?? "(none)"}` : "the service has no url" };
    }
    const started = performance.now();
    try {
      const auth = await this.credentials.resolve(record);
      const context: CallContext = {
        target: { baseUrl: record.url, ...(auth.credential !== undefined ? { credential: auth.credential } : {}), ...(auth.headers ? { headers: auth.headers } : {}) },
        timeoutMs: 10_000,
        maxResponseBytes: this.deps.options.maxResponseBytes,
        ...(signal ? { signal } : {}),
      };
      const health = await connector.health(context);
      this.reportHealth(serviceId, health);
      if (!health.ok) return { ...base, ok: false, latencyMs: health.latencyMs, ...(health.code ? { code: health.code } : {}), ...(health.message ? { message: health.message } : {}) };
      let models: string[] | undefined;
      try {
        models = (await connector.listModels(context)).map((model) => model.id);
        void this.catalog.refresh(serviceId);
      } catch {
        // Healthy but without a model list (or none to give): the check still passed.
      }
      return { ...base, ok: true, latencyMs: health.latencyMs, ...(models ? { models } : {}) };
    } catch (error) {
      const failure = error instanceof ApiError ? error : new ApiError("upstream_error", "the probe failed");
      return { ...base, ok: false, latencyMs: performance.now() - started, code: failure.code, message: failure.message };
    }
  }

  /**
   * The router's credential resolver, for other parts that call a registered service with its credential (the
   * memory's connector index): one cache, so a key the gateway forgets after `upstream_auth_failed` is forgotten for
   * them too, and theirs for the gateway.
   */
  credentialResolver(): Pick<CredentialResolver, "resolve" | "forget"> {
    return this.credentials;
  }

  /** Drops cached credentials (e.g. after the vault was locked or a secret rotated). */
  forgetCredentials(credentialRef?: string): void {
    this.credentials.forget(credentialRef);
  }

  /** Resolves once the service's model list fetch (after registration or a change) is done. */
  modelsReady(serviceId: string): Promise<void> {
    return this.catalog.ready(serviceId);
  }

  /** Fetches a service's model list again now. */
  refreshModels(serviceId: string): Promise<void> {
    return this.catalog.refresh(serviceId);
  }

  private startExecution(operation: ConnectorOperation, capability: string, request: unknown, context: RouteContext): RouteExecution {
    const model = modelOf(request);
    const info: Mutable<ExecutionInfo> = { operation, capability, unsafe: UNSAFE_TO_RETRY.has(operation) };
    if (model !== undefined) info.model = model;
    if (context.requestId !== undefined) info.requestId = context.requestId;
    if (context.cancel) info.cancel = context.cancel;
    else if (context.signal) info.cancel = cancellableOf(context.signal);
    return new RouteExecution(this.execution, info);
  }

  private select(operation: ConnectorOperation, capability: string, request: unknown, context: RouteContext, execution: RouteExecution) {
    const model = MODEL_OPERATIONS.has(operation) ? modelOf(request) : undefined;
    const hints: RoutingHints = context.hints ?? {};
    const query: Mutable<CandidateQuery> = { viewer: viewerOf(context.principal), operation, capability, hints, defaultStrategy: this.deps.options.defaultStrategy, cancel: execution.cancellation };
    if (model !== undefined) query.model = model;
    return selectCandidates(this.sources, query);
  }

  /** The request as sent upstream: a pinned `<serviceId>/<model>` loses its prefix. */
  private outbound<T>(request: T, model: string | undefined, operation: ConnectorOperation): T {
    if (!MODEL_OPERATIONS.has(operation) || model === undefined || modelOf(request) === model) return request;
    return { ...request, model };
  }

  /** While a service's breaker is open, its health endpoint decides whether a probe request may go early. */
  private async probeOpenBreakers(): Promise<void> {
    const now = this.now();
    for (const stats of this.stats.snapshot(now)) {
      if (stats.breaker !== "open") continue;
      const record = this.directory.get(stats.serviceId);
      const connector = this.connectorFor(record?.provider);
      if (!record?.url || !connector) continue;
      try {
        const auth = await this.credentials.resolve(record);
        const context: CallContext = {
          target: { baseUrl: record.url, ...(auth.credential !== undefined ? { credential: auth.credential } : {}), ...(auth.headers ? { headers: auth.headers } : {}) },
          timeoutMs: 5_000,
          maxResponseBytes: this.deps.options.maxResponseBytes,
        };
        const result = await connector.health(context);
        if (result.ok) this.stats.peek(record.id)?.breaker.healthy(this.now());
      } catch {
        // No credential, no probe: the breaker's own period still applies.
      }
    }
  }
}

/** Failures that are answers about the request itself: they stand even when no service was known to serve the model. */
const ABOUT_THE_REQUEST: ReadonlySet<string> = new Set(["request_cancelled", "upstream_bad_request", "validation_failed"]);

/**
 * No service was known to serve the model, and the services whose model list is unknown (one whose credential is
 * missing, say) did not take the request either: what the caller needs to hear is that the model is not served
 * here, not an unrelated service's failure (which is logged per attempt).
 */
function unconfirmedModelError(error: unknown, model: string | undefined): never {
  if (model === undefined || (error instanceof ApiError && ABOUT_THE_REQUEST.has(error.code))) throw error;
  throw new ApiError("model_not_found", modelNotFoundMessage(model));
}

function secretsOf(context: CallContext): string[] {
  const out: string[] = [];
  if (context.target.credential) out.push(context.target.credential);
  for (const value of Object.values(context.target.headers ?? {})) {
    out.push(value);
    const basic = /^Basic\s+(.+)$/i.exec(value);
    if (basic?.[1]) out.push(basic[1], Buffer.from(basic[1], "base64").toString("utf8"));
  }
  return out;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
