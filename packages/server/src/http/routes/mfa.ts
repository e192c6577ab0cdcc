/**
 * @module http/routes/mfa
 * Second factors (issue 14).
 * - `mfaRoutes` (protected scope): the signed-in user's own factors — status, TOTP enrolment/confirmation/removal,
 *   recovery codes, passkeys — open to any valid token that belongs to a user (a token without a user, such as the
 *   admin token, finds no "me": 404); and the admin reset of another user's factors (scope `admin`). Changes to a user's
 *   factors need one of their current factors in `proof` once they have one (auth/mfa/mfa-service.ts).
 * - `passkeySignInRoutes` (public sign-in scope, `auth` rate-limit tier): a passkey challenge, and passwordless
 *   sign-in with it. The challenge also serves as the passkey second factor of `POST /api/auth/login`.
 * Secrets (TOTP secret, recovery codes, tokens) are answered `Cache-Control: no-store` and never logged.
 */
import { z } from "zod";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  ErrorBodySchema,
  ListPasskeysResponseSchema,
  LoginResponseSchema,
  MfaProofRequestSchema,
  MfaStatusSchema,
  PasskeyLoginRequestSchema,
  PasskeyRegistrationOptionsRequestSchema,
  PasskeySignInOptionsRequestSchema,
  RecoveryCodesResponseSchema,
  RegisterPasskeyRequestSchema,
  RegisterPasskeyResponseSchema,
  TotpConfirmRequestSchema,
  TotpConfirmResponseSchema,
  TotpEnrolRequestSchema,
  TotpEnrolResponseSchema,
  WebAuthnOptionsResponseSchema,
} from "@kai/protocol";
import type { UserRow } from "../../storage/contracts/identity-store.js";
import type { MfaService, MfaContext } from "../../auth/mfa/mfa-service.js";
import type { SessionStarter } from "../../auth/sign-in-ports.js";
import { principalOf, userIdOf } from "../authenticate.js";
import { sendSession, signInClientOf } from "../session-reply.js";
import { AUTH_TIER } from "../rate-limit.js";
import { ApiError } from "../../errors.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const PROOF_NOTE = " Once the user has a factor, `proof` must carry one of them (`code`, `recoveryCode` or `passkey`): `mfa_required` without it, `invalid_credentials` when wrong.";

export interface MfaRouteDeps {
  mfa: MfaService;
}

/** The signed-in user; `not_found` for a token that belongs to no user (as `/api/users/me`), 401 when the user is gone. */
async function meOf(mfa: MfaService, request: FastifyRequest): Promise<UserRow> {
  const user = await mfa.user(userIdOf(request));
  if (!user) throw new ApiError("unauthorized", "the user of this token no longer exists");
  return user;
}

const contextOf = (request: FastifyRequest): MfaContext => ({ address: request.ip });
const noStore = (reply: FastifyReply) => reply.header("Cache-Control", "no-store");

