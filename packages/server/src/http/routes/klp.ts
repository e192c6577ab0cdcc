/**
 * @module http/routes/klp
 * The node's KLP surface over HTTP. None of these routes takes a bearer token:
 * - `GET /.well-known/klp.json`, `GET /klp/discover`, `GET /klp/verify` are public reads whose answers
 *   are signed by the node (only `public` records ever appear);
 * - `POST /klp/message` and `POST /klp/register` are authenticated by the KLP signature of the envelope
 *   they carry and the acceptance rules (clock window, replay memory, grants), not by tokens.
 * They are registered outside the protected scope on purpose; the route-security test lists them.
 * Every answer to a POST is one signed envelope: the reply (200) or an `error` (status by code).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ErrorBodySchema, IdentifierSchema, CapabilitySchema, KLP_HTTP_STATUS, klp } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { KlpNode } from "../../klp/klp-node.js";

/** Envelopes are small; the WebSocket side has the same bound (maxPayload). */
const MESSAGE_BODY_LIMIT = 64 * 1024;

const DiscoverQuerySchema = z.strictObject({
  /** Comma-separated; a service must have all of them. */
  capabilities: z
    .string()
    .max(2048)
    .transform((text) => text.split(",").map((part) => part.trim()).filter(Boolean))
    .pipe(z.array(CapabilitySchema).max(32))
    .optional(),
  location: z.enum(["local", "remote"]).optional(),
  trustLevel: z.coerce.number().int().min(0).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const SIGNED_MESSAGE_DESCRIPTION =
  "Body: one signed KLP envelope (docs/protocol/klp.md). Authenticated by its Ed25519 signature and the acceptance rules, " +
  "not by a bearer token. Answer: one envelope signed by the node — the reply (200) or an `error` whose `payload.code` is the " +
  "KLP code (400 KLP_MALFORMED/KLP_UNSUPPORTED_VERSION, 401 KLP_BAD_SIGNATURE/KLP_STALE, 409 KLP_REPLAY, 403 KLP_UNKNOWN_SENDER/" +
  "KLP_TRUST_INSUFFICIENT/KLP_UNAUTHORIZED, 404 KLP_NOT_FOUND, 429 KLP_RATE_LIMITED, 500 KLP_INTERNAL).";

const REGISTER_ONLY: ReadonlySet<klp.KlpMessageType> = new Set(["capability_announce"]);

export function klpRoutes(node: KlpNode): FastifyPluginAsyncZod {
  return async (app) => {
    // The envelope is checked byte for byte by the acceptance rules, so the body reaches them as bytes:
    // bad JSON and invalid UTF-8 are rule 1 (KLP_MALFORMED, a signed answer), not the API's `invalid_json`,
    // and nothing is decoded leniently (U+FFFD) before the rules see it.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("application/json", { parseAs: "buffer", bodyLimit: MESSAGE_BODY_LIMIT }, (_request, body, done) => {
      done(null, body);
    });

    app.get("/.well-known/klp.json", {
      config: { bucket: "read" },
      schema: {
        tags: ["klp"],
        summary: "The node's KLP document: DID, endpoints, protocol versions, capabilities (signed, no token)",
        security: [],
        response: { 200: klp.KlpNodeDocumentSchema, 429: ErrorBodySchema },
      },
    }, async () => node.nodeDocument());

    app.get("/klp/discover", {
      config: { bucket: "read" },
      schema: {
        tags: ["klp"],
        summary: "KLP discovery: verified public services, signed by the node (no token)",
        security: [],
        querystring: DiscoverQuerySchema,
        response: { 200: klp.KlpDiscoveryAnswerSchema, 400: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async (request) => {
      const { limit, capabilities, location, trustLevel } = request.query;
      const query = { ...(capabilities?.length ? { capabilities } : {}), ...(location ? { location } : {}), ...(trustLevel !== undefined ? { trustLevel } : {}) };
      return node.discoveryAnswer(query, limit);
    });

    app.get("/klp/verify", {
      config: { bucket: "read" },
      schema: {
        tags: ["klp"],
        summary: "Who signed a public service record and whether it verifies (signed by the node, no token)",
        security: [],
        querystring: z.strictObject({ serviceId: IdentifierSchema }),
        response: { 200: klp.KlpVerifyAnswerSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async (request) => {
      const answer = await node.verifyAnswer(request.query.serviceId);
      // Internal and private records are "not found" here: their existence does not leave the node.
      if (!answer) throw new ApiError("not_found", "no public service with this id");
      return answer;
    });

    const signedRoute = (url: string, summary: string, only?: ReadonlySet<klp.KlpMessageType>) =>
      app.post(url, {
        config: { bucket: "write" },
        bodyLimit: MESSAGE_BODY_LIMIT,
        schema: {
          tags: ["klp"],
          summary,
          description: SIGNED_MESSAGE_DESCRIPTION,
          security: [],
          response: {
            200: klp.KlpEnvelopeSchema,
            400: klp.KlpEnvelopeSchema,
            // KLP_BAD_SIGNATURE or KLP_STALE from the node, or, with server.tls.clientCertificates: peers, the refusal of a request
            // without a verified client certificate, made before KLP is reached (API error body).
            401: z.union([klp.KlpEnvelopeSchema, ErrorBodySchema]),
            403: klp.KlpEnvelopeSchema,
            404: klp.KlpEnvelopeSchema,
            409: klp.KlpEnvelopeSchema,
            413: ErrorBodySchema,
            415: ErrorBodySchema,
            // KLP_RATE_LIMITED from the node, or the per-address HTTP limit (API error body).
            429: z.union([klp.KlpEnvelopeSchema, ErrorBodySchema]),
            500: klp.KlpEnvelopeSchema,
          },
        },
      }, async (request, reply) => {
        const body = request.body instanceof Uint8Array || typeof request.body === "string" ? request.body : "";
        const outcome = await node.receive(body, only ? { only } : {});
        // The status follows the KLP code (KLP_HTTP_STATUS, @kai/protocol errors); every status above carries the envelope.
        const status = (outcome.error ? KLP_HTTP_STATUS[outcome.error.code] : 200) as 200;
        return reply.status(status).send(outcome.reply);
      });
    signedRoute("/klp/message", "Send one signed KLP envelope; get one signed envelope back");
    signedRoute("/klp/register", "Register or update a service with its own key: a signed capability_announce with a grant", REGISTER_ONLY);
  };
}

/** `POST /api/klp/grants` (protected scope, admin): lets a key register over KLP. */
export function klpAdminRoutes(node: KlpNode): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/klp/grants", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: {
        tags: ["klp"],
        summary: "Issue a KLP grant from this node (e.g. klp:register for a service's DID)",
        security: [{ bearer: [] }],
        body: klp.KlpGrantRequestSchema,
        response: { 201: klp.KlpTokenGrantSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async (request, reply) => {
      const grant = klp.createGrant({ for: request.body.for, capabilities: request.body.capabilities, ttlSeconds: request.body.ttl }, node.identity);
      return reply.status(201).send(grant);
    });
  };
}
