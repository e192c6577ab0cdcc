/**
 * @module gateway/router/route-execution
 * One routed request from first attempt to answer: the single retry-and-failover loop of the gateway.
 * It holds one deadline across every retry, backoff and fallback; links the caller's AbortSignal so a
 * client that leaves cancels the upstream call and stops failover; asks each candidate's breaker,
 * cooldown and rate limits before calling (a service at its limit is skipped, not hammered); retries on
 * the same service only for `retryOn` codes, with jittered exponential backoff that must fit in the
 * deadline; then moves on for `failoverOn` codes; and feeds every outcome back into the service's stats.
 * When the node runs as several instances, a service's RPM/TPM are asked of the node-wide windows right
 * before the attempt is sent (one round trip; `ServiceStatsTable.shared`), and its tokens are added to them
 * after the answer; on a single instance both stay in memory, with no await added to the attempt.
 *
 * Backoff delays come from cockatiel's `ExponentialBackoff` (decorrelated jitter). Its `RetryPolicy` is
 * not used: a retry here must re-check the breaker, cooldown and rate limit of the service, fit in the
 * request-wide deadline, and hand over to the next candidate instead of giving up, which is this loop.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ExponentialBackoff, type IBackoff } from "cockatiel";
import { ERROR_TRAITS, type Usage } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import { CancelSignal, type Cancellable } from "../cancel-signal.js";
import type { CallContext, ConnectorLogger, UpstreamTarget } from "../connector.js";
import { UpstreamError, redact } from "../upstream/upstream-error.js";
import type { Candidate } from "./candidates.js";
import type { CredentialResolver, ResolvedAuth } from "./credentials.js";
import type { ModelCatalog } from "./model-catalog.js";
import type { AttemptEvent, AttemptInfo, ResultEvent, RouterObserver, RouterOptions, SkipReason } from "./router-types.js";
import type { ServiceStatsTable } from "./service-stats.js";
import type { ServiceLimitRefusal, SharedServiceWindows } from "../../cluster/limits/service-windows.js";
import { inSpan, SpanKind, tracingOf } from "../../tracing/spans.js";

export interface ExecutionDeps {
  readonly options: RouterOptions;
  readonly stats: ServiceStatsTable;
  readonly credentials: CredentialResolver;
  readonly catalog: ModelCatalog;
  readonly observer?: RouterObserver;
  readonly logger?: ConnectorLogger;
  readonly now: () => number;
}

export interface ExecutionInfo {
  readonly operation: string;
  readonly capability: string;
  readonly model?: string;
  readonly requestId?: string;
  /** The caller's cancellation (client gone): stops the upstream call and failover. */
  readonly cancel?: Cancellable;
  /** The operation has side effects: no retry or failover once the request may have reached the provider. */
  readonly unsafe: boolean;
}

/** What one successful attempt produced. */
export interface AttemptOutcome<T> {
  readonly value: T;
  readonly latencyMs: number;
  readonly usage?: Usage;
  /** The provider's own text of `value`, when it can be relayed as it is (`ConnectorResult.text`). */
  readonly text?: string;
}

/** Calls one candidate (the executor has resolved the credential and built the call context). */
export type AttemptCall<T> = (candidate: Candidate, context: CallContext) => Promise<AttemptOutcome<T>>;

export interface Success<T> extends AttemptOutcome<T> {
  readonly candidate: Candidate;
  readonly attempt: number;
}

/** Placeholder until the credential is resolved (compared by identity). */
const NO_AUTH: ResolvedAuth = { secrets: [] };
/** Timers may fire a millisecond or two before the wall clock reaches their mark. */
const TIMER_SLACK_MS = 5;

const attemptsKey = new WeakMap<object, readonly AttemptInfo[]>();

/** `retryOn` / `failoverOn` as sets, built once per options object rather than once per request. */
const codeSets = new WeakMap<RouterOptions, { retryOn: ReadonlySet<string>; failoverOn: ReadonlySet<string> }>();
function codeSetsOf(options: RouterOptions): { retryOn: ReadonlySet<string>; failoverOn: ReadonlySet<string> } {
  let sets = codeSets.get(options);
  if (!sets) codeSets.set(options, (sets = { retryOn: new Set(options.retryOn), failoverOn: new Set(options.failoverOn) }));
  return sets;
}

function onDeadline(execution: RouteExecution): void {
  execution.expire();
}

/** The attempts behind a routing error (for logs and response headers), when the router threw it. */
export function attemptsOf(error: unknown): readonly AttemptInfo[] | undefined {
  return error !== null && typeof error === "object" ? attemptsKey.get(error) : undefined;
}

