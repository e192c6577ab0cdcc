/**
 * @module registry/expiry-guard
 * Protection against mass expiry, after Eureka's self-preservation but without its failure modes.
 * When more leases expire within a window than a share of the registry (a network blip, not a wave of
 * real deaths), the guard lets a bounded number go and holds back the rest, raising an alarm. Unlike
 * Eureka (#1073, #1247) it never holds forever: it lets go when heartbeats resume or after `maxHold`,
 * and its state is visible in `/api/status` and the logs.
 */
export interface ExpiryGuardOptions {
  enabled: boolean;
  threshold: number;
  minCount: number;
  windowMs: number;
  maxHoldMs: number;
}

export interface ExpiryGuardState {
  engaged: boolean;
  since: number | null;
  heldBack: number;
  reason: string | null;
}

export type GuardTransition = "engaged" | "released_recovered" | "released_timeout" | null;

export class ExpiryGuard {
  private windowStart = Number.NEGATIVE_INFINITY;
  private windowBaseline = 0;
  private expiredInWindow = 0;
  private engagedSince: number | null = null;
  private heldBack = 0;
  private reason: string | null = null;

  constructor(private readonly options: ExpiryGuardOptions) {}

  get state(): ExpiryGuardState {
    return { engaged: this.engagedSince !== null, since: this.engagedSince, heldBack: this.heldBack, reason: this.reason };
  }

  /**
   * Decides how many of `candidates` expired leases may be expired now, out of `leased` live leases (not counting
   * those being expired). Returns the number allowed and whether the guard changed state (for logging).
   *
   * The share is taken of the window's population: the live leases plus those already expired in this window. Taken of
   * the live ones alone, every expiry allowed shrank the next sweep's budget (20 leases at 15 %: 3 allowed, but once
   * one was offline, 19 × 15 % = 2, so a wave stopped at 2).
   */
  admit(candidates: number, leased: number, now: number): { allowed: number; transition: GuardTransition } {
    if (!this.options.enabled) return { allowed: candidates, transition: null };
    if (now - this.windowStart >= this.options.windowMs) {
      this.windowStart = now;
      this.windowBaseline = leased;
      this.expiredInWindow = 0;
    }
    if (this.engagedSince !== null) {
      if (candidates === 0) {
        this.release();
        return { allowed: 0, transition: "released_recovered" };
      }
      if (now - this.engagedSince >= this.options.maxHoldMs) {
        this.release();
        this.expiredInWindow += candidates;
        return { allowed: candidates, transition: "released_timeout" };
      }
      this.heldBack = candidates;
      return { allowed: 0, transition: null };
    }
    const population = Math.max(this.windowBaseline, leased + this.expiredInWindow);
    const budget = Math.max(this.options.minCount, Math.floor(this.options.threshold * population));
    const remaining = Math.max(0, budget - this.expiredInWindow);
    if (candidates <= remaining) {
      this.expiredInWindow += candidates;
      return { allowed: candidates, transition: null };
    }
    this.engagedSince = now;
    this.heldBack = candidates - remaining;
    this.reason = `${candidates} leases expired at once (${this.expiredInWindow} already this window) out of ${leased}; more than ${Math.round(this.options.threshold * 100)}% suggests a network problem, not failed services`;
    this.expiredInWindow += remaining;
    return { allowed: remaining, transition: "engaged" };
  }

  private release(): void {
    this.engagedSince = null;
    this.heldBack = 0;
    this.reason = null;
  }
}
