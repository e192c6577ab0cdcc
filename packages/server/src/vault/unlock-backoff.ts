/**
 * @module vault/unlock-backoff
 * Slows down passphrase guessing. The first `freeAttempts` consecutive failures cost nothing extra; after
 * that each failure opens a window (1 s, then 2, 4, … capped at 5 minutes) during which every attempt is
 * refused without running the KDF. A success resets it. Kept in memory: an attacker who can restart the
 * server already has the machine.
 */
export const MAX_BACKOFF_SECONDS = 300;

export class UnlockBackoff {
  private failures = 0;
  private until = 0;

  constructor(
    private readonly freeAttempts: number,
    private readonly now: () => number,
  ) {}

  /** Seconds to wait before the next attempt (0 = may try now). */
  remainingSeconds(): number {
    const left = this.until - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  failed(): void {
    this.failures++;
    if (this.failures >= this.freeAttempts) {
      const seconds = Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.min(20, this.failures - this.freeAttempts));
      this.until = this.now() + seconds * 1000;
    }
  }

  succeeded(): void {
    this.failures = 0;
    this.until = 0;
  }
}