/** Scrubs every form of the credential from an error's message (connectors only know the plain `credential`). */
function scrub(error: ApiError, secrets: readonly string[]): ApiError {
  let message = error.message;
  for (const secret of secrets) message = redact(message, secret);
  if (message === error.message) return error;
  if (error instanceof UpstreamError) {
    return new UpstreamError(error.code, message, { upstreamStatus: error.upstreamStatus, retryAfterSeconds: error.retryAfterSeconds });
  }
  return new ApiError(error.code, message, error.details, error.headers);
}

export class RouteExecution {
  readonly attempts: AttemptInfo[] = [];
  /** Fires on client disconnect or deadline; every upstream call of this request listens to it. */
  private readonly cancel = new CancelSignal();
  private why: "cancelled" | "deadline" | undefined;
  private readonly startedAt = performance.now();
  private readonly deadlineAt: number;
  private deadlineTimer: NodeJS.Timeout | null;
  /** Time spent waiting upstream or backing off: not the router's own overhead. */
  private waitedMs = 0;
  private detachCaller: (() => void) | undefined;
  private readonly retryOn: ReadonlySet<string>;
  private readonly failoverOn: ReadonlySet<string>;

  constructor(
    private readonly deps: ExecutionDeps,
    readonly info: ExecutionInfo,
  ) {
    this.deadlineAt = deps.now() + deps.options.deadlineMs;
    this.deadlineTimer = setTimeout(onDeadline, deps.options.deadlineMs, this);
    this.deadlineTimer.unref();
    if (info.cancel?.aborted) this.abort("cancelled");
    else if (info.cancel) this.detachCaller = info.cancel.onAbort(() => this.abort("cancelled"));
    ({ retryOn: this.retryOn, failoverOn: this.failoverOn } = codeSetsOf(deps.options));
  }

  /** Aborted on client disconnect or deadline, as a web AbortSignal (created on first use). */
  get signal(): AbortSignal {
    return this.cancel.signal;
  }

  /** The same cancellation, cheap to listen to. */
  get cancellation(): Cancellable {
    return this.cancel;
  }

  /** The deadline passed (called by the deadline timer). */
  expire(): void {
    this.abort("deadline");
  }

  /** Router time so far that was not upstream waiting or backoff, ms. */
  overheadMs(): number {
    return Math.max(0, performance.now() - this.startedAt - this.waitedMs);
  }

  /** The deadline no longer applies (a stream is handed out); the caller's signal still does. */
  endDeadline(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
  }

  /** Detaches from the caller's signal and stops the deadline (the request is over). */
  close(): void {
    this.endDeadline();
    this.detachCaller?.();
    this.detachCaller = undefined;
  }

