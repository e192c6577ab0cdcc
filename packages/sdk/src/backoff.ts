/**
 * @module backoff
 * Reconnect delays: exponential growth with "full jitter", so that many clients cut off by the same
 * server restart do not all come back in the same millisecond.
 */

export interface BackoffOptions {
  minDelayMs?: number;
  maxDelayMs?: number;
}

export const DEFAULT_MIN_DELAY_MS = 250;
export const DEFAULT_MAX_DELAY_MS = 10_000;

/**
 * Delay before reconnect attempt number `attempt` (0-based): a random value between `minDelayMs` and
 * `min(maxDelayMs, minDelayMs * 2^attempt)`. `random` is injectable for tests.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const min = Math.max(0, options.minDelayMs ?? DEFAULT_MIN_DELAY_MS);
  const max = Math.max(min, options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
  // Cap the exponent so that the multiplication cannot overflow to Infinity after many failures.
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(min + random() * (ceiling - min));
}
