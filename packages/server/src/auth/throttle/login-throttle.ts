/**
 * @module auth/throttle/login-throttle
 * The sign-in throttle (issue 14; SPINE's `LoginThrottle` port): growing delays after failed sign-ins, counted per
 * username and per client address (IPv6: per /64), never a lockout. After `freeAttempts` failures of a username
 * within a window (`addressFreeAttempts` for an address, across usernames), each further failure makes the next
 * attempt wait `baseDelaySeconds`, then twice that, and so on up to `maxDelaySeconds`. A waiting attempt is refused
 * with 429 `login_throttled` and `Retry-After` before any password is checked, so the right password does not help
 * while the delay runs; a success clears the username's failures.
 *
 * Why not a lockout (Grafana #7616, Vault's 15-minute lock): a lockout is a denial of service anyone can hold
 * against a user by failing on purpose. Here an attacker can only slow a username down from addresses where it
 * never signed in: an address where the username signed in successfully (within the last 14 days) skips the
 * username's delay and only answers to its own address delay, so a user at their usual address keeps signing in
 * while their username is being guessed elsewhere.
 *
 * Counting: the node's shared counters (cluster/limits: memory on one instance, PostgreSQL or Redis on several),
 * so N instances do not give N times the attempts. A delay is a window of the delay's length opened by the failure
 * that starts it, keyed by the failure's number, so it needs no clock of ours and ends on the counters' clock.
 * Concurrent attempts that all pass the check before any of them failed are not delayed by each other; the `auth`
 * tier (per address, per minute) bounds such a burst. When the counters cannot be reached, sign-in answers 503
 * `storage_unavailable` (it needs the same database to find the user anyway).
 */
import type { LoginThrottle, ThrottleKeys } from "../sign-in-ports.js";
import type { SecurityEventInput } from "../security-log.js";
import { addressKey } from "../../cluster/limits/address-key.js";
import { LimitStoreUnavailable, type RateLimits, type WindowCounter } from "../../cluster/limits/limit-types.js";
import type { Config } from "../../config/config-schema.js";
import { ApiError, storageUnavailable } from "../../errors.js";

export type ThrottleSettings = Config["rateLimit"]["signIn"];

/**
 * How long a successful sign-in makes its address "known" for the username, ms: 14 days (the memory counters
 * expire keys with one timer each, and a timer cannot be longer than 2^31 ms, about 24.8 days).
 */
export const KNOWN_ADDRESS_MS = 14 * 24 * 3600 * 1000;

/** The delay after the `level`-th failure beyond the free ones, seconds: base, 2×base, 4×base, … up to the cap. */
export function delaySeconds(level: number, settings: Pick<ThrottleSettings, "baseDelaySeconds" | "maxDelaySeconds">): number {
  if (level < 1) return 0;
  // 2^31 overflows nothing in float arithmetic, and the cap bounds it long before.
  return Math.min(settings.maxDelaySeconds, settings.baseDelaySeconds * 2 ** Math.min(level - 1, 31));
}

interface Scope {
  kind: "username" | "address";
  key: string;
  free: number;
}

export interface LoginThrottleDeps {
  limits: RateLimits;
  settings: ThrottleSettings;
  /** Where `sign_in_throttled` is recorded each time a delay starts (SPINE's SecurityLog fits). */
  securityLog?: { recordLater(event: SecurityEventInput): void };
}

export class CountingLoginThrottle implements LoginThrottle {
  private readonly failures: WindowCounter;
  private readonly known: WindowCounter;

  constructor(private readonly deps: LoginThrottleDeps) {
    this.failures = deps.limits.counter("signin-failures", deps.settings.windowSeconds * 1000);
    this.known = deps.limits.counter("signin-known", KNOWN_ADDRESS_MS);
  }

  async check(keys: ThrottleKeys): Promise<void> {
    if (!this.deps.settings.enabled) return;
    const { user, address, pair } = this.scopes(keys);
    const waits = await guarded(async () => {
      const known = (await this.known.read(pair)).total > 0;
      return Promise.all([...(known ? [] : [this.waitMs(user)]), this.waitMs(address)]);
    });
    const waitMs = Math.max(0, ...waits);
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new ApiError("login_throttled", `too many failed sign-in attempts; retry in ${seconds}s`, undefined, { "Retry-After": String(seconds) });
    }
  }

  async failed(keys: ThrottleKeys): Promise<void> {
    if (!this.deps.settings.enabled) return;
    const { user, address } = this.scopes(keys);
    await guarded(() => Promise.all([user, address].map((scope) => this.countFailure(scope, keys))));
  }

  async succeeded(keys: ThrottleKeys): Promise<void> {
    if (!this.deps.settings.enabled) return;
    const { user, pair } = this.scopes(keys);
    await guarded(async () => {
      // The address's own failures stay: one valid account must not wash an address's guessing of others.
      const count = await this.failures.read(user.key);
      if (count.total > 0) await this.failures.refund(user.key, count.total);
      if ((await this.known.read(pair)).total === 0) await this.known.add(pair);
    });
  }

  private scopes(keys: ThrottleKeys): { user: Scope; address: Scope; pair: string } {
    const username = keys.username.toLowerCase();
    const address = addressKey(keys.address);
    return {
      user: { kind: "username", key: `u:${username}`, free: this.deps.settings.freeAttempts },
      address: { kind: "address", key: `a:${address}`, free: this.deps.settings.addressFreeAttempts },
      pair: `k:${username}|${address}`,
    };
  }

  /** Ms until the scope may try again (0: now). */
  private async waitMs(scope: Scope): Promise<number> {
    const failures = (await this.failures.read(scope.key)).total;
    const level = failures - scope.free;
    if (level < 1) return 0;
    const hold = await this.hold(level).read(`${scope.key}#${failures}`);
    return hold.total > 0 ? hold.resetMs : 0;
  }

  private async countFailure(scope: Scope, keys: ThrottleKeys): Promise<void> {
    const failures = (await this.failures.add(scope.key)).total;
    const level = failures - scope.free;
    if (level < 1) return;
    await this.hold(level).add(`${scope.key}#${failures}`);
    this.deps.securityLog?.recordLater({
      type: "sign_in_throttled",
      outcome: "failure",
      username: keys.username,
      address: keys.address,
      details: { scope: scope.kind, failures, delaySeconds: delaySeconds(level, this.deps.settings) },
    });
  }

  /** The counter whose windows are the delay after the `level`-th failure beyond the free ones. */
  private hold(level: number): WindowCounter {
    return this.deps.limits.counter("signin-hold", delaySeconds(level, this.deps.settings) * 1000);
  }
}

/** Runs a counting step; counters that cannot be reached become the API's one answer for a database away. */
async function guarded<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof LimitStoreUnavailable) throw storageUnavailable();
    throw error;
  }
}
