/**
 * @module gateway/router/router-types
 * The router's public shapes: what a caller passes per request, what it gets back (the answer plus which
 * service gave it, the attempts made and the router's own overhead), and the observer hooks through
 * which metrics and usage recording watch traffic without sitting on the request path.
 */
import type { ChatCompletionChunk, ErrorCode, RoutingHints, RoutingStrategy, Usage } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { Cancellable } from "../cancel-signal.js";
import type { ChunkText } from "../connector.js";
import type { BreakerState } from "./circuit-breaker.js";

/** Per-request input common to `route` and `routeStream`. */
export interface RouteContext {
  /** Who asks: candidates are only services this principal may see. */
  readonly principal: Principal;
  readonly hints?: RoutingHints;
  /** Aborted when the client goes away: the upstream call is cancelled and failover stops. */
  readonly signal?: AbortSignal;
  /** The same as `signal`, in the cheaper form the front doors use (one of the two is enough; `cancel` wins). */
  readonly cancel?: Cancellable;
  /** Our request id, forwarded upstream as X-Request-Id. */
  readonly requestId?: string;
  /** Overrides the capability the operation implies (e.g. a custom capability served by an OpenAI-compatible service). */
  readonly capability?: string;
}

/** Why a candidate was passed over without a call. */
export type SkipReason = "breaker_open" | "cooling_down" | "rpm" | "tpm" | "concurrency";

/** One step of a routed request, in order. */
export interface AttemptInfo {
  readonly serviceId: string;
  readonly provider: string;
  /** `ok`, `error` (with `code`), `skipped` (with `reason`), or `cancelled`. */
  readonly outcome: "ok" | "error" | "skipped" | "cancelled";
  readonly code?: string;
  readonly reason?: SkipReason;
  /** Time spent on this attempt upstream (request to answer / first chunk), ms. */
  readonly latencyMs?: number;
}

/** What the front door reports with every answer. */
export interface RouteMeta {
  readonly serviceId: string;
  readonly provider: string;
  /** The model as sent upstream (a `<serviceId>/` prefix removed). */
  readonly model?: string;
  readonly attempts: readonly AttemptInfo[];
  /** Router time that was not spent waiting upstream or backing off, ms. For streams: up to the first chunk. */
  readonly overheadMs: number;
}

export interface RouteResult<T> extends RouteMeta {
  readonly data: T;
  readonly usage?: Usage;
  /** Upstream latency of the successful attempt, ms. */
  readonly latencyMs: number;
  /** The provider's own JSON text of `data` when it can be sent as it is (`ConnectorResult.text`). */
  readonly text?: string;
}

/**
 * A routed chat stream. The upstream already answered 2xx and its first chunk is in hand (failover is over).
 * Iterate it once, or `cancel()` it (until then it counts as in flight). If the stream breaks, the iterator
 * throws an `UpstreamError` — it never ends as if complete.
 * Leaving the loop early (or `cancel()`) closes the upstream connection.
 */
export interface RoutedStream extends RouteMeta, AsyncIterable<ChatCompletionChunk> {
  /** Usage as the provider reported it, once the stream completed. */
  usage(): Usage | undefined;
  /** The chunk last yielded, as the provider wrote it (`ConnectorStream.lastChunk`): read it right after each `next()`. */
  readonly lastChunk: ChunkText;
  cancel(): void;
}

/** An attempt is about to be sent. */
export interface AttemptEvent {
  readonly requestId?: string;
  readonly serviceId: string;
  readonly provider: string;
  readonly capability: string;
  readonly operation: string;
  readonly model?: string;
  /** 1 for the first call to this service within the request, 2 for its first retry, … */
  readonly attempt: number;
}

/** An attempt ended (for streams: when the stream ended, or failed before its first chunk). */
export interface ResultEvent extends AttemptEvent {
  readonly outcome: "ok" | "error" | "cancelled";
  readonly code?: ErrorCode;
  readonly latencyMs: number;
  readonly usage?: Usage;
  readonly streamed: boolean;
}

export interface BreakerEvent {
  readonly serviceId: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
}

/**
 * Watches routed traffic. Calls are made after the fact on a microtask, in try/catch: an observer cannot
 * slow or fail a request, but it must stay cheap (buffer, then write elsewhere).
 */
export interface RouterObserver {
  onAttempt?(event: AttemptEvent): void;
  onResult?(event: ResultEvent): void;
  onSkip?(event: { readonly serviceId: string; readonly reason: SkipReason; readonly requestId?: string }): void;
  onBreakerChange?(event: BreakerEvent): void;
}

/** The router's settings (from the `gateway` config section; see `routerOptionsFromConfig`). */
export interface RouterOptions {
  readonly defaultStrategy: RoutingStrategy;
  readonly deadlineMs: number;
  readonly attemptTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  /** Most bytes of one upstream answer (or one stream event/line) held in memory; see `CallContext.maxResponseBytes`. */
  readonly maxResponseBytes: number;
  readonly retries: number;
  readonly retryOn: readonly ErrorCode[];
  readonly failoverOn: readonly ErrorCode[];
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly breaker: { readonly failureThreshold: number; readonly openMs: number; readonly maxOpenMs: number; readonly probeIntervalMs: number };
  readonly rateLimitCooldownMs: number;
  readonly modelRefreshMs: number;
  readonly credentialCacheMs: number;
  readonly latencyEwmaAlpha: number;
}
