/**
 * @module http/routes/a2a
 * The node as an A2A v1.0 agent (issue 16):
 * - `GET /.well-known/agent-card.json`: the agent card, public (A2A clients read it before they have credentials);
 *   only public records' capabilities appear in it (agents/a2a/server/agent-card.ts).
 * - `POST /a2a` (bearer token, scope tasks:run): A2A's JSON-RPC binding. The official SDK's JsonRpcTransportHandler
 *   parses and answers the JSON-RPC (so the wire format is the SDK's, the one every A2A client speaks); our
 *   KcoreRequestHandler does the work on kCore. The SDK's Express adapter is not used (this server is Fastify);
 *   this route does what it does: the `A2A-Version` check against the card, one JSON answer, or SSE for
 *   SendStreamingMessage/SubscribeToTask (an error before the first event is a plain JSON-RPC error).
 *   Streams are the node's shared SSE base (agents/a2a/server/a2a-sse-stream.ts): `id: <taskId>:<seq>`, keep-alives,
 *   an end by token expiry or after 10 minutes (an `error` event: subscribe again); a client's hang-up ends its
 *   stream, never the task. `Last-Event-ID: <taskId>:<seq>` on SubscribeToTask replays after that seq (absent: every stored event).
 *   Push notification configs (`*TaskPushNotificationConfig`) go to agents/a2a/server/push/ through the same handler.
 */
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { A2A_VERSION_HEADER, type AgentCard } from "@a2a-js/sdk";
import { JsonRpcTransportHandler, ServerCallContext, validateVersion, type User } from "@a2a-js/sdk/server";
import { ErrorBodySchema } from "@kai/protocol";
import type { EventHub } from "../../bus/event-hub.js";
import type { Logger } from "../../logging/logger.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { TaskEngine } from "../../agents/kcore/task-engine.js";
import { ApiError } from "../../errors.js";
import { principalOf } from "../authenticate.js";
import { A2A_PATH, type AgentCardSource } from "../../agents/a2a/server/agent-card.js";
import { KcoreRequestHandler, PRINCIPAL_KEY, RESUME_KEY, SIGNAL_KEY } from "../../agents/a2a/server/kcore-request-handler.js";
import { A2aSseStream } from "../../agents/a2a/server/a2a-sse-stream.js";
import type { A2aPush } from "../../agents/a2a/server/push/a2a-push.js";

const STREAMING_METHODS = new Set(["SendStreamingMessage", "SubscribeToTask"]);

/** A JSON-RPC 2.0 request (A2A's binding); the method's params are checked by the SDK's handler. */
const JsonRpcRequestSchema = z.object({
  jsonrpc: z.literal("2.0"),
  id: z.union([z.string().max(200), z.int(), z.null()]).optional(),
  method: z.string().min(1).max(100),
  params: z.record(z.string(), z.unknown()).optional(),
});
const JsonRpcResponseSchema = z.object({ jsonrpc: z.literal("2.0"), id: z.union([z.string(), z.int(), z.null()]), result: z.unknown().optional(), error: z.unknown().optional() });

/** Where A2A carries free-form JSON (a data part's `data`, every `metadata`): any object is fine there. */
const FREE_FORM_KEYS = new Set(["data", "metadata"]);

/**
 * The path of the first value in `params` that cannot become text or a number: a JSON object with its own `toString`
 * or `valueOf` key. The SDK's decoders turn the fields they expect as text into text with `String()`, which throws on
 * such an object, and the SDK answers that as an internal error (-32603); the node answers -32602 instead, as for any
 * other invalid params. Free-form JSON (`data`, `metadata`) is never coerced, so it is not looked into.
 */
export function uncoercibleValueAt(value: unknown, path = "params", depth = 0): string | null {
  if (typeof value !== "object" || value === null || depth > 64) return null;
  if (!Array.isArray(value) && (Object.hasOwn(value, "toString") || Object.hasOwn(value, "valueOf"))) return path;
  for (const [key, child] of Object.entries(value)) {
    if (!Array.isArray(value) && FREE_FORM_KEYS.has(key)) continue;
    const found = uncoercibleValueAt(child, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}

export interface A2aRouteDeps {
  tasks: TaskEngine;
  hub: EventHub;
  registry: RegistryService;
  logger: Logger;
  /** A2A push notification configs and their delivery (agents/a2a/server/push/); absent: the push methods are refused. */
  push?: A2aPush;
}

/** How the caller reached this node: the card's endpoint URL is built from it (behind trusted proxies, X-Forwarded-*). */
function baseUrlOf(request: { protocol: string; host: string }): string {
  return `${request.protocol}://${request.host}`;
}

export function a2aCardRoutes(source: AgentCardSource): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/.well-known/agent-card.json", {
      config: { bucket: "read" },
      schema: {
        tags: ["agents"],
        summary: "The node's A2A v1.0 agent card (no token): its JSON-RPC endpoint /a2a, bearer security, streaming, skills offered by public records",
        security: [],
        response: { 200: z.record(z.string(), z.unknown()).describe("an A2A v1.0 AgentCard"), 429: ErrorBodySchema },
      },
    }, async (request, reply) => {
      // Public and the same for everyone: caches may keep it a little (the skills are re-read every 30 s anyway).
      reply.header("Cache-Control", "public, max-age=30");
      return (await source.cardJson(baseUrlOf(request))) as Record<string, unknown>;
    });
  };
}

