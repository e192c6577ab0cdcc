/**
 * @module gateway/upstream/stream-reader
 * Reads a streaming upstream body as SSE events or NDJSON lines, with an idle timeout between chunks,
 * and wraps a connector's chunk generator as a `ConnectorStream`. Every way a stream can go wrong —
 * connection cut, stall, caller abort, one event or line beyond `maxResponseBytes` — surfaces as a thrown
 * `UpstreamError`; leaving the loop early (break, cancel) closes the upstream connection.
 *
 * A stream's total length is not limited (a long answer is legitimate), but what is held while waiting for the end
 * of one event or line is: without a bound, an upstream that never sends a newline fills the server's memory.
 */
import type { ChatCompletionChunk, Usage } from "@kai/protocol";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { ConnectorStream } from "../connector.js";
import { UpstreamError, errorFromException, responseTooLarge } from "./upstream-error.js";
import type { OpenedUpstream } from "./upstream-http.js";
import { DEFAULT_MAX_RESPONSE_BYTES } from "./upstream-request.js";

/**
 * Raw body bytes; each wait for the next chunk is bounded by `idleTimeoutMs`. Only the waits count: a consumer
 * that is slow to ask for the next chunk (a slow client) is not a stalled upstream.
 *
 * One timer per stream, not one per chunk: each wait records when it began, and the timer, when it fires,
 * either aborts (a wait has lasted the whole idle timeout) or re-arms for what is left. Creating and
 * clearing a timer per chunk was a visible cost when relaying token streams.
 */
export async function* readBody(opened: OpenedUpstream, provider: string, idleTimeoutMs: number, credential?: string): AsyncGenerator<Uint8Array> {
  opened.clearTimeout();
  const iterator = opened.response.body[Symbol.asyncIterator]();
  let finished = false;
  /** When the current wait for a chunk began (performance.now()), or -1 between waits. */
  let waitingSince = -1;
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    if (waitingSince < 0) return;
    const left = waitingSince + idleTimeoutMs - performance.now();
    if (left <= 0) opened.abort("idle");
    else timer = setTimeout(check, left);
  };
  try {
    for (;;) {
      waitingSince = performance.now();
      timer ??= setTimeout(check, idleTimeoutMs);
      let result: IteratorResult<Uint8Array>;
      try {
        result = await iterator.next();
      } catch (error) {
        const cause = opened.abortCause();
        // A cut connection is not a timeout or a cancel: it is a broken stream the caller must see.
        if (cause === undefined) throw new UpstreamError("upstream_stream_broken", `${provider} closed the stream before it was complete`);
        throw errorFromException(provider, error, cause, credential);
      } finally {
        waitingSince = -1;
      }
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    if (timer) clearTimeout(timer);
    // Leaving early (a break, an error, a cancel) destroys the body, which closes the upstream connection.
    if (!finished) await iterator.return?.();
  }
}

/**
 * Server-sent events, parsed by `eventsource-parser` (handles split lines, comments, multi-line data). An event whose
 * buffered text passes `maxEventBytes` ends the stream with `upstream_invalid_response`; the parser counts characters,
 * which are never more than the bytes they came from.
 */
export async function* sseEvents(bytes: AsyncIterable<Uint8Array>, provider = "the provider", maxEventBytes = DEFAULT_MAX_RESPONSE_BYTES): AsyncGenerator<EventSourceMessage> {
  const queue: EventSourceMessage[] = [];
  let overflow = false;
  const parser = createParser({
    onEvent: (event) => queue.push(event),
    // Other parse errors (an invalid `retry:` and the like) are ignored, as browsers do.
    onError: (error) => {
      if (error.type === "max-buffer-size-exceeded") overflow = true;
    },
    maxBufferSize: maxEventBytes,
  });
  const decoder = new TextDecoder();
  for await (const chunk of bytes) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    while (queue.length > 0) yield queue.shift()!;
    if (overflow) throw responseTooLarge(provider, maxEventBytes, "sent a stream event of");
  }
  // An unterminated last event is deliberately dropped: the connector's end-marker check reports the truncation.
}

/**
 * Newline-delimited JSON lines (Ollama), as text; blank lines skipped, a trailing partial line yielded as is. A line
 * longer than `maxLineBytes` ends the stream with `upstream_invalid_response`.
 */
export async function* ndjsonLines(bytes: AsyncIterable<Uint8Array>, provider = "the provider", maxLineBytes = DEFAULT_MAX_RESPONSE_BYTES): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  /** Size of the unfinished line in `buffer`: bytes received since its start (characters for its first part). */
  let pending = 0;
  for await (const chunk of bytes) {
    const text = decoder.decode(chunk, { stream: true });
    const first = text.indexOf("\n");
    if (first < 0) {
      // No line ends in this chunk: the unfinished line only grows. Searching just the new text also keeps a long
      // line from being scanned again on every chunk.
      pending += chunk.length;
      if (pending > maxLineBytes) throw responseTooLarge(provider, maxLineBytes, "sent a stream line of");
      buffer += text;
      continue;
    }
    let newline = buffer.length + first;
    buffer += text;
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield line;
      newline = buffer.indexOf("\n");
    }
    pending = buffer.length;
    if (pending > maxLineBytes) throw responseTooLarge(provider, maxLineBytes, "sent a stream line of");
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield rest;
}

/**
 * What a connector's chunk generator fills in as it goes: `usage` when the provider reports totals, and `text`, the
 * provider's own JSON text of the chunk it yields (`relayableText`; undefined when the chunk must be serialised). The
 * stream hands the slot out as `ConnectorStream.lastChunk`: one object per stream, no wrapper per chunk.
 */
export interface UsageSlot {
  usage?: Usage;
  text?: string;
}

/**
 * Wraps a chunk generator as a single-use `ConnectorStream` that closes the upstream when abandoned. The iterator
 * is written out rather than being one more async generator around `chunks` (`yield*`): every generator layer
 * costs promises and microtask hops per chunk, and a token stream has many chunks.
 */
export function toConnectorStream(opened: OpenedUpstream, chunks: AsyncGenerator<ChatCompletionChunk>, slot: UsageSlot): ConnectorStream {
  let used = false;
  let ended = false;
  /** The `next()` in progress, so that `return()` waits for it as a generator would. */
  let pending: Promise<unknown> | undefined;
  // Normal end: the body is drained; only the timer and the caller's signal are let go.
  // Early exit or failure: aborting closes the socket upstream.
  const end = (complete: boolean) => {
    if (ended) return;
    ended = true;
    if (complete) opened.finish();
    else opened.abort("done");
  };
  const iterator: AsyncIterableIterator<ChatCompletionChunk> = {
    async next() {
      if (ended) return { done: true, value: undefined };
      const step = chunks.next();
      pending = step;
      try {
        const result = await step;
        if (result.done) end(true);
        return result;
      } catch (error) {
        end(false);
        throw error;
      } finally {
        pending = undefined;
      }
    },
    async return(value?: unknown) {
      await pending?.catch(() => undefined);
      try {
        await chunks.return(undefined);
      } finally {
        end(false);
      }
      return { done: true, value };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return {
    headersLatencyMs: opened.headersLatencyMs,
    usage: () => slot.usage,
    lastChunk: slot,
    cancel: () => {
      opened.abort("cancelled");
      // The generator may be mid-read; its error (if any) already reached the iterating caller.
      chunks.return(undefined).catch(() => undefined);
    },
    [Symbol.asyncIterator]() {
      if (used) throw new Error("a ConnectorStream can be iterated only once");
      used = true;
      return iterator;
    },
  };
}
