/**
 * @module gateway/router/circuit-breaker
 * One circuit breaker per service. Closed: traffic flows and consecutive failures are counted. Open:
 * the service is skipped (even when it is the only one — a lone service fails fast instead of being
 * hammered). After the open period, half-open: exactly one request is let through as a probe; success
 * closes the breaker, failure opens it again for twice as long (up to a cap). Health-check results feed
 * it too: a failed probe counts like a failed request, a passing one ends an open period early.
 *
 * Uses cockatiel for what fits: `ConsecutiveBreaker` decides when to trip and `ExponentialBackoff` gives
 * the growing open periods. Not cockatiel's `CircuitBreakerPolicy`, because it only learns outcomes from
 * calls it wraps (`execute`), while ours arrive later and elsewhere: a stream's outcome is known only when
 * its last chunk arrived, and health checks are not calls at all. It also makes concurrent callers wait
 * for the half-open probe, where a router must skip the service and move on at once.
 */
import { ConsecutiveBreaker, ExponentialBackoff, noJitterGenerator, type IBackoff } from "cockatiel";

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** First open period, ms. */
  readonly openMs: number;
  /** Longest open period, ms. */
  readonly maxOpenMs: number;
}

/** What `admit` decided: go ahead, go ahead as the half-open probe, or skip the service. */
export type Admission = "pass" | "probe" | "deny";

export class CircuitBreaker {
  private current: BreakerState = "closed";
  private readonly counter: ConsecutiveBreaker;
  private readonly periods: ExponentialBackoff<number>;
  private period: IBackoff<unknown> | undefined;
  private openedAt = 0;
  private probing = false;

  constructor(
    private readonly options: BreakerOptions,
    private readonly onChange: (from: BreakerState, to: BreakerState) => void = () => undefined,
  ) {
    this.counter = new ConsecutiveBreaker(options.failureThreshold);
    this.periods = new ExponentialBackoff({ initialDelay: options.openMs, maxDelay: options.maxOpenMs, generator: noJitterGenerator });
  }

  /** The state as of `now` (an open breaker whose period ran out reads as half-open). */
  state(now: number): BreakerState {
    if (this.current === "open" && now - this.openedAt >= this.openPeriod()) return "half_open";
    return this.current;
  }

  /** Whether a request could go now, without taking the probe slot (candidate filtering). */
  available(now: number): boolean {
    const state = this.state(now);
    return state === "closed" || (state === "half_open" && !this.probing);
  }

  /** Ms until the breaker lets a probe through (0 when it would now). */
  retryAfterMs(now: number): number {
    if (this.current !== "open") return 0;
    return Math.max(0, this.openPeriod() - (now - this.openedAt));
  }

  /** Decides for one attempt; a `probe` must be followed by `success`, `failure` or `release`. */
  admit(now: number): Admission {
    const state = this.state(now);
    if (state === "closed") return "pass";
    if (state === "open" || this.probing) return "deny";
    this.transition("half_open");
    this.probing = true;
    return "probe";
  }

  success(): void {
    this.probing = false;
    this.counter.success();
    if (this.current !== "closed") {
      this.period = undefined;
      this.transition("closed");
    }
  }

  failure(now: number): void {
    this.probing = false;
    if (this.current === "half_open" || (this.current === "open" && now - this.openedAt >= this.openPeriod())) {
      this.open(now, true);
      return;
    }
    if (this.current === "open") return; // already open: a late failure does not extend the period
    if (this.counter.failure()) this.open(now, false);
  }

  /** A probe that ended without a verdict (cancelled, the caller's own mistake): frees the slot. */
  release(): void {
    this.probing = false;
  }

  /** A passing health check: an open breaker may probe right away; a closed one is left as it is. */
  healthy(now: number): void {
    if (this.current === "open") this.openedAt = now - this.openPeriod();
  }

  private open(now: number, again: boolean): void {
    this.period = again && this.period ? this.period.next(undefined) : this.periods.next();
    this.openedAt = now;
    this.counter.success(); // the count starts afresh after the next close
    this.transition("open");
  }

  private openPeriod(): number {
    return this.period?.duration ?? this.options.openMs;
  }

  private transition(to: BreakerState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.onChange(from, to);
  }
}