/**
 * The SDK's call context of an A2A request, for either binding: the caller (its principal, for kCore), the signal
 * that ends its streams, the `A2A-Version` it asked for and the `Last-Event-ID` a stream resumes after.
 */
export function a2aCallContext(request: FastifyRequest, signal: AbortSignal): ServerCallContext {
  const principal = principalOf(request);
  const header = request.headers[A2A_VERSION_HEADER.toLowerCase()];
  const requestedVersion = Array.isArray(header) ? header[0] : header;
  const lastEventId = request.headers["last-event-id"];
  const user: User = { isAuthenticated: true, userName: principal.owner };
  return new ServerCallContext({
    user,
    ...(requestedVersion !== undefined ? { requestedVersion } : {}),
    state: new Map<string, unknown>([
      [PRINCIPAL_KEY, principal],
      [SIGNAL_KEY, signal],
      ...(typeof lastEventId === "string" ? ([[RESUME_KEY, lastEventId]] as const) : []),
    ]),
  });
}

export function a2aRoutes(deps: A2aRouteDeps, source: AgentCardSource): FastifyPluginAsyncZod {
  return async (app) => {
    const handler = new KcoreRequestHandler({ tasks: deps.tasks, hub: deps.hub, logger: deps.logger, ...(deps.push ? { push: deps.push } : {}) });
    const transport = new JsonRpcTransportHandler(handler);
    const open = new Set<AbortController>();
    let closing = false;
    // Streams and blocking sends wait on a task: let them go when the node shuts down (the tasks are kCore's).
    app.addHook("preClose", async () => {
      closing = true;
      for (const controller of open) controller.abort();
    });

    app.post(A2A_PATH, {
      config: { scopes: ["tasks:run"], bucket: "write" },
      schema: {
        tags: ["agents"],
        summary: "A2A v1.0 JSON-RPC endpoint (SendMessage, SendStreamingMessage, GetTask, ListTasks, CancelTask, SubscribeToTask, Create/Get/List/DeleteTaskPushNotificationConfig) running tasks through kCore",
        description:
          "Send the `A2A-Version: 1.0` header. Streaming methods answer server-sent events (each `data:` a JSON-RPC response; the first is " +
          "the full Task, then status updates from the task's stored events in order). See docs/agents/a2a.md.",
        security: [{ bearer: [] }],
        body: JsonRpcRequestSchema,
        response: { 200: z.union([JsonRpcResponseSchema, z.string().describe("text/event-stream")]), 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async (request, reply) => {
      const principal = principalOf(request);
      const rpcId = request.body.id ?? null;
      const controller = new AbortController();
      const context = a2aCallContext(request, controller.signal);
      try {
        const card: AgentCard = await source.card(baseUrlOf(request));
        validateVersion(context.requestedVersion, card, "JSONRPC");
      } catch (error) {
        return reply.status(200).send({ jsonrpc: "2.0", id: rpcId, error: JsonRpcTransportHandler.mapToJSONRPCError(error) });
      }
      const uncoercible = uncoercibleValueAt(request.body.params);
      if (uncoercible) {
        return reply.status(200).send({ jsonrpc: "2.0", id: rpcId, error: { code: -32602, message: `invalid params: ${uncoercible} is an object with its own toString or valueOf key where text or a number is expected` } });
      }
      const streaming = STREAMING_METHODS.has(request.body.method);
      const release = streaming ? deps.hub.quota.take(principal.tokenId) : () => undefined;
      if (!release) throw new ApiError("rate_limited", "this token has too many event streams open; close one first");
      open.add(controller);
      reply.raw.once("close", () => controller.abort());
      const done = () => {
        open.delete(controller);
        release();
      };
      let answer: Awaited<ReturnType<JsonRpcTransportHandler["handle"]>>;
      try {
        answer = await transport.handle(request.body, context);
      } catch (error) {
        done();
        throw error;
      }
      if (!(Symbol.asyncIterator in answer)) {
        done();
        return reply.status(200).send(answer as z.infer<typeof JsonRpcResponseSchema>);
      }
      const iterator = answer[Symbol.asyncIterator]();
      let first: IteratorResult<unknown>;
      try {
        first = await iterator.next();
      } catch (error) {
        // Before any event (the task not found, a malformed message): a plain JSON-RPC error, as the SDK's adapter does.
        done();
        return reply.status(200).send({ jsonrpc: "2.0", id: rpcId, error: JsonRpcTransportHandler.mapToJSONRPCError(error) });
      }
      // The shared SSE base (retry line, keep-alives, end by token expiry or 10 minutes), pulled as the client reads.
      const stream = new A2aSseStream(iterator, first, {
        rpcId,
        signal: controller.signal,
        closing: () => closing,
        onEnd: () => {
          controller.abort();
          done();
        },
      }, principal.expiresAt);
      return reply
        .status(200)
        .header("Content-Type", "text/event-stream; charset=utf-8")
        .header("Cache-Control", "no-cache")
        .header("X-Accel-Buffering", "no")
        .send(stream as unknown as string);
    });
  };
}
