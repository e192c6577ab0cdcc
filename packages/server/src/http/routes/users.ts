/**
 * @module http/routes/users
 * Users (issue 14): admins list, create, change (roles, state, a password reset) and delete users and see their
 * sessions; every signed-in user sees and changes their own profile and password, and mints, lists and revokes their
 * personal API tokens, which never hold more than their roles allow (and stop working when the user is disabled,
 * deleted or loses the role).
 *
 * `/api/users/{id}` takes a user's id or username: the id is tried first, then the username (case-insensitively).
 * Ids are UUIDs, so a name can only be shadowed by a user whose id it is, and then the id is what was meant.
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  ChangePasswordRequestSchema,
  CreateTokenRequestSchema,
  CreateTokenResponseSchema,
  CreateUserRequestSchema,
  ErrorBodySchema,
  ListSessionsResponseSchema,
  ListTokensResponseSchema,
  ListUsersResponseSchema,
  UpdateProfileRequestSchema,
  UpdateUserRequestSchema,
  UserSchema,
} from "@kai/protocol";
import type { FastifyRequest } from "fastify";
import type { UserService } from "../../auth/users/user-service.js";
import type { SessionService } from "../../auth/sessions/session-service.js";
import type { TokenService } from "../../auth/token-service.js";
import type { SecurityLog } from "../../auth/security-log.js";
import { recordTokenEvent } from "./tokens.js";
import type { AccessTable } from "../../auth/users/access-table.js";
import { capScopes } from "../../auth/roles.js";
import { principalOf, userIdOf } from "../authenticate.js";
import { ApiError } from "../../errors.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const IdParams = z.strictObject({ id: z.string().min(1).max(128).describe("the user's id or username") });
const TokenIdParams = z.strictObject({ id: z.string().min(1).max(128) });

export interface UserRouteDeps {
  users: UserService;
  sessions: SessionService;
  tokens: TokenService;
  access: AccessTable;
  /** Where personal tokens minted and revoked are recorded (`token_created`, `token_revoked`). */
  log?: SecurityLog;
}

const actorOf = (request: FastifyRequest) => ({ name: principalOf(request).owner, address: request.ip });

