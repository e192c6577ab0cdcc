/**
 * @module http/front-doors/sse
 * Writes a routed chat stream as OpenAI-style server-sent events: one `data:` frame per chunk, then
 * `data: [DONE]`. If the stream breaks after it started, the last frame is an in-band error
 * (`data: {"error":{…}}`) and there is no `[DONE]`: the official OpenAI client raises it as an APIError,
 * and no client can mistake a truncated answer for a complete one (Portkey #1797, LiteLLM #40404).
 * The body is a Node Readable handed to `reply.send`, so Fastify's hooks (logs, metrics) still run. Chunks that
 * carry the provider's own text (`RoutedStream.lastChunk`) are written with it instead of being serialised again.
 */
import { Readable } from "node:stream";
import { ERROR_STATUS, type ChatCompletionChunk, type ErrorCode } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { RoutedStream } from "../../gateway/router/router-types.js";

const DONE = "data: [DONE]\n\n";

function errorFrame(error: unknown): string {
  const code: ErrorCode = error instanceof ApiError ? error.code : "upstream_stream_broken";
  const message = error instanceof ApiError ? error.message : "the stream broke";
  // `type` and `code` as OpenAI clients read them; `message` never carries a credential (UpstreamError redacts).
  return `data: ${JSON.stringify({ error: { code, message, type: code, status: ERROR_STATUS[code] } })}\n\n`;
}

/**
 * Pulls the routed stream and pushes its frames. Frames produced in one turn of the event loop (typically every
 * chunk of one upstream read) are pushed as one string: one chunked-encoding frame and one socket write instead of
 * one per token, which was most of what the gateway added per streamed chunk.
 */
class SseBody extends Readable {
  private readonly chunks: AsyncIterator<ChatCompletionChunk>;
  private batch = "";
  private flushQueued = false;
  private pulling = false;
  /** The consumer wants more (the last push was below the high-water mark). */
  private more = true;
  /** `[DONE]` or the error frame is queued: nothing more to pull. */
  private ended = false;

  constructor(private readonly stream: RoutedStream) {
    super();
    this.chunks = stream[Symbol.asyncIterator]();
  }

  override _read(): void {
    this.more = true;
    if (!this.pulling && !this.ended) void this.pull();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // The client went away mid-stream: close the upstream (its pending read ends, and nobody is blamed).
    if (!this.ended) {
      this.ended = true;
      this.stream.cancel();
      void this.chunks.return?.().catch(() => undefined);
    }
    callback(error);
  }

  /** Sends what was queued in this turn (called on the next tick, after the microtasks that produced it). */
  flush(): void {
    this.flushQueued = false;
    if (this.destroyed) return;
    const batch = this.batch;
    this.batch = "";
    if (batch) this.more = this.push(batch);
    if (this.ended && !this.pulling) this.push(null);
  }

  private async pull(): Promise<void> {
    this.pulling = true;
    try {
      while (this.more && !this.ended && !this.destroyed) {
        let next: IteratorResult<ChatCompletionChunk>;
        try {
          next = await this.chunks.next();
        } catch (error) {
          if (this.destroyed) return;
          this.ended = true;
          this.queue(errorFrame(error));
          return;
        }
        if (this.destroyed) return;
        if (next.done) {
          this.ended = true;
          this.queue(DONE);
          return;
        }
        // The provider's own text when it is the same chunk (read right after next(): it is this chunk's), else the chunk serialised.
        this.queue(`data: ${this.stream.lastChunk.text ?? JSON.stringify(next.value)}\n\n`);
      }
    } finally {
      this.pulling = false;
      // The end was queued while a flush already ran: end the body now that pulling stopped.
      if (this.ended && !this.flushQueued && !this.destroyed) this.push(null);
    }
  }

  private queue(frame: string): void {
    this.batch += frame;
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(flushBody, this);
    }
  }
}

function flushBody(body: SseBody): void {
  body.flush();
}

export function sseBody(stream: RoutedStream): Readable {
  return new SseBody(stream);
}
