/**
 * @module http/routes/agent-sign-in
 * `POST /api/auth/challenge`: an agent asks for a one-time challenge for its DID, signs the challenge's `message`
 * with its key and sends the signature to `POST /api/auth/login` (auth/agents/agent-sign-in.ts checks it). Public
 * (the agent has no token yet): registered in the sign-in scope, limited per client address by the `auth` tier.
 * The answer is the same for any well-formed DID, whether or not an agent has it.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ChallengeRequestSchema, ChallengeResponseSchema, ErrorBodySchema } from "@kai/protocol";
import type { AgentSignIn } from "../../auth/sign-in-ports.js";
import { AUTH_TIER } from "../rate-limit.js";

const errors = { 400: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema };

export function agentSignInRoutes(agents: AgentSignIn): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/auth/challenge", {
      config: AUTH_TIER,
      schema: {
        tags: ["auth"],
        summary: "Ask for a one-time sign-in challenge for an agent's DID (no authentication)",
        description:
          "Sign the UTF-8 bytes of `message` with the Ed25519 key of the DID and send `{did, challengeId, signature}` " +
          "(signature base64url) to `POST /api/auth/login` before `expiresAt`. Each challenge can be answered once.",
        security: [],
        body: ChallengeRequestSchema,
        response: { 200: ChallengeResponseSchema, ...errors },
      },
    }, async (request, reply) => reply.header("Cache-Control", "no-store").send(await agents.challenge(request.body.did)));
  };
}
