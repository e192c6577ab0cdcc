/**
 * @module http/front-doors/generic-routes
 * The seed's generic form, `POST /api/route/{capability}` `{"request", "operation"?, "routingHints"?}` →
 * `{"response", "servedBy", "attempts", "overheadMs"}`, for every capability (chat, embeddings, images, vector
 * storage, workflows, custom ones), and `POST /api/services/{id}/check`, a live probe of one service.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { RouteRequestSchema, RouteResponseSchema, ServiceCheckResponseSchema, fieldErrorsFromZod, IdentifierSchema, type ServiceCheckResponse } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import { principalOf } from "../authenticate.js";
import type { NodeMetrics } from "../../metrics/metrics.js";
import { CAPABILITY_OPERATION, type RequestOf, type RouteOperation } from "../../gateway/router/operations.js";
import type { GatewayPort } from "./gateway-port.js";
import { chooseOperation, OPERATION_REQUEST_SCHEMAS } from "./operation-requests.js";
import { GATEWAY_ERROR_RESPONSES, clientGone, clientGoneSignal, markServed } from "./request-context.js";

const errors = GATEWAY_ERROR_RESPONSES;
const CapabilityParamsSchema = z.strictObject({ capability: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9_.:-]*$/i, "a capability name") });

/** What the generic route needs of the plugin runtime (plugins/runtime/plugin-runtime.ts): custom capabilities plugins declare. */
export interface PluginCapabilityPort {
  declares(capability: string): boolean;
  invoke(capability: string, input: unknown, options: { pluginId?: string }): Promise<{ pluginId: string; output: unknown }>;
}

export function genericGatewayRoutes(gateway: GatewayPort, metrics: NodeMetrics, plugins?: PluginCapabilityPort): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/route/:capability", {
      config: { scopes: ["gateway:invoke"], bucket: "gateway" },
      schema: {
        tags: ["gateway"],
        summary: "Route a request for a capability to the best healthy service",
        security: [{ bearer: [] }],
        params: CapabilityParamsSchema,
        body: RouteRequestSchema,
        response: { 200: RouteResponseSchema, ...errors },
      },
    }, async (request, reply) => {
      const started = performance.now();
      const { capability } = request.params;
      // A capability no connector operation serves, declared by an enabled plugin: the plugin's process answers it,
      // its input checked against the manifest's schema (503 plugin_unavailable while it is not running here).
      if (plugins && request.body.operation === undefined && !(capability in CAPABILITY_OPERATION) && plugins.declares(capability)) {
        const { pluginId, output } = await plugins.invoke(capability, request.body.request ?? null, {});
        return { response: output, servedBy: { id: `plugin:${pluginId}`, provider: "plugin" }, attempts: 1, overheadMs: Number((performance.now() - started).toFixed(3)) };
      }
      const choice = chooseOperation(capability, request.body.operation);
      if (!choice.ok) throw new ApiError("validation_failed", choice.message, [{ path: "body.operation", message: choice.message }]);
      const parsed = OPERATION_REQUEST_SCHEMAS[choice.operation].safeParse(request.body.request);
      if (!parsed.success) throw new ApiError("validation_failed", `invalid ${choice.operation} request`, fieldErrorsFromZod(parsed.error as z.ZodError).map((field) => ({ ...field, path: field.path === "(root)" ? "body.request" : `body.request.${field.path}` })));
      if ((parsed.data as { stream?: unknown }).stream === true) {
        throw new ApiError("validation_failed", "streaming is served by /v1/chat/completions", [{ path: "body.request.stream", message: "use /v1/chat/completions for streaming" }]);
      }
      const hints = request.body.routingHints;
      const context = { principal: principalOf(request), cancel: clientGone(reply), requestId: request.id, capability, ...(hints ? { hints } : {}) };
      const preRouteMs = performance.now() - started;
      const result = await gateway.route(choice.operation as RouteOperation, parsed.data as RequestOf<RouteOperation>, context);
      markServed(reply, result, preRouteMs, metrics);
      return {
        response: result.data,
        servedBy: { id: result.serviceId, provider: result.provider },
        attempts: Math.max(1, result.attempts.filter((attempt) => attempt.outcome !== "skipped").length),
        overheadMs: Number((result.overheadMs + preRouteMs).toFixed(3)),
      };
    });

    app.post("/api/services/:id/check", {
      config: { scopes: ["services:read"], bucket: "read" },
      schema: {
        tags: ["services"],
        summary: "Probe a service live through its connector (health, latency, models)",
        security: [{ bearer: [] }],
        params: z.strictObject({ id: IdentifierSchema }),
        response: { 200: ServiceCheckResponseSchema, ...errors },
      },
    }, async (request, reply): Promise<ServiceCheckResponse> => gateway.check(principalOf(request), request.params.id, clientGoneSignal(request, reply)));
  };
}