  /**
   * Tries the candidates in order until one answers. With `defer`, a success is not yet recorded (a stream
   * settles later through `settle`), and the candidate stays counted in flight until then.
   */
  async run<T>(candidates: readonly Candidate[], call: AttemptCall<T>, defer = false): Promise<Success<T>> {
    let lastError: ApiError | undefined;
    let limitWait: number | undefined;
    let unavailableWait: number | undefined;
    let backoff: IBackoff<unknown> | undefined;
    for (const candidate of candidates) {
      const { record, runtime } = candidate;
      for (let attempt = 1; ; attempt++) {
        this.throwIfStopped();
        const now = this.deps.now();
        const skip = this.gate(candidate, now);
        if (skip) {
          if (skip.reason === "rpm" || skip.reason === "tpm" || skip.reason === "concurrency") limitWait = Math.min(limitWait ?? Infinity, skip.waitMs);
          else unavailableWait = Math.min(unavailableWait ?? Infinity, skip.waitMs);
          break;
        }
        // Most attempts find their credential cached (or need none): no promise, no await for those.
        let auth: ResolvedAuth = this.deps.credentials.resolveCached(record) ?? NO_AUTH;
        try {
          if (auth === NO_AUTH) auth = await this.deps.credentials.resolve(record);
        } catch (error) {
          runtime.breaker.release();
          const failure = error instanceof ApiError ? error : new ApiError("credential_unavailable", `the credential of service ${record.id} is unavailable`);
          this.attempts.push({ serviceId: record.id, provider: candidate.connector.id, outcome: "error", code: failure.code });
          this.deps.logger?.warn({ serviceId: record.id, code: failure.code, requestId: this.info.requestId }, "could not resolve the service's credential");
          lastError = failure;
          if (this.failoverOn.has(failure.code)) break;
          throw this.tag(failure);
        }

        // Several instances: the service's node-wide RPM/TPM windows, asked last, right before sending.
        const shared = this.deps.stats.shared;
        if (shared !== undefined && shared.applies(record)) {
          const refusal = await this.askShared(shared, candidate);
          if (refusal) {
            runtime.breaker.release();
            this.skipped(candidate, refusal.limit);
            limitWait = Math.min(limitWait ?? Infinity, refusal.waitMs);
            break;
          }
          if (this.why || this.deps.now() >= this.deadlineAt) {
            // The client left (or time ran out) while the windows answered: the request taken was not used.
            shared.release(record);
            runtime.breaker.release();
            this.throwIfStopped();
          }
        }

        const event = this.event(candidate, attempt);
        this.emit((observer) => observer.onAttempt?.(event));
        runtime.inFlight++;
        runtime.requests++;
        runtime.requestWindow.add(1, now);
        const started = performance.now();
        let outcome: AttemptOutcome<T>;
        try {
          // A span per attempt when the request is traced (its `traceparent` goes to the provider: upstream-request.ts).
          const tracing = tracingOf();
          outcome = tracing
            ? await inSpan(tracing, "gateway.attempt", { kind: SpanKind.CLIENT, attributes: { "kai.service_id": record.id, "kai.provider": candidate.connector.id, "kai.attempt": attempt, "kai.operation": this.info.operation } }, () => call(candidate, this.context(record.url!, auth)))
            : await call(candidate, this.context(record.url!, auth));
        } catch (caught) {
          const elapsed = performance.now() - started;
          this.waitedMs += elapsed;
          runtime.inFlight--;
          const failure = this.classify(caught, auth);
          this.recordFailure(candidate, failure, elapsed, event, false);
          lastError = failure;
          if (failure.code === "request_cancelled" || this.why) throw this.tag(failure);
          // Nothing reached the provider (`ERROR_TABLE`'s `nothingSent`): safe even for an operation with side effects.
          const nothingSent = ERROR_TRAITS[failure.code]?.nothingSent === true;
          const sideEffectsSafe = !this.info.unsafe || nothingSent;
          if (attempt <= this.deps.options.retries && sideEffectsSafe && this.retryOn.has(failure.code)) {
            backoff = backoff ? backoff.next(undefined) : new ExponentialBackoff({ initialDelay: this.deps.options.backoff.initialMs, maxDelay: this.deps.options.backoff.maxMs }).next();
            const delay = backoff.duration;
            // A retry that cannot finish before the deadline only delays the fallback.
            if (this.deps.now() + delay < this.deadlineAt && this.mayRetry(candidate, this.deps.now() + delay)) {
              await this.pause(delay);
              continue;
            }
          }
          if (sideEffectsSafe && this.failoverOn.has(failure.code)) break;
          throw this.tag(failure);
        }
        const latencyMs = performance.now() - started;
        this.waitedMs += latencyMs;
        this.attempts.push({ serviceId: record.id, provider: candidate.connector.id, outcome: "ok", latencyMs: Math.round(latencyMs) });
        if (!defer) {
          runtime.inFlight--;
          this.settleSuccess(candidate, event, outcome.latencyMs, outcome.usage, false);
        }
        // Field by field: spreading `outcome` (whose shape varies with `usage`) cost ~1 µs per request in profiles.
        const success: Mutable<Success<T>> = { value: outcome.value, latencyMs: outcome.latencyMs, candidate, attempt };
        if (outcome.usage) success.usage = outcome.usage;
        if (outcome.text !== undefined) success.text = outcome.text;
        return success;
      }
    }
    if (lastError) throw this.tag(lastError);
    if (limitWait !== undefined) {
      throw this.tag(new ApiError("services_rate_limited", "every service that could take this request is at its rate limit", undefined, retryAfter(limitWait)));
    }
    throw this.tag(
      new ApiError("no_service_available", "every service that could take this request is cooling down or has an open circuit breaker", undefined, retryAfter(unavailableWait ?? 1000)),
    );
  }

  /** Records a deferred (streamed) attempt's success. */
  settleSuccess(candidate: Candidate, event: AttemptEvent, latencyMs: number, usage: Usage | undefined, streamed: boolean): void {
    const { runtime } = candidate;
    runtime.breaker.success();
    this.deps.stats.recordLatency(runtime, latencyMs);
    if (usage?.total_tokens) {
      runtime.tokenWindow.add(usage.total_tokens, this.deps.now());
      this.deps.stats.shared?.charge(candidate.record, usage.total_tokens);
    }
    const result = resultOf(event, "ok", latencyMs, streamed);
    if (usage) result.usage = usage;
    this.emit((observer) => observer.onResult?.(result));
  }

