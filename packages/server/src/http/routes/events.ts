/**
 * @module http/routes/events
 * `GET /api/events` (scope agents:read): the orchestration bus as server-sent events, filtered by the query
 * (BusEventFilter: type, task, agent, after) and by what the caller may receive (bus/event-access.ts). Each event is
 * `event: bus` with the BusEvent as data; a task event's `id:` is `<taskId>:<seq>`, so an EventSource that
 * reconnects sends it back as `Last-Event-ID` and a task stream resumes after it with nothing missed (the hub
 * replays from the task event log). A subscriber that cannot keep up gets `event: dropped` (a BusDroppedNotice)
 * and the stream ends: it is told, never silently skipped. Comment lines every 15 s keep proxies from closing a
 * quiet stream; the stream ends by the caller's token expiry (ten minutes at most), so access is checked again.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BUS_STREAM_EVENTS, BusEventFilterSchema, ErrorBodySchema, type BusEventFilter } from "@kai/protocol";
import type { EventHub, EventSubscription, HubItem } from "../../bus/event-hub.js";
import { viewerOf } from "../../auth/principal.js";
import { principalOf } from "../authenticate.js";
import { ApiError } from "../../errors.js";
import { eventJson } from "../../bus/event-json.js";
import { SseStream } from "../sse-stream.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };

/** One SSE frame per hub item. */
export function sseFrame(item: HubItem): string {
  if (item.type === "dropped") return `event: ${BUS_STREAM_EVENTS.dropped}\ndata: ${JSON.stringify(item.notice)}\n\n`;
  const { event } = item;
  const id = event.taskId !== undefined && event.seq !== undefined ? `id: ${event.taskId}:${event.seq}\n` : "";
  return `${id}event: ${BUS_STREAM_EVENTS.event}\ndata: ${eventJson(event)}\n\n`;
}

/** `Last-Event-ID: <taskId>:<seq>` resumes a stream of that task when the query names no `after`. */
export function resumeFilter(filter: BusEventFilter, header: string | string[] | undefined): BusEventFilter {
  const value = Array.isArray(header) ? header[0] : header;
  if (filter.task === undefined || filter.after !== undefined || value === undefined) return filter;
  const at = value.lastIndexOf(":");
  if (at < 0 || value.slice(0, at) !== filter.task) return filter;
  const seq = value.slice(at + 1);
  return /^\d{1,15}$/.test(seq) ? { ...filter, after: Number(seq) } : filter;
}

/** Pulls the subscription at the pace of the client's socket (Node asks for more when its buffer drains). */
class EventStream extends SseStream {
  private pulling = false;

  constructor(readonly subscription: EventSubscription, endAt: number) {
    super(endAt);
  }

  protected expire(): void {
    this.subscription.close();
  }

  override _read(): void {
    if (!this.pulling) void this.pull();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    this.subscription.close();
    callback(error);
  }

  private async pull(): Promise<void> {
    this.pulling = true;
    try {
      for (;;) {
        const item = await this.subscription.next();
        if (this.destroyed) return;
        if (!item) {
          this.release();
          this.push(null);
          return;
        }
        if (!this.push(sseFrame(item))) return;
      }
    } finally {
      this.pulling = false;
    }
  }

  private release(): void {
    this.stopTimers();
  }
}

export function eventsRoutes(hub: EventHub): FastifyPluginAsyncZod {
  return async (app) => {
    const open = new Set<EventStream>();
    // Streams never end by themselves: tell them the node is going (shutting_down), so shutdown does not wait.
    app.addHook("preClose", async () => {
      for (const stream of open) stream.subscription.drop("shutting_down");
    });

    app.get("/api/events", {
      config: { scopes: ["agents:read"], bucket: "read" },
      schema: {
        tags: ["agents"],
        summary: "The orchestration bus as server-sent events (`event: bus`, a BusEvent; `event: dropped` ends a stream that fell behind); filter by type, task, agent; `task` + `after` (or Last-Event-ID `<taskId>:<seq>`) replays the task's stored events first",
        security: [{ bearer: [] }],
        querystring: BusEventFilterSchema,
        response: { 200: z.string().describe("text/event-stream"), ...errors },
      },
    }, async (request, reply) => {
      const principal = principalOf(request);
      const release = hub.quota.take(principal.tokenId);
      if (!release) throw new ApiError("rate_limited", "this token has too many event streams open; close one first");
      const filter = resumeFilter(request.query, request.headers["last-event-id"]);
      const stream = new EventStream(hub.subscribe(viewerOf(principal), filter), principal.expiresAt);
      open.add(stream);
      stream.once("close", () => {
        open.delete(stream);
        release();
      });
      reply.raw.once("close", () => stream.destroy());
      reply.header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache").header("x-accel-buffering", "no");
      return reply.send(stream as unknown as string);
    });
  };
}
