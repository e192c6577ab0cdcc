/**
 * @module http/routes/prompts
 * The prompt store's API (issue 17) under `/api/prompts`: list and search, save (every save a new immutable version),
 * read a version by number or label, history, diff, restore, move a label, render with variables, delete. Scopes
 * `prompts:read` (reading and rendering) and `prompts:write` (changing); the rules (owner, visibility, labels,
 * variables, vault references) are the service's (prompts/prompt-service.ts).
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  ErrorBodySchema,
  ListPromptsQuerySchema,
  ListPromptsResponseSchema,
  ListPromptVersionsQuerySchema,
  ListPromptVersionsResponseSchema,
  PromptDiffQuerySchema,
  PromptDiffSchema,
  PromptInfoSchema,
  PromptNameSchema,
  PromptResponseSchema,
  PromptSelectorSchema,
  RenderPromptRequestSchema,
  RenderPromptResponseSchema,
  RestorePromptRequestSchema,
  SavePromptRequestSchema,
  SetPromptLabelRequestSchema,
  SettablePromptLabelSchema,
} from "@kai/protocol";
import type { PromptService } from "../../prompts/prompt-service.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const tags = ["prompts"];
const NameParamsSchema = z.strictObject({ name: PromptNameSchema });
const LabelParamsSchema = z.strictObject({ name: PromptNameSchema, label: SettablePromptLabelSchema });
const PromptOnlySchema = z.object({ prompt: PromptInfoSchema });
const promptPath = (name: string) => `/api/prompts/${encodeURIComponent(name)}`;

export function promptRoutes(prompts: PromptService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/prompts", {
      config: { scopes: ["prompts:read"], bucket: "read" },
      schema: {
        tags,
        summary: "Prompts the caller may see, by name; `q` searches (every word, by prefix) names, descriptions, tags and newest templates",
        security,
        querystring: ListPromptsQuerySchema,
        response: { 200: ListPromptsResponseSchema, ...errors },
      },
    }, async (request) => prompts.list(request.query, principalOf(request)));

    app.put("/api/prompts/:name", {
      config: { scopes: ["prompts:write"], bucket: "write" },
      schema: {
        tags,
        summary: "Save a new version of a prompt (201 when this creates the prompt)",
        description:
          "Every save is a new immutable version; `latest` moves to it, and `labels` given move too. Every `{{variable}}` must be declared " +
          "in `variables` (422 `prompt_template_invalid` otherwise). Only the owner (or an admin) saves to an existing prompt.",
        security,
        params: NameParamsSchema,
        body: SavePromptRequestSchema,
        response: { 200: PromptResponseSchema, 201: PromptResponseSchema, 409: ErrorBodySchema, 422: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const { created, ...saved } = await prompts.save(request.params.name, request.body, principalOf(request));
      if (created) reply.status(201).header("Location", promptPath(request.params.name));
      return saved;
    });

    app.get("/api/prompts/:name", {
      config: { scopes: ["prompts:read"], bucket: "read" },
      schema: {
        tags,
        summary: "A prompt and one of its versions: `version`, or `label` (an unknown label is 404, never another version); neither: `latest`",
        security,
        params: NameParamsSchema,
        querystring: PromptSelectorSchema,
        response: { 200: PromptResponseSchema, ...errors },
      },
    }, async (request) => prompts.get(request.params.name, request.query, principalOf(request)));

    app.get("/api/prompts/:name/versions", {
      config: { scopes: ["prompts:read"], bucket: "read" },
      schema: { tags, summary: "A prompt's versions, newest first", security, params: NameParamsSchema, querystring: ListPromptVersionsQuerySchema, response: { 200: ListPromptVersionsResponseSchema, ...errors } },
    }, async (request) => prompts.versions(request.params.name, request.query, principalOf(request)));

    app.get("/api/prompts/:name/diff", {
      config: { scopes: ["prompts:read"], bucket: "read" },
      schema: { tags, summary: "What changed between two versions: template lines and declared variables", security, params: NameParamsSchema, querystring: PromptDiffQuerySchema, response: { 200: PromptDiffSchema, ...errors } },
    }, async (request) => prompts.diff(request.params.name, request.query.from, request.query.to, principalOf(request)));

    app.post("/api/prompts/:name/restore", {
      config: { scopes: ["prompts:write"], bucket: "write" },
      schema: {
        tags,
        summary: "Restore an old version: a new version copying its template and variables",
        security,
        params: NameParamsSchema,
        body: RestorePromptRequestSchema,
        response: { 200: PromptResponseSchema, 409: ErrorBodySchema, ...errors },
      },
    }, async (request) => prompts.restore(request.params.name, request.body.version, request.body.message, principalOf(request)));

    app.put("/api/prompts/:name/labels/:label", {
      config: { scopes: ["prompts:write"], bucket: "write" },
      schema: {
        tags,
        summary: "Point a label (e.g. production, staging) at a version; `latest` is automatic and cannot be set",
        security,
        params: LabelParamsSchema,
        body: SetPromptLabelRequestSchema,
        response: { 200: PromptOnlySchema, ...errors },
      },
    }, async (request) => ({ prompt: await prompts.setLabel(request.params.name, request.params.label, request.body.version, principalOf(request)) }));

    app.delete("/api/prompts/:name/labels/:label", {
      config: { scopes: ["prompts:write"], bucket: "write" },
      schema: {
        tags,
        summary: "Remove a label; reads by it are 404 from then on (never another version)",
        security,
        params: LabelParamsSchema,
        response: { 200: PromptOnlySchema, ...errors },
      },
    }, async (request) => ({ prompt: await prompts.removeLabel(request.params.name, request.params.label, principalOf(request)) }));

    app.post("/api/prompts/:name/render", {
      config: { scopes: ["prompts:read"], bucket: "read" },
      schema: {
        tags,
        summary: "Render a version with variables",
        description:
          "Missing required, undeclared or ill-typed variables: 422 `prompt_variables_invalid`. `{{vault:name}}` references are read as the caller " +
          "(needs `vault:read` and the secret within the token's secret patterns, else 403).",
        security,
        params: NameParamsSchema,
        body: RenderPromptRequestSchema,
        response: { 200: RenderPromptResponseSchema, 422: ErrorBodySchema, 503: ErrorBodySchema, ...errors },
      },
    }, async (request) => {
      const { version, label, variables } = request.body;
      return prompts.render(request.params.name, { version, label }, variables, principalOf(request), request.id);
    });

    app.delete("/api/prompts/:name", {
      config: { scopes: ["prompts:write"], bucket: "write" },
      schema: { tags, summary: "Delete a prompt with every version", security, params: NameParamsSchema, response: { 204: z.null().describe("Removed"), ...errors } },
    }, async (request, reply) => {
      await prompts.delete(request.params.name, principalOf(request));
      return reply.status(204).send(null);
    });
  };
}