  /** Records a failed or cancelled attempt (a stream that broke after its first chunk, or any call). */
  recordFailure(candidate: Candidate, failure: ApiError, latencyMs: number, event: AttemptEvent, streamed: boolean): void {
    const { record, runtime } = candidate;
    const now = this.deps.now();
    const cancelled = failure.code === "request_cancelled";
    this.attempts.push({ serviceId: record.id, provider: candidate.connector.id, outcome: cancelled ? "cancelled" : "error", code: failure.code, latencyMs: Math.round(latencyMs) });
    // Our own deadline or the client leaving says nothing about the service.
    if (cancelled || this.why) runtime.breaker.release();
    // Only failures that say something about the service's health (`ERROR_TABLE`'s `serviceFault`) count against it.
    else if (ERROR_TRAITS[failure.code]?.serviceFault) {
      runtime.failures++;
      runtime.breaker.failure(now);
    } else runtime.breaker.release();
    const retryAfterSeconds = failure instanceof UpstreamError ? failure.retryAfterSeconds : undefined;
    if (failure.code === "upstream_rate_limited" || retryAfterSeconds !== undefined) {
      runtime.cooldownUntil = Math.max(runtime.cooldownUntil, now + (retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : this.deps.options.rateLimitCooldownMs));
    }
    if (failure.code === "model_not_found") void this.deps.catalog.refresh(record.id);
    if (failure.code === "upstream_auth_failed" && record.auth.credentialRef) this.deps.credentials.forget(record.auth.credentialRef);
    if (!cancelled) {
      this.deps.logger?.warn({ serviceId: record.id, provider: candidate.connector.id, code: failure.code, attempt: event.attempt, requestId: this.info.requestId, streamed }, "routed attempt failed");
    }
    const result = resultOf(event, cancelled ? "cancelled" : "error", latencyMs, streamed);
    result.code = failure.code;
    this.emit((observer) => observer.onResult?.(result));
  }

  /** The error a failed call amounts to, with our abort reasons applied and every credential form scrubbed. */
  classify(caught: unknown, auth: ResolvedAuth): ApiError {
    // An attempt's own timeout is capped at the time left, so it and the deadline's timer fire together and
    // either may win the race: a timeout at the deadline is the deadline (no retry fits; the service is not blamed).
    if (!this.why && caught instanceof ApiError && caught.code === "upstream_timeout" && this.deadlineAt - this.deps.now() <= TIMER_SLACK_MS) {
      this.abort("deadline");
    }
    if (this.why === "deadline") return new UpstreamError("upstream_timeout", `no service answered within the gateway's deadline of ${this.deps.options.deadlineMs} ms`);
    if (this.why === "cancelled") return new UpstreamError("request_cancelled", "the client went away; the request was cancelled");
    if (caught instanceof ApiError) return scrub(caught, auth.secrets);
    // A connector that throws something else has a bug; the service is not at fault, but the request failed.
    this.deps.logger?.warn({ requestId: this.info.requestId, error: caught instanceof Error ? caught.name : typeof caught }, "a connector failed unexpectedly");
    return new UpstreamError("upstream_invalid_response", "the provider's answer could not be processed");
  }

  event(candidate: Candidate, attempt: number): AttemptEvent {
    // Built by assignment, not conditional spreads: this runs for every attempt, and the spreads showed in profiles.
    const event: Mutable<AttemptEvent> = { serviceId: candidate.record.id, provider: candidate.connector.id, capability: this.info.capability, operation: this.info.operation, attempt };
    if (this.info.requestId !== undefined) event.requestId = this.info.requestId;
    if (this.info.model !== undefined) event.model = this.info.model;
    return event;
  }

  /** Hands observer work to a microtask, isolated: observers never slow or fail a request. */
  emit(deliver: (observer: RouterObserver) => void): void {
    const observer = this.deps.observer;
    if (!observer) return;
    queueMicrotask(() => {
      try {
        deliver(observer);
      } catch (error) {
        this.deps.logger?.warn({ error: error instanceof Error ? error.name : typeof error }, "a router observer failed");
      }
    });
  }

  /** Whether a retry of the same service at `at` would pass its cooldown and breaker (no side effects). */
  private mayRetry(candidate: Candidate, at: number): boolean {
    return candidate.runtime.cooldownUntil <= at && candidate.runtime.breaker.available(at);
  }

