/**
 * @module agents/a2a/server/pulled-sse-stream
 * What both A2A bindings' streams share (JSON-RPC: a2a-sse-stream.ts; HTTP+JSON: rest/rest-sse-stream.ts), on the
 * node's SSE base (http/sse-stream.ts: the `retry:` line, keep-alives, an end by token expiry or after 10 minutes):
 * items are pulled from the request handler's iterator only as the client reads them (a slow reader is dropped by the
 * event hub with a notice, never buffered without bound here); a client's hang-up ends its stream, never the task; a
 * stream cut before the task ended (shutdown, time up) ends with an error frame, so a client never reads a cut as
 * "done". A binding says only how an item, a failure and a cut are framed.
 */
import { SseStream } from "../../../http/sse-stream.js";

export interface PulledSseStreamOptions {
  /** Aborted when the client hangs up or the node shuts down (the iterator then ends). */
  signal: AbortSignal;
  /** Whether the node is shutting down (a cut is then reported as such). */
  closing(): boolean;
  /** Called once when the stream ends or is destroyed: releases the caller's stream quota, and aborts `signal` (so an
   * iterator waiting for the next item lets go at once). */
  onEnd(): void;
}

export abstract class PulledSseStream<Item> extends SseStream {
  private pumping = false;
  private wanted = false;
  private over = false;

  /**
   * `first`: the item already read (the route reads it before the stream, to answer an early error with a status).
   * Called before a subclass's own fields are set: `frameOf` must not use them.
   */
  constructor(
    private readonly items: AsyncIterator<Item>,
    first: IteratorResult<Item>,
    private readonly pulled: PulledSseStreamOptions,
    endAt: number,
  ) {
    super(endAt);
    if (first.done) this.close();
    else this.push(this.frameOf(first.value));
  }

  /** One item as its SSE frame. */
  protected abstract frameOf(item: Item): string;
  /** The last frame when the handler failed after the stream began. */
  protected abstract failureFrame(error: unknown): string;
  /** The last frame when the stream is cut before the task ended. */
  protected abstract cutFrame(message: string): string;

  override _read(): void {
    this.wanted = true;
    if (!this.pumping && !this.over) void this.pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(error);
  }

  protected expire(): void {
    this.end(this.cutFrame("the stream's time is up (token expiry or 10 minutes): subscribe to the task again to resume"));
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.wanted && !this.over) {
        const next = await this.items.next();
        if (this.over) return;
        if (next.done || this.pulled.signal.aborted) {
          // Cut by the shutdown, not ended by the task: say so (a clean end would read as "done").
          if (this.pulled.closing() && this.pulled.signal.aborted) this.end(this.cutFrame("the node is shutting down: subscribe to the task again to resume"));
          else this.close();
          return;
        }
        this.wanted = this.push(this.frameOf(next.value));
      }
    } catch (error) {
      if (this.pulled.signal.aborted) this.close();
      else this.end(this.failureFrame(error));
    } finally {
      this.pumping = false;
    }
  }

  private end(last: string): void {
    if (this.over) return;
    if (!this.destroyed) this.push(last);
    this.close();
  }

  private close(): void {
    if (this.over) return;
    this.release();
    if (!this.destroyed) this.push(null);
  }

  private release(): void {
    if (this.over) return;
    this.over = true;
    this.stopTimers();
    this.pulled.onEnd();
    void this.items.return?.(undefined)?.catch(() => undefined);
  }
}
