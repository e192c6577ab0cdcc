/**
 * @module gateway/router/stream-relay
 * Hands a routed chat stream to the caller once its first chunk is in hand, and settles the attempt when
 * the stream ends: completed → success (latency, usage, TPM); broken or stalled → an `UpstreamError`
 * thrown from the iterator (never a silent end) that counts against the service; the consumer leaving
 * early or the client going away → the upstream connection is closed and nobody is blamed.
 */
import type { ChatCompletionChunk } from "@kai/protocol";
import type { ApiError } from "../../errors.js";
import type { ConnectorStream } from "../connector.js";
import { UpstreamError } from "../upstream/upstream-error.js";
import type { Candidate } from "./candidates.js";
import type { RouteExecution } from "./route-execution.js";
import type { AttemptEvent, RoutedStream } from "./router-types.js";

/** A stream whose upstream answered and whose first chunk was read (or which ended at once, empty). */
export interface OpenedStream {
  readonly stream: ConnectorStream;
  readonly iterator: AsyncIterator<ChatCompletionChunk>;
  readonly first: IteratorResult<ChatCompletionChunk>;
  /** Every form of the credential used for this call, to scrub from a mid-stream error. */
  readonly secrets: readonly string[];
}

export interface RelayInput {
  readonly execution: RouteExecution;
  readonly candidate: Candidate;
  readonly event: AttemptEvent;
  readonly opened: OpenedStream;
  /** Time to the first chunk, ms (the EWMA sample for streams: what a user waits for). */
  readonly firstChunkMs: number;
  readonly model?: string;
}

export function relayStream({ execution, candidate, event, opened, firstChunkMs, model }: RelayInput): RoutedStream {
  const { stream, iterator, first, secrets } = opened;
  const overheadMs = execution.overheadMs();
  execution.endDeadline();
  let settled = false;
  let used = false;
  let cancelled = false;
  const settle = (outcome: "ok" | ApiError) => {
    if (settled) return;
    settled = true;
    candidate.runtime.inFlight--;
    if (outcome === "ok") execution.settleSuccess(candidate, event, firstChunkMs, stream.usage(), true);
    else execution.recordFailure(candidate, outcome, firstChunkMs, event, true);
    execution.close();
  };

  async function* relay(): AsyncGenerator<ChatCompletionChunk> {
    let finished = false;
    try {
      if (!first.done) yield first.value;
      if (!first.done) {
        for (;;) {
          const next = await iterator.next();
          if (next.done) break;
          yield next.value;
        }
      }
      finished = true;
      // After cancel() the connector's generator may simply end: that is not a complete answer.
      if (cancelled) throw new UpstreamError("request_cancelled", "the stream was cancelled");
      settle("ok");
    } catch (caught) {
      finished = true;
      // The connector's errors are already ours; anything else still must not pass for a complete stream.
      const failure = execution.classify(caught, { secrets });
      const error = failure.code === "request_cancelled" || failure instanceof UpstreamError ? failure : new UpstreamError("upstream_stream_broken", failure.message);
      settle(error);
      throw error;
    } finally {
      if (!finished) {
        // The consumer stopped early (break, return, client gone): close upstream, blame no one.
        stream.cancel();
        settle(new UpstreamError("request_cancelled", "the stream's consumer stopped reading"));
      }
    }
  }

  const { serviceId, provider } = { serviceId: candidate.record.id, provider: candidate.connector.id };
  return {
    serviceId,
    provider,
    ...(model !== undefined ? { model } : {}),
    attempts: execution.attempts,
    overheadMs,
    usage: () => stream.usage(),
    // The connector's own slot, updated as it yields: the relay adds no read-ahead, so it always is the chunk just relayed.
    lastChunk: stream.lastChunk,
    cancel: () => {
      cancelled = true;
      stream.cancel();
      if (!used) settle(new UpstreamError("request_cancelled", "the stream was cancelled before it was read"));
    },
    [Symbol.asyncIterator]() {
      if (used) throw new Error("a RoutedStream can be iterated only once");
      used = true;
      return relay();
    },
  };
}
