/**
 * @module http/routes/a2a-rest
 * The node as an A2A v1.0 agent over the HTTP+JSON (REST) binding (issue 16), beside the JSON-RPC binding at `/a2a`
 * (routes/a2a.ts). Its base is `/a2a/rest` (the card's `HTTP+JSON` interface URL; A2A v1.0 puts the paths right
 * under the interface URL, no `/v1`):
 * - `POST /message:send`, `POST /message:stream` (SSE), `GET /tasks`, `GET /tasks/{id}`,
 *   `POST /tasks/{id}:cancel`, `GET|POST /tasks/{id}:subscribe` (SSE), `GET /extendedAgentCard`,
 *   `POST|GET /tasks/{id}/pushNotificationConfigs`, `GET|DELETE /tasks/{id}/pushNotificationConfigs/{configId}`.
 * Every call goes to the same KcoreRequestHandler as JSON-RPC (one implementation of A2A's operations on kCore, so
 * the bindings cannot drift), with the same authentication, scope (tasks:run), rate-limit bucket, `A2A-Version`
 * check (against the card's HTTP+JSON interface) and per-token stream quota. Bodies and answers are A2A's proto
 * JSON (`application/json` or `application/a2a+json`), coded with the SDK's own encoders; an A2A failure is its AIP-193 body with the SDK's HTTP status for it
 * (agents/a2a/server/rest/rest-errors.ts); failures before the binding (no token, a wrong scope, too many requests,
 * a body that is not JSON) are the node's own error body, as on every route.
 * The SDK's Express adapter is not used (this server is Fastify); its REST handler is not exported on its own.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import {
  AgentCard,
  ListTaskPushNotificationConfigsResponse,
  ListTasksResponse,
  SendMessageResponse,
  Task,
  TaskPushNotificationConfig,
  type StreamResponse,
} from "@a2a-js/sdk";
import { validateVersion, type ServerCallContext } from "@a2a-js/sdk/server";
import { RequestMalformedError, UnsupportedOperationError } from "@a2a-js/sdk/errors";
import { A2aRestErrorBodySchema, ErrorBodySchema } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import { principalOf } from "../authenticate.js";
import { A2A_REST_PATH, type AgentCardSource } from "../../agents/a2a/server/agent-card.js";
import { KcoreRequestHandler } from "../../agents/a2a/server/kcore-request-handler.js";
import { restErrorAnswer } from "../../agents/a2a/server/rest/rest-errors.js";
import { RestSseStream } from "../../agents/a2a/server/rest/rest-sse-stream.js";
import { listTasksRequestOf, pushConfigOf, sendMessageRequestOf, taskVerbOf } from "../../agents/a2a/server/rest/rest-requests.js";
import { a2aCallContext, uncoercibleValueAt, type A2aRouteDeps } from "./a2a.js";

/** `application/a2a+json` (any parameters after it are kept). */
const A2A_MEDIA_TYPE = /^\s*application\/a2a\+json(?=\s*(;|$))/i;
const PROTO_JSON = z.record(z.string(), z.unknown());
const A2A_OR_NODE_ERROR = z.union([ErrorBodySchema, A2aRestErrorBodySchema]);
const RESPONSES = {
  400: A2A_OR_NODE_ERROR,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: A2A_OR_NODE_ERROR,
  429: ErrorBodySchema,
};
const TASK_SEGMENT = z.string().min(1).max(300);
const ID_PARAMS = z.object({ id: TASK_SEGMENT.describe("a task id; on POST (and GET for :subscribe), the id followed by :cancel or :subscribe") });
const CONFIG_PARAMS = z.object({ id: TASK_SEGMENT, configId: z.string().min(1).max(300) });
const BODY = PROTO_JSON.nullish();
const LIST_QUERY = z.object({
  contextId: z.string().max(300).optional(),
  status: z.string().max(40).optional().describe("a TaskState name, e.g. TASK_STATE_COMPLETED"),
  pageSize: z.string().regex(/^(100|[1-9]\d?)$/, "an integer from 1 to 100").optional(),
  pageToken: z.string().max(500).optional(),
  historyLength: z.string().regex(/^\d{1,6}$/, "a non-negative integer").optional(),
  statusTimestampAfter: z.string().max(64).optional(),
  includeArtifacts: z.enum(["true", "false"]).optional(),
  tenant: z.string().max(0, "this node has no tenants").optional(),
});
const GET_QUERY = z.object({ historyLength: z.string().regex(/^\d{1,6}$/, "a non-negative integer").optional(), tenant: z.string().max(0, "this node has no tenants").optional() });

const describeCall = (summary: string) => ({ tags: ["agents"], summary, description: "A2A v1.0 HTTP+JSON binding; send `A2A-Version: 1.0`. See docs/agents/a2a.md.", security: [{ bearer: [] }] });

/** How the caller reached this node (the card's interface URLs are built from it), as routes/a2a.ts. */
function baseUrlOf(request: { protocol: string; host: string }): string {
  return `${request.protocol}://${request.host}`;
}