export function mfaRoutes(deps: MfaRouteDeps): FastifyPluginAsyncZod {
  const { mfa } = deps;
  return async (app) => {
    app.get("/api/users/me/mfa", {
      config: { scopes: [], bucket: "read" },
      schema: { tags: ["mfa"], summary: "Your second factors: what is enrolled, whether your role requires one", security, response: { 200: MfaStatusSchema, ...errors } },
    }, async (request) => mfa.status(await meOf(mfa, request)));

    app.post("/api/users/me/mfa/totp", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["mfa"],
        summary: "Start a TOTP enrolment: the secret, its otpauth:// URI and a QR code (shown once)",
        description: "Confirm with `POST /api/users/me/mfa/totp/confirm` and a first code; until then it is not a factor. 409 when TOTP is already enabled." + PROOF_NOTE,
        security,
        body: TotpEnrolRequestSchema.optional(),
        response: { 201: TotpEnrolResponseSchema, ...errors },
      },
    }, async (request, reply) => {
      const enrolment = await mfa.beginTotp(await meOf(mfa, request), request.body?.proof, contextOf(request));
      return noStore(reply).status(201).send(enrolment);
    });

    app.post("/api/users/me/mfa/totp/confirm", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["mfa"],
        summary: "Confirm TOTP with a first code; answers ten recovery codes when you had none (shown once)",
        security,
        body: TotpConfirmRequestSchema,
        response: { 200: TotpConfirmResponseSchema, ...errors },
      },
    }, async (request, reply) => noStore(reply).send(await mfa.confirmTotp(await meOf(mfa, request), request.body.code, contextOf(request))));

    app.delete("/api/users/me/mfa/totp", {
      config: { scopes: [], bucket: "write" },
      schema: { tags: ["mfa"], summary: "Disable TOTP (needs a current factor in `proof`)", description: PROOF_NOTE.trim(), security, body: MfaProofRequestSchema, response: { 204: z.null().describe("Disabled"), ...errors } },
    }, async (request, reply) => {
      await mfa.disableTotp(await meOf(mfa, request), request.body.proof, contextOf(request));
      return reply.status(204).send(null);
    });

    app.post("/api/users/me/mfa/recovery-codes", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["mfa"],
        summary: "Replace your recovery codes with ten new ones (shown once; needs a current factor in `proof`)",
        description: PROOF_NOTE.trim(),
        security,
        body: MfaProofRequestSchema,
        response: { 200: RecoveryCodesResponseSchema, ...errors },
      },
    }, async (request, reply) => noStore(reply).send({ recoveryCodes: await mfa.regenerateRecoveryCodes(await meOf(mfa, request), request.body.proof, contextOf(request)) }));

    app.post("/api/users/me/passkeys/options", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["mfa"],
        summary: "Start registering a passkey: options for navigator.credentials.create()",
        description: "Answer with `POST /api/users/me/passkeys` and the same `challengeId` before `expiresAt`." + PROOF_NOTE,
        security,
        body: PasskeyRegistrationOptionsRequestSchema.optional(),
        response: { 200: WebAuthnOptionsResponseSchema, ...errors },
      },
    }, async (request, reply) => noStore(reply).send(await mfa.passkeyRegistrationOptions(await meOf(mfa, request), request.body?.proof, contextOf(request))));

    app.post("/api/users/me/passkeys", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["mfa"],
        summary: "Register a passkey: the browser's answer to the options (answers recovery codes when you had none)",
        security,
        body: RegisterPasskeyRequestSchema,
        response: { 201: RegisterPasskeyResponseSchema, ...errors },
      },
    }, async (request, reply) => {
      const { challengeId, response, name } = request.body;
      const registered = await mfa.registerPasskey(await meOf(mfa, request), challengeId, response, name ?? null, contextOf(request));
      return noStore(reply).status(201).send(registered);
    });

    app.get("/api/users/me/passkeys", {
      config: { scopes: [], bucket: "read" },
      schema: { tags: ["mfa"], summary: "Your passkeys", security, response: { 200: ListPasskeysResponseSchema, ...errors } },
    }, async (request) => ({ passkeys: await mfa.listPasskeys(await meOf(mfa, request)) }));

    app.delete("/api/users/me/passkeys/:id", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["mfa"],
        summary: "Remove one of your passkeys (needs a current factor in `proof`)",
        description: PROOF_NOTE.trim(),
        security,
        params: z.strictObject({ id: z.string().min(1).max(1024) }),
        body: MfaProofRequestSchema,
        response: { 204: z.null().describe("Removed"), ...errors },
      },
    }, async (request, reply) => {
      await mfa.deletePasskey(await meOf(mfa, request), request.params.id, request.body.proof, contextOf(request));
      return reply.status(204).send(null);
    });

    app.delete("/api/users/:id/mfa", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: {
        tags: ["mfa"],
        summary: "Reset a user's second factors: TOTP, passkeys and recovery codes (admin)",
        description: "For a user who lost their authenticator and their recovery codes. If their role requires a factor, their next sign-in gives a session for enrolling only.",
        security,
        params: z.strictObject({ id: z.string().min(1).max(128) }),
        response: { 204: z.null().describe("Reset"), ...errors },
      },
    }, async (request, reply) => {
      await mfa.reset(request.params.id, { address: request.ip, actor: principalOf(request).owner });
      return reply.status(204).send(null);
    });
  };
}

export interface PasskeySignInRouteDeps {
  mfa: MfaService;
  sessions: SessionStarter;
}

/** The public passkey routes; register them in the sign-in scope (no bearer token, `auth` tier). */
export function passkeySignInRoutes(deps: PasskeySignInRouteDeps): FastifyPluginAsyncZod {
  const publicErrors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };
  return async (app) => {
    app.post("/api/auth/passkey/options", {
      config: AUTH_TIER,
      schema: {
        tags: ["auth"],
        summary: "A passkey sign-in challenge: options for navigator.credentials.get() (no authentication)",
        description:
          "For passwordless sign-in (`POST /api/auth/passkey/login`) or as the second factor of `POST /api/auth/login` " +
          "(`passkey: {challengeId, response}`). One answer per challenge, before `expiresAt`. No credentials are listed (discoverable passkeys).",
        security: [],
        body: PasskeySignInOptionsRequestSchema.optional(),
        response: { 200: WebAuthnOptionsResponseSchema, ...publicErrors },
      },
    }, async (_request, reply) => noStore(reply).send(await deps.mfa.passkeySignInOptions()));

    app.post("/api/auth/passkey/login", {
      config: AUTH_TIER,
      schema: {
        tags: ["auth"],
        summary: "Sign in with a passkey, without a password (no authentication)",
        description:
          "The browser's answer to the options of `POST /api/auth/passkey/options`; the passkey must verify its user (PIN or biometric). " +
          "Any refusal is `invalid_credentials`. `mode: cookie` sets HttpOnly cookies and answers only the CSRF token.",
        security: [],
        body: PasskeyLoginRequestSchema,
        response: { 200: LoginResponseSchema, ...publicErrors },
      },
    }, async (request, reply) => {
      const client = signInClientOf(request);
      const user = await deps.mfa.passkeySignIn(request.body.challengeId, request.body.response, { address: client.address });
      const issued = await deps.sessions.start(user, { method: "passkey", mfa: true, ...client });
      return sendSession(reply, issued, request.body.mode);
    });
  };
}