  private gate(candidate: Candidate, now: number): { reason: SkipReason; waitMs: number } | null {
    const { record, runtime } = candidate;
    let skip: { reason: SkipReason; waitMs: number } | null = null;
    if (runtime.cooldownUntil > now) skip = { reason: "cooling_down", waitMs: runtime.cooldownUntil - now };
    else {
      const limited = this.deps.stats.limitVerdict(record, runtime, now);
      if (limited) skip = { reason: limited.limit, waitMs: limited.waitMs };
      else if (runtime.breaker.admit(now) === "deny") skip = { reason: "breaker_open", waitMs: runtime.breaker.retryAfterMs(now) || 1000 };
    }
    if (skip) this.skipped(candidate, skip.reason);
    return skip;
  }

  /** Records a skipped candidate (attempt list and observer). */
  private skipped(candidate: Candidate, reason: SkipReason): void {
    const serviceId = candidate.record.id;
    this.attempts.push({ serviceId, provider: candidate.connector.id, outcome: "skipped", reason });
    this.emit((observer) => observer.onSkip?.({ serviceId, reason, ...(this.info.requestId !== undefined ? { requestId: this.info.requestId } : {}) }));
  }

  /** The node-wide windows' verdict; a counter that fails unexpectedly lets the attempt go (logged). */
  private async askShared(shared: SharedServiceWindows, candidate: Candidate): Promise<ServiceLimitRefusal | null> {
    try {
      return await shared.admit(candidate.record);
    } catch (error) {
      this.deps.logger?.warn({ serviceId: candidate.record.id, error: error instanceof Error ? error.name : typeof error, requestId: this.info.requestId }, "the shared rate windows failed; the attempt goes unchecked");
      return null;
    }
  }

  private context(baseUrl: string, auth: ResolvedAuth): CallContext {
    // Built by assignment, not conditional spreads (once per attempt; spreads showed in profiles).
    const target: Mutable<UpstreamTarget> = { baseUrl };
    if (auth.credential !== undefined) target.credential = auth.credential;
    if (auth.headers) target.headers = auth.headers;
    const remaining = Math.max(1, this.deadlineAt - this.deps.now());
    const context: Mutable<CallContext> = new AttemptContext(
      target,
      this.cancel,
      Math.min(this.deps.options.attemptTimeoutMs, remaining),
      this.deps.options.streamIdleTimeoutMs,
      this.deps.options.maxResponseBytes,
    );
    if (this.info.requestId !== undefined) context.requestId = this.info.requestId;
    if (this.deps.logger) context.logger = this.deps.logger;
    return context;
  }

  private async pause(ms: number): Promise<void> {
    const started = performance.now();
    try {
      await sleep(ms, undefined, { signal: this.cancel.signal });
    } catch {
      // Aborted: throwIfStopped at the top of the loop reports why.
    } finally {
      this.waitedMs += performance.now() - started;
    }
  }

  private throwIfStopped(): void {
    if (this.why === "cancelled") throw this.tag(new UpstreamError("request_cancelled", "the client went away; the request was cancelled"));
    if (this.why === "deadline" || this.deps.now() >= this.deadlineAt) {
      throw this.tag(new UpstreamError("upstream_timeout", `no service answered within the gateway's deadline of ${this.deps.options.deadlineMs} ms`));
    }
  }

  private abort(why: "cancelled" | "deadline"): void {
    if (this.why) return;
    this.why = why;
    this.cancel.abort();
  }

  private tag<E extends ApiError>(error: E): E {
    attemptsKey.set(error, [...this.attempts]);
    return error;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * One attempt's `CallContext`. A class so that `signal` is a prototype getter: the web `AbortSignal` is materialised
 * only for a connector that reads it (most never do: the upstream layer listens to `cancel`), without an object literal
 * with an accessor per attempt.
 */
class AttemptContext {
  requestId?: string;
  logger?: ConnectorLogger;

  constructor(
    readonly target: UpstreamTarget,
    readonly cancel: CancelSignal,
    readonly timeoutMs: number,
    readonly idleTimeoutMs: number,
    readonly maxResponseBytes: number,
  ) {}

  get signal(): AbortSignal {
    return this.cancel.signal;
  }
}

/** An attempt's result event, copied field by field (an object spread here showed in profiles). */
function resultOf(event: AttemptEvent, outcome: ResultEvent["outcome"], latencyMs: number, streamed: boolean): Mutable<ResultEvent> {
  const result: Mutable<ResultEvent> = { serviceId: event.serviceId, provider: event.provider, capability: event.capability, operation: event.operation, attempt: event.attempt, outcome, latencyMs, streamed };
  if (event.requestId !== undefined) result.requestId = event.requestId;
  if (event.model !== undefined) result.model = event.model;
  return result;
}

const retryAfter = (ms: number): Record<string, string> => ({ "Retry-After": String(Math.max(1, Math.ceil(ms / 1000))) });
