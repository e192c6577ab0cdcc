/**
 * @module http/routes/connectors
 * `GET /api/connectors`: the provider connectors this node has, with per operation the request parameters each
 * honours (as JSON Schema). Read by whoever may call the gateway (`gateway:invoke`): it is what the playground and
 * `kai connectors` need to offer a service only the parameters that reach its provider. The description is static
 * (connectors are fixed at build time), so it is passed in as a function rather than computed here.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ConnectorListSchema, ErrorBodySchema, type ConnectorList } from "@kai/protocol";

export function connectorRoutes(describeConnectors: () => ConnectorList): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/connectors", {
      config: { scopes: ["gateway:invoke"], bucket: "read" },
      schema: {
        tags: ["gateway"],
        summary: "The provider connectors and the request parameters each honours per operation",
        security: [{ bearer: [] }],
        response: { 200: ConnectorListSchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async (): Promise<ConnectorList> => describeConnectors());
  };
}
