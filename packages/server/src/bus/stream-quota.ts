/**
 * @module bus/stream-quota
 * How many event streams (SSE and WebSocket together) one token may hold open at once (`bus.maxStreamsPerToken`):
 * each holds a subscriber, a queue and a socket, so a leaked or hostile client opening them in a loop would hold the
 * node's memory. Counted per token id in this process.
 */
export class StreamQuota {
  private readonly open = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** A release function for one more stream of `tokenId`, or null when it holds `limit` already. */
  take(tokenId: string): (() => void) | null {
    const held = this.open.get(tokenId) ?? 0;
    if (held >= this.limit) return null;
    this.open.set(tokenId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const now = (this.open.get(tokenId) ?? 1) - 1;
      if (now <= 0) this.open.delete(tokenId);
      else this.open.set(tokenId, now);
    };
  }
}
