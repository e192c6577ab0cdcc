/**
 * @module http/ws/events-socket
 * `/ws/events` (scope agents:read): the orchestration bus over a WebSocket. The filter comes from the query
 * (`?type=…&task=…&agent=…&after=…`) or a `{"type":"subscribe","filter":…}` message, which replaces the
 * subscription (a task filter with `after` replays the task's stored events first). The server sends
 * `{"type":"event","event":…}`; a subscriber that cannot keep up gets `{"type":"dropped","notice":…}` and the socket
 * closes (1013, try again later): told, never silently skipped. Frames are sent one after another as the socket
 * takes them, so a slow client's backlog waits in the hub's bounded queue, not in the socket's buffer.
 */
import type { WebSocket } from "ws";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ApiError } from "../../errors.js";
import { principalOf } from "../authenticate.js";
import { z } from "zod";
import { BusEventFilterSchema, EventsClientMessageSchema, EventsServerMessageSchema, parseJson, type BusEventFilter, type EventsServerMessage } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import { viewerOf } from "../../auth/principal.js";
import type { EventHub, EventSubscription } from "../../bus/event-hub.js";
import { eventMessageBytes } from "../../bus/event-json.js";

const PING_MS = 15_000;

/** The query's filter (`token` is the credential for clients that cannot set headers, not a filter). */
export const EventsSocketQuerySchema = BusEventFilterSchema.extend({ token: z.string().optional() });

/** Attaches an authenticated socket: subscribes with `filter`, and again on each subscribe message. */
export function attachEventsSocket(hub: EventHub, socket: WebSocket, principal: Principal, filter: BusEventFilter): void {
  const release = hub.quota.take(principal.tokenId);
  if (!release) {
    socket.close(1008, "too many event streams for this token");
    return;
  }
  const viewer = viewerOf(principal);
  let current: EventSubscription | null = null;
  let alive = true;

  const sendText = (text: string | Buffer) =>
    new Promise<void>((resolve) => {
      if (socket.readyState !== socket.OPEN) return resolve();
      socket.send(text, { binary: false }, () => resolve());
    });
  const send = (message: EventsServerMessage) => sendText(JSON.stringify(message));

  const pump = async (subscription: EventSubscription) => {
    for (;;) {
      const item = await subscription.next();
      if (!item || subscription !== current) return;
      if (item.type === "event") {
        // `{"type":"event","event":…}` as bytes made once for all its subscribers (the socket does not copy them).
        await sendText(eventMessageBytes(item.event));
        continue;
      }
      await send({ type: "dropped", notice: item.notice });
      socket.close(item.notice.reason === "shutting_down" ? 1001 : 1013, item.notice.reason);
      return;
    }
  };

  const subscribe = (next: BusEventFilter) => {
    current?.close();
    const subscription = hub.subscribe(viewer, next);
    current = subscription;
    void pump(subscription);
  };

  const ping = setInterval(() => {
    if (!alive) return socket.terminate();
    alive = false;
    socket.ping();
  }, PING_MS);
  ping.unref();
  // The token was checked at the upgrade: the socket ends by its expiry, and the client comes back with a fresh one.
  const expiry = setTimeout(() => socket.close(1008, "token expired"), Math.max(0, Math.min(principal.expiresAt - Date.now(), 2 ** 31 - 1)));
  expiry.unref();

  socket.on("pong", () => void (alive = true));
  socket.on("message", (data, isBinary) => {
    const json = isBinary ? null : parseJson(data.toString());
    const parsed = json?.ok ? EventsClientMessageSchema.safeParse(json.value) : null;
    if (!parsed?.success) {
      void send({ type: "error", error: { code: "validation_failed", message: 'expected {"type":"subscribe","filter":{type?,task?,agent?,after?}}' } });
      return;
    }
    subscribe(parsed.data.filter);
  });
  const end = () => {
    release();
    clearInterval(ping);
    clearTimeout(expiry);
    current?.close();
    current = null;
  };
  socket.on("close", end);
  socket.on("error", end);
  subscribe(filter);
}

/** `/ws/events` in the OpenAPI document (WebSocket routes are left out by @fastify/swagger), from the same schemas. */
export function eventsSocketOpenApi(errorBody: unknown): Record<string, unknown> {
  return {
    get: {
      tags: ["agents"],
      summary: "The orchestration bus (WebSocket upgrade)",
      description:
        "Upgrade to WebSocket (token in Authorization or ?token=; scope agents:read). Filter in the query (type, task, agent, after) " +
        "or by sending `x-client-messages`; the server sends `x-server-messages`. See docs/agents/bus.md.",
      security: [{ bearer: [] }],
      parameters: [
        { name: "token", in: "query", required: false, schema: { type: "string" }, description: "bearer token, for clients that cannot set headers" },
        { name: "type", in: "query", required: false, schema: { type: "string" }, description: "event type (repeatable)" },
        { name: "task", in: "query", required: false, schema: { type: "string" } },
        { name: "agent", in: "query", required: false, schema: { type: "string" } },
        { name: "after", in: "query", required: false, schema: { type: "integer", minimum: 0 }, description: "with task: replay its events after this seq first" },
      ],
      responses: { 101: { description: "switching protocols" }, 400: errorBody, 401: errorBody, 403: errorBody, 429: errorBody },
      "x-client-messages": z.toJSONSchema(EventsClientMessageSchema, { unrepresentable: "any", io: "input" }),
      "x-server-messages": z.toJSONSchema(EventsServerMessageSchema, { unrepresentable: "any" }),
    },
  };
}

/** Registers `/ws/events` (inside the protected scope: authentication, scopes and rate limits apply to the upgrade). */
export function eventsSocketRoute(hub: EventHub): FastifyPluginAsyncZod {
  return async (app) => {
    app.route({
      method: "GET",
      url: "/ws/events",
      config: { scopes: ["agents:read"], bucket: "read" },
      schema: {
        tags: ["agents"],
        summary: "The orchestration bus (WebSocket)",
        description: 'Upgrade to WebSocket; token in Authorization or ?token=. Filter in the query or send {"type":"subscribe","filter":{…}}.',
        querystring: EventsSocketQuerySchema,
      },
      // Plain HTTP (no Upgrade header) gets our error body, not the plugin's empty 404.
      handler: () => {
        throw new ApiError("upgrade_required", "this is a WebSocket endpoint: send an Upgrade: websocket request", undefined, { Upgrade: "websocket" });
      },
      wsHandler: (socket, request) => {
        const { token: _token, ...filter } = request.query;
        attachEventsSocket(hub, socket, principalOf(request), filter);
      },
    });
  };
}
