/**
 * @module events
 * `client.events`: the node's orchestration bus (`GET /api/events`, server-sent events, scope `agents:read`):
 * task progress, agent results and errors, registry changes, system status, notifications. `stream(filter)` is an
 * async iterable that reconnects by itself: a task stream (`task`) resumes after the last sequence number it
 * received, so a dropped connection or a `slow_consumer` drop costs nothing; any other stream resumes from "now"
 * (events in between are missed, which the `dropped` item says). Each `dropped` notice is yielded, never hidden.
 */
import {
  BUS_STREAM_EVENTS,
  BusDroppedNoticeSchema,
  BusEventSchema,
  parseJson,
  type BusDroppedNotice,
  type BusEvent,
  type BusEventFilterInput,
} from "@kai/protocol";
import { backoffDelay } from "./backoff.js";
import { KaiApiError } from "./errors.js";
import type { HttpTransport } from "./http-transport.js";
import { sseMessages, type EventSourceMessage } from "./sse.js";

export type BusStreamItem =
  | { type: "event"; event: BusEvent }
  /** The node dropped the subscription (slow consumer, shutting down) or the connection broke. `resumed`: it reconnects. */
  | { type: "dropped"; notice: BusDroppedNotice; resumed: boolean };

export interface EventStreamOptions {
  signal?: AbortSignal;
  /** Reconnect after a drop or a broken connection (default true); a refused reconnect (401, 403, 400) ends it with that error. */
  reconnect?: boolean;
  /** Reconnect delays (full-jitter exponential), ms. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface EventsClient {
  /** Follows the bus with `filter` (type, task, agent, after). The first connection is made before this resolves. */
  stream(filter?: BusEventFilterInput, options?: EventStreamOptions): Promise<AsyncIterable<BusStreamItem>>;
}

function itemOf(message: EventSourceMessage): BusStreamItem | undefined {
  if (message.event !== BUS_STREAM_EVENTS.event && message.event !== BUS_STREAM_EVENTS.dropped) return undefined; // a later kind: skipped
  const json = parseJson(message.data);
  if (message.event === BUS_STREAM_EVENTS.event) {
    const event = json.ok ? BusEventSchema.safeParse(json.value) : undefined;
    if (!event?.success) throw new KaiApiError({ status: 200, code: "invalid_response", message: "the event stream sent an event that does not match the protocol" });
    return { type: "event", event: event.data };
  }
  const notice = json.ok ? BusDroppedNoticeSchema.safeParse(json.value) : undefined;
  if (!notice?.success) throw new KaiApiError({ status: 200, code: "invalid_response", message: "the event stream sent a notice that does not match the protocol" });
  return { type: "dropped", notice: notice.data, resumed: false };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export function createEventsClient(http: HttpTransport): EventsClient {
  const open = (filter: BusEventFilterInput, signal: AbortSignal | undefined) =>
    http.stream("GET", "/api/events", { query: { ...filter }, ...(signal ? { signal } : {}) });

  return {
    async stream(filter = {}, options = {}) {
      const { signal } = options;
      const reconnect = options.reconnect ?? true;
      let response = await open(filter, signal);

      async function* follow(): AsyncGenerator<BusStreamItem> {
        // A task stream remembers where it is: the next connection asks for what comes after.
        let lastSeq: number | undefined = filter.task !== undefined && filter.after !== undefined ? Number(filter.after) : undefined;
        let failures = 0;
        for (;;) {
          let notice: BusDroppedNotice | undefined;
          try {
            for await (const message of sseMessages(response)) {
              const item = itemOf(message);
              if (!item) continue;
              failures = 0;
              if (item.type === "dropped") {
                notice = item.notice;
                break;
              }
              if (filter.task !== undefined && item.event.taskId === filter.task && item.event.seq !== undefined) lastSeq = item.event.seq;
              yield item;
            }
          } catch (error) {
            if (signal?.aborted || error instanceof KaiApiError) throw error;
            // The connection broke: reported as a drop, then (by default) resumed.
          }
          if (signal?.aborted) return;
          notice ??= { dropped: true, reason: "shutting_down", ...(lastSeq !== undefined ? { lastSeq } : {}) };
          yield { type: "dropped", notice, resumed: reconnect };
          if (!reconnect) return;
          for (;;) {
            await sleep(backoffDelay(failures++, { ...(options.minDelayMs !== undefined ? { minDelayMs: options.minDelayMs } : {}), ...(options.maxDelayMs !== undefined ? { maxDelayMs: options.maxDelayMs } : {}) }), signal);
            if (signal?.aborted) return;
            try {
              response = await open(lastSeq !== undefined ? { ...filter, after: lastSeq } : filter, signal);
              break;
            } catch (error) {
              // Refused (token, scope, filter): retrying cannot help. A node that is not there yet: try again.
              if (error instanceof KaiApiError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) throw error;
              if (signal?.aborted) return;
            }
          }
        }
      }
      return follow();
    },
  };
}