export function a2aRestRoutes(deps: A2aRouteDeps, source: AgentCardSource): FastifyPluginAsyncZod {
  return async (app) => {
    const handler = new KcoreRequestHandler({ tasks: deps.tasks, hub: deps.hub, logger: deps.logger, ...(deps.push ? { push: deps.push } : {}) });
    const open = new Set<AbortController>();
    let closing = false;
    app.addHook("preClose", async () => {
      closing = true;
      for (const controller of open) controller.abort();
    });
    // A2A's own media type is JSON: read it with the node's one JSON parser (json-body.ts), as application/json.
    app.addHook("onRequest", async (request) => {
      const type = request.headers["content-type"];
      if (typeof type === "string" && A2A_MEDIA_TYPE.test(type)) request.headers["content-type"] = type.replace(A2A_MEDIA_TYPE, "application/json");
    });

    /** The call's context (the caller, its hang-up signal, a Last-Event-ID), after the version check. */
    async function contextOf(request: FastifyRequest, controller: AbortController): Promise<ServerCallContext> {
      const context = a2aCallContext(request, controller.signal);
      validateVersion(context.requestedVersion, await source.card(baseUrlOf(request)), "HTTP+JSON");
      return context;
    }

    /** One JSON answer: `work` gives the status and the proto JSON; an A2A failure is its AIP-193 body. */
    async function answer(request: FastifyRequest, reply: FastifyReply, work: (context: ServerCallContext) => Promise<{ status: number; json: unknown }>) {
      const controller = new AbortController();
      open.add(controller);
      reply.raw.once("close", () => controller.abort());
      try {
        const uncoercible = uncoercibleValueAt(request.body, "body");
        if (uncoercible) throw new RequestMalformedError(`${uncoercible} is an object with its own toString or valueOf key where text or a number is expected`);
        const { status, json } = await work(await contextOf(request, controller));
        return reply.status(status).send(status === 204 ? null : json);
      } catch (error) {
        const failed = restErrorAnswer(error, deps.logger);
        return reply.status(failed.status).send(failed.body);
      } finally {
        open.delete(controller);
      }
    }

    /** A streaming call: SSE once the first event is there; a failure before it is a plain AIP-193 answer. */
    async function stream(request: FastifyRequest, reply: FastifyReply, start: (context: ServerCallContext) => AsyncGenerator<StreamResponse, void, undefined>) {
      const principal = principalOf(request);
      const release = deps.hub.quota.take(principal.tokenId);
      if (!release) throw new ApiError("rate_limited", "this token has too many event streams open; close one first");
      const controller = new AbortController();
      open.add(controller);
      reply.raw.once("close", () => controller.abort());
      const done = () => {
        open.delete(controller);
        release();
      };
      let iterator: AsyncIterator<StreamResponse>;
      let first: IteratorResult<StreamResponse>;
      try {
        const uncoercible = uncoercibleValueAt(request.body, "body");
        if (uncoercible) throw new RequestMalformedError(`${uncoercible} is an object with its own toString or valueOf key where text or a number is expected`);
        iterator = start(await contextOf(request, controller))[Symbol.asyncIterator]();
        first = await iterator.next();
      } catch (error) {
        done();
        const failed = restErrorAnswer(error, deps.logger);
        return reply.status(failed.status).send(failed.body);
      }
      const sse = new RestSseStream(iterator, first, {
        signal: controller.signal,
        closing: () => closing,
        onEnd: () => {
          controller.abort();
          done();
        },
        logger: deps.logger,
      }, principal.expiresAt);
      return reply
        .status(200)
        .header("Content-Type", "text/event-stream; charset=utf-8")
        .header("Cache-Control", "no-cache")
        .header("X-Accel-Buffering", "no")
        .send(sse as unknown as string);
    }

    const config = { scopes: ["tasks:run" as const], bucket: "write" as const };
    const base = A2A_REST_PATH;

    app.post(`${base}/message::send`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON SendMessage: run a message as a kCore task (blocking unless configuration.returnImmediately)"), body: BODY, response: { 200: PROTO_JSON.describe("a SendMessageResponse ({task} or {message})"), ...RESPONSES } },
    }, (request, reply) =>
      answer(request, reply, async (context) => {
        const result = await handler.sendMessage(sendMessageRequestOf(request.body), context);
        const payload = "messageId" in result ? { $case: "message" as const, value: result } : { $case: "task" as const, value: result };
        return { status: 200, json: SendMessageResponse.toJSON({ payload }) };
      }),
    );

    app.post(`${base}/message::stream`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON SendStreamingMessage: a task's events as server-sent events (each data: a StreamResponse)"), body: BODY, response: { 200: z.string().describe("text/event-stream"), ...RESPONSES } },
    }, (request, reply) => stream(request, reply, (context) => handler.sendMessageStream(sendMessageRequestOf(request.body), context)));

    app.get(`${base}/tasks`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON ListTasks: the caller's tasks"), querystring: LIST_QUERY, response: { 200: PROTO_JSON.describe("a ListTasksResponse"), ...RESPONSES } },
    }, (request, reply) =>
      answer(request, reply, async (context) => ({ status: 200, json: ListTasksResponse.toJSON(await handler.listTasks(listTasksRequestOf(request.query), context)) })),
    );

    const subscribe = (request: FastifyRequest, reply: FastifyReply, id: string) => stream(request, reply, (context) => handler.resubscribe({ tenant: "", id }, context));

    app.get(`${base}/tasks/:id`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON GetTask (`tasks/{id}`), or SubscribeToTask as SSE (`tasks/{id}:subscribe`; Last-Event-ID: <taskId>:<seq> resumes after it)"), params: ID_PARAMS, querystring: GET_QUERY, response: { 200: z.union([PROTO_JSON.describe("a Task"), z.string().describe("text/event-stream")]), ...RESPONSES } },
    }, (request, reply) => {
      const { id, verb } = taskVerbOf(request.params.id);
      if (verb === "subscribe") return subscribe(request, reply, id);
      return answer(request, reply, async (context) => {
        if (verb !== undefined) throw new UnsupportedOperationError(`GET tasks/{id}:${verb.slice(0, 40)} is not an A2A operation`);
        const historyLength = request.query.historyLength;
        return { status: 200, json: Task.toJSON(await handler.getTask({ tenant: "", id, ...(historyLength !== undefined ? { historyLength: Number(historyLength) } : {}) }, context)) };
      });
    });

    app.post(`${base}/tasks/:id`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON CancelTask (`tasks/{id}:cancel`) or SubscribeToTask as SSE (`tasks/{id}:subscribe`)"), params: ID_PARAMS, body: BODY, response: { 200: z.union([PROTO_JSON.describe("the canceled Task"), z.string().describe("text/event-stream")]), ...RESPONSES } },
    }, (request, reply) => {
      const { id, verb } = taskVerbOf(request.params.id);
      if (verb === "subscribe") return subscribe(request, reply, id);
      return answer(request, reply, async (context) => {
        if (verb !== "cancel") throw new UnsupportedOperationError(`POST tasks/{id}${verb === undefined ? "" : `:${verb.slice(0, 40)}`} is not an A2A operation: use :cancel or :subscribe`);
        return { status: 200, json: Task.toJSON(await handler.cancelTask({ tenant: "", id, metadata: undefined }, context)) };
      });
    });

    app.post(`${base}/tasks/:id/pushNotificationConfigs`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON CreateTaskPushNotificationConfig"), params: ID_PARAMS, body: BODY, response: { 201: PROTO_JSON.describe("the TaskPushNotificationConfig"), ...RESPONSES } },
    }, (request, reply) =>
      answer(request, reply, async (context) => ({
        status: 201,
        json: TaskPushNotificationConfig.toJSON(await handler.createTaskPushNotificationConfig(pushConfigOf(request.body, request.params.id), context)),
      })),
    );

    app.get(`${base}/tasks/:id/pushNotificationConfigs`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON ListTaskPushNotificationConfigs"), params: ID_PARAMS, response: { 200: PROTO_JSON.describe("a ListTaskPushNotificationConfigsResponse"), ...RESPONSES } },
    }, (request, reply) =>
      answer(request, reply, async (context) => ({
        status: 200,
        json: ListTaskPushNotificationConfigsResponse.toJSON(await handler.listTaskPushNotificationConfigs({ tenant: "", taskId: request.params.id, pageSize: 0, pageToken: "" }, context)),
      })),
    );

    app.get(`${base}/tasks/:id/pushNotificationConfigs/:configId`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON GetTaskPushNotificationConfig"), params: CONFIG_PARAMS, response: { 200: PROTO_JSON.describe("the TaskPushNotificationConfig"), ...RESPONSES } },
    }, (request, reply) =>
      answer(request, reply, async (context) => ({
        status: 200,
        json: TaskPushNotificationConfig.toJSON(await handler.getTaskPushNotificationConfig({ tenant: "", taskId: request.params.id, id: request.params.configId }, context)),
      })),
    );

    app.delete(`${base}/tasks/:id/pushNotificationConfigs/:configId`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON DeleteTaskPushNotificationConfig"), params: CONFIG_PARAMS, response: { 204: z.null().describe("Removed"), ...RESPONSES } },
    }, (request, reply) =>
      answer(request, reply, async (context) => {
        await handler.deleteTaskPushNotificationConfig({ tenant: "", taskId: request.params.id, id: request.params.configId }, context);
        return { status: 204, json: null };
      }),
    );

    app.get(`${base}/extendedAgentCard`, {
      config,
      schema: { ...describeCall("A2A HTTP+JSON GetExtendedAgentCard (this node has none: the public card is the whole card)"), response: { 200: PROTO_JSON.describe("an AgentCard"), ...RESPONSES } },
    }, (request, reply) => answer(request, reply, async () => ({ status: 200, json: AgentCard.toJSON(await handler.getAuthenticatedExtendedAgentCard()) })));
  };
}
