/**
 * @module http/routes/memory
 * Semantic memory's API (issue 17, docs/data/memory.md): add a memory (201, or 200 with the memory stored first when
 * the text is already in the namespace), show one, search by meaning with metadata filters, delete one, and delete
 * by filter or a whole namespace. Memories are their owner's: another owner's memory is "not found". An admin moves
 * every memory to another embedding model with the re-embedding job (memory/reembed-job.ts).
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  AddMemoryRequestSchema,
  AddMemoryResponseSchema,
  DeleteMemoriesRequestSchema,
  DeleteMemoriesResponseSchema,
  ErrorBodySchema,
  MemoryIdSchema,
  MemoryResponseSchema,
  memoryFiltersOf,
  ReembedMemoriesRequestSchema,
  ReembedStatusSchema,
  SearchMemoryQuerySchema,
  SearchMemoryResponseSchema,
} from "@kai/protocol";
import type { MemoryService } from "../../memory/memory-service.js";
import type { ReembedJob } from "../../memory/reembed-job.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema };
/** The gateway's answers when embedding fails (no service, the upstream), and the index being unavailable. */
const embedErrors = { 502: ErrorBodySchema, 503: ErrorBodySchema, 504: ErrorBodySchema };
const security = [{ bearer: [] }];
const MemoryParamsSchema = z.strictObject({ id: MemoryIdSchema });

export function memoryRoutes(memory: MemoryService, reembed: ReembedJob): FastifyPluginAsyncZod {
  return async (app) => {
    // Registered before /api/memory/:id, which would otherwise not match "reembed" anyway (not a memory id).
    app.post("/api/memory/reembed", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: {
        tags: ["memory"],
        summary: "Re-embed every memory under another model (admin)",
        description:
          "Starts the background job that moves every memory not yet under `model` (absent: `memory.model`) to it: texts embedded " +
          "through the gateway as the caller, in batches; rows and index entries replaced. 202 with its status; follow it with " +
          "`GET /api/memory/reembed`. 409 `conflict` while one runs. Starting again after a failure or an interruption resumes.",
        security,
        body: ReembedMemoriesRequestSchema,
        response: { 202: ReembedStatusSchema, 409: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => reply.status(202).send(await reembed.start(principalOf(request), request.body.model)));

    app.get("/api/memory/reembed", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["memory"],
        summary: "The re-embedding job's status and progress (admin)",
        description: "`state` idle, running, completed, failed (with the error), canceled or interrupted (its instance stopped); `done` of `total`. The same on every instance.",
        security,
        response: { 200: ReembedStatusSchema, ...errors },
      },
    }, async () => reembed.status());

    app.post("/api/memory/reembed/cancel", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: {
        tags: ["memory"],
        summary: "Cancel the running re-embedding (admin)",
        description: "It stops after its current batch, on whichever instance runs it; memories already moved stay moved. 409 `conflict` when none runs.",
        security,
        response: { 200: ReembedStatusSchema, 409: ErrorBodySchema, ...errors },
      },
    }, async () => reembed.cancel());

    app.post("/api/memory", {
      config: { scopes: ["memory:write"], bucket: "write" },
      schema: {
        tags: ["memory"],
        summary: "Add a memory",
        description:
          "Embeds `text` through the node's gateway (as the caller) and stores it in the caller's `namespace`. " +
          "The same text already in the namespace is not stored twice: 200 with the memory stored first (`created: false`).",
        security,
        body: AddMemoryRequestSchema,
        response: { 200: AddMemoryResponseSchema, 201: AddMemoryResponseSchema, ...embedErrors, ...errors },
      },
    }, async (request, reply) => {
      const outcome = await memory.add(request.body, principalOf(request));
      return reply.status(outcome.created ? 201 : 200).send(outcome);
    });

    app.get("/api/memory/search", {
      config: { scopes: ["memory:read"], bucket: "read" },
      schema: {
        tags: ["memory"],
        summary: "Search memories by meaning",
        description:
          "Nearest memories to `q` by cosine similarity, best first, with scores. `filter[key]=value` keeps memories whose metadata " +
          "has that value (all filters must hold); filters apply inside the search, so `limit` results come back whenever that many match. " +
          "`expand=true` adds the memories the results relate to (with `relatedTo`).",
        security,
        querystring: SearchMemoryQuerySchema,
        response: { 200: SearchMemoryResponseSchema, ...embedErrors, ...errors },
      },
    }, async (request) => memory.search(request.query, memoryFiltersOf(request.query), principalOf(request)));

    app.get("/api/memory/:id", {
      config: { scopes: ["memory:read"], bucket: "read" },
      schema: { tags: ["memory"], summary: "One memory", security, params: MemoryParamsSchema, response: { 200: MemoryResponseSchema, ...errors } },
    }, async (request) => ({ memory: await memory.get(request.params.id, principalOf(request)) }));

    app.delete("/api/memory/:id", {
      config: { scopes: ["memory:write"], bucket: "write" },
      schema: { tags: ["memory"], summary: "Delete a memory (never returned again)", security, params: MemoryParamsSchema, response: { 204: z.null().describe("Deleted"), ...errors } },
    }, async (request, reply) => {
      await memory.delete(request.params.id, principalOf(request));
      return reply.status(204).send(null);
    });

    app.post("/api/memory/delete", {
      config: { scopes: ["memory:write"], bucket: "write" },
      schema: {
        tags: ["memory"],
        summary: "Delete memories by metadata filter, or a whole namespace",
        description: "`filter` (metadata equality, all must hold) or `all: true` (every memory of the namespace). Answers how many were deleted.",
        security,
        body: DeleteMemoriesRequestSchema,
        response: { 200: DeleteMemoriesResponseSchema, ...errors },
      },
    }, async (request) => ({ deleted: await memory.deleteWhere(request.body, principalOf(request)) }));
  };
}
