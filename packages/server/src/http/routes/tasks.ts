/**
 * @module http/routes/tasks
 * kCore's task API (issue 16): create a task (202: stored and started; the plan given, one step for an agent or
 * a capability, or planned by kPlanner), read it, list the caller's tasks, cancel, and answer an input-required
 * question. A task is its owner's (an admin sees every task); another's task is "not found".
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { AnswerTaskRequestSchema, CreateTaskRequestSchema, ErrorBodySchema, ListTasksQuerySchema, ListTasksResponseSchema, TaskSchema } from "@kai/protocol";
import type { TaskEngine } from "../../agents/kcore/task-engine.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const TaskParamsSchema = z.strictObject({ id: z.string().min(1).max(128) });
const TaskResponseSchema = z.object({ task: TaskSchema });
/**
 * The create body's schema, compiled (as the register route's, routes/services.ts): zod's generated parser, falling
 * back to the schema itself for a body it refuses, so a 400 keeps its error body. In the node, between other requests,
 * the runtime parser took 129 µs per create and the compiled one 80 µs (p50, measured in the agent bench: ~2 % of a
 * one-step task). `strict`: should the schema stop compiling, the server fails at start instead of going slow.
 */
const CreateTaskBodySchema = z.compile(CreateTaskRequestSchema, { strict: true });

export function taskRoutes(tasks: TaskEngine): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/agent/task", {
      config: { scopes: ["tasks:run"], bucket: "write" },
      schema: {
        tags: ["tasks"],
        summary: "Create a task (kCore)",
        description:
          "Stores the task and starts it: the `plan` given, one step for `agent` and/or `capability`, else a plan from kPlanner. " +
          "Answers 202 once the task is stored. The same `idempotencyKey` returns the task made first. A one-step task may name a stored `prompt` " +
          "(needs prompts:read): checked at create, rendered as the caller into the step's input at dispatch, never stored rendered.",
        security,
        body: CreateTaskBodySchema,
        response: { 202: TaskResponseSchema, 422: ErrorBodySchema, 503: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const task = await tasks.create(request.body, principalOf(request));
      return reply.status(202).header("Location", `/api/agent/task/${task.id}`).send({ task });
    });

    app.get("/api/agent/task/:id", {
      config: { scopes: ["agents:read"], bucket: "read" },
      schema: { tags: ["tasks"], summary: "A task with its steps, result or error", security, params: TaskParamsSchema, response: { 200: TaskResponseSchema, ...errors } },
    }, async (request) => ({ task: await tasks.get(request.params.id, principalOf(request)) }));

    app.get("/api/agent/tasks", {
      config: { scopes: ["agents:read"], bucket: "read" },
      schema: { tags: ["tasks"], summary: "The caller's tasks, newest first (every task for an admin)", security, querystring: ListTasksQuerySchema, response: { 200: ListTasksResponseSchema, ...errors } },
    }, async (request) => tasks.list(request.query, principalOf(request)));

    app.post("/api/agent/task/:id/cancel", {
      config: { scopes: ["tasks:run"], bucket: "write" },
      schema: {
        tags: ["tasks"],
        summary: "Cancel a task",
        description: "Aborts its running steps (the agents' requests are closed). A finished task is returned as it is.",
        security,
        params: TaskParamsSchema,
        response: { 200: TaskResponseSchema, ...errors },
      },
    }, async (request) => ({ task: await tasks.cancel(request.params.id, principalOf(request)) }));

    app.post("/api/agent/task/:id/answer", {
      config: { scopes: ["tasks:run"], bucket: "write" },
      schema: {
        tags: ["tasks"],
        summary: "Answer a task's input-required question",
        description: "The step that asked runs again with `answer`. 409 `task_not_waiting` unless the task is input-required.",
        security,
        params: TaskParamsSchema,
        body: AnswerTaskRequestSchema,
        response: { 200: TaskResponseSchema, 409: ErrorBodySchema, ...errors },
      },
    }, async (request) => ({ task: await tasks.answer(request.params.id, principalOf(request), request.body) }));
  };
}
