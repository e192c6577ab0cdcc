/**
 * @module http/sse-stream
 * What every server-sent-event stream of the node does alike (`GET /api/logs/stream`, `GET /api/events`): a
 * `retry:` line at once (so the headers go out now, and EventSource knows its reconnect delay), a comment line every
 * 15 s (proxies close quiet streams), and an end by the caller's token expiry or after 10 minutes at the most (the
 * token was checked when the stream opened; the client reconnects with one that is checked again, so a revoked
 * session or a removed role stops receiving within this time). Subclasses push frames and say how to end.
 */
import { Readable } from "node:stream";

const KEEPALIVE_MS = 15_000;
const MAX_STREAM_MS = 10 * 60_000;

export abstract class SseStream extends Readable {
  private readonly keepalive: NodeJS.Timeout;
  private readonly lifetime: NodeJS.Timeout;

  /** `endAt`: the caller's token expiry, ms since epoch. */
  constructor(endAt: number) {
    super();
    this.push("retry: 2000\n\n");
    this.keepalive = setInterval(() => this.push(": keepalive\n\n"), KEEPALIVE_MS);
    this.keepalive.unref();
    this.lifetime = setTimeout(() => this.expire(), Math.max(0, Math.min(endAt - Date.now(), MAX_STREAM_MS)));
    this.lifetime.unref();
  }

  /** The stream's time is up: end it (its own way of ending). */
  protected abstract expire(): void;

  /** Stops the keep-alives and the lifetime timer (call when the stream ends or is destroyed). */
  protected stopTimers(): void {
    clearInterval(this.keepalive);
    clearTimeout(this.lifetime);
  }
}