export function userRoutes(deps: UserRouteDeps): FastifyPluginAsyncZod {
  const { users } = deps;
  /** The caller's user as the access table holds it (every request by a user's token was checked against it). */
  const me = (request: FastifyRequest) => {
    const user = deps.access.user(userIdOf(request));
    if (!user) throw new ApiError("not_found", "no user behind this token");
    return user;
  };
  return async (app) => {
    app.get("/api/users", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["users"],
        summary: "List users (admin)",
        security,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100), cursor: z.string().max(16).regex(/^\d+$/).optional() }),
        response: { 200: ListUsersResponseSchema, ...errors },
      },
    }, async (request) => {
      const all = await users.list();
      const start = request.query.cursor ? Number(request.query.cursor) : 0;
      const page = all.slice(start, start + request.query.limit);
      const end = start + page.length;
      return { users: await Promise.all(page.map((row) => users.toUser(row))), nextCursor: end < all.length ? String(end) : null };
    });

    app.post("/api/users", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: { tags: ["users"], summary: "Create a user: a person (password, SSO or passkey) or an agent (did:key) (admin)", security, body: CreateUserRequestSchema, response: { 201: UserSchema, ...errors } },
    }, async (request, reply) => reply.status(201).send(await users.toUser(await users.create(request.body, actorOf(request)))));

    app.get("/api/users/me", {
      config: { scopes: [], bucket: "read" },
      schema: { tags: ["users"], summary: "The signed-in user's own profile", security, response: { 200: UserSchema, ...errors } },
    }, async (request) => users.toUser(await users.get(userIdOf(request))));

    app.patch("/api/users/me", {
      config: { scopes: [], bucket: "write" },
      schema: { tags: ["users"], summary: "Change the signed-in user's display name and preferences", security, body: UpdateProfileRequestSchema, response: { 200: UserSchema, ...errors } },
    }, async (request) => users.toUser(await users.updateProfile(userIdOf(request), request.body)));

    app.post("/api/users/me/password", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["users"],
        summary: "Change the signed-in user's password (every other session of theirs ends)",
        security,
        body: ChangePasswordRequestSchema,
        response: { 204: z.null().describe("Changed"), ...errors },
      },
    }, async (request, reply) => {
      const principal = principalOf(request);
      await users.changePassword(userIdOf(request), request.body.currentPassword, request.body.newPassword, actorOf(request), principal.sessionId);
      return reply.status(204).send(null);
    });

    app.post("/api/users/me/tokens", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["users"],
        summary: "Mint a personal API token with at most the scopes the signed-in session holds",
        description:
          "The token is returned once. It is capped by the user's roles on every request and stops working when the user is disabled, deleted or loses the role. " +
          "Minted from a session only (a personal token cannot mint a longer-lived copy of itself), and never beyond what the session holds now " +
          "(a session that must still enrol a second factor holds nothing).",
        security,
        body: CreateTokenRequestSchema.omit({ owner: true }),
        response: { 201: CreateTokenResponseSchema, ...errors },
      },
    }, async (request, reply) => {
      const principal = principalOf(request);
      const user = me(request);
      if (principal.via === "token") throw new ApiError("forbidden", "personal tokens are minted from a signed-in session, not with another token");
      // The caller's scopes now are the session's scopes capped by the user's current roles (authenticate.ts).
      const allowed = capScopes(request.body.scopes, principal.scopes);
      const beyond = request.body.scopes.filter((scope) => !allowed.includes(scope));
      if (beyond.length > 0) throw new ApiError("forbidden", `your session does not hold: ${beyond.join(", ")}`);
      const minted = await deps.tokens.mint({ ...request.body, owner: user.username, userId: user.id });
      await recordTokenEvent(deps.log, "token_created", request, { id: minted.id, owner: minted.owner, scopes: minted.scopes, expiresAt: minted.expiresAt, name: minted.name ?? null });
      return reply.status(201).header("Cache-Control", "no-store").send(minted);
    });

    app.get("/api/users/me/tokens", {
      config: { scopes: [], bucket: "read" },
      schema: {
        tags: ["users"],
        summary: "The signed-in user's API tokens (never their values)",
        description: "The tokens whose owner is the user: the personal tokens they minted and any an admin minted in their name; revoked and expired ones included.",
        security,
        response: { 200: ListTokensResponseSchema, ...errors },
      },
    }, async (request) => ({ tokens: await deps.tokens.listOwnedBy(me(request).username) }));

    app.delete("/api/users/me/tokens/:id", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["users"],
        summary: "Revoke one of the signed-in user's API tokens",
        description: "404 for a token that is not the user's, whether or not it exists.",
        security,
        params: TokenIdParams,
        response: { 204: z.null().describe("Revoked"), ...errors },
      },
    }, async (request, reply) => {
      await deps.tokens.revokeOwned(request.params.id, me(request).username);
      await recordTokenEvent(deps.log, "token_revoked", request, { id: request.params.id });
      return reply.status(204).send(null);
    });

    app.get("/api/users/:id", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: { tags: ["users"], summary: "One user, by id or username (admin)", security, params: IdParams, response: { 200: UserSchema, ...errors } },
    }, async (request) => users.toUser(await users.find(request.params.id)));

    app.patch("/api/users/:id", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: {
        tags: ["users"],
        summary: "Change a user's roles, state, display name or password, by id or username (admin)",
        description: "Role changes apply to the user's live sessions and tokens at once. Disabling ends their sessions; a password reset too (and, by default, the user must choose a new one at sign-in).",
        security,
        params: IdParams,
        body: UpdateUserRequestSchema,
        response: { 200: UserSchema, ...errors },
      },
    }, async (request) => users.toUser(await users.update((await users.find(request.params.id)).id, request.body, actorOf(request))));

    app.delete("/api/users/:id", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: { tags: ["users"], summary: "Delete a user, by id or username, and end their sessions (admin)", security, params: IdParams, response: { 204: z.null().describe("Deleted"), ...errors } },
    }, async (request, reply) => {
      await users.delete((await users.find(request.params.id)).id, actorOf(request));
      return reply.status(204).send(null);
    });

    app.get("/api/users/:id/sessions", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: { tags: ["users"], summary: "A user's sessions, by id or username (admin)", security, params: IdParams, response: { 200: ListSessionsResponseSchema, ...errors } },
    }, async (request) => ({ sessions: await deps.sessions.list(await users.find(request.params.id), principalOf(request).sessionId) }));
  };
}
