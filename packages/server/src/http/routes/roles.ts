/**
 * @module http/routes/roles
 * Roles (issue 14): every caller may read what the roles mean; admins create, replace and delete custom roles.
 * A change applies at once to every user holding the role (their tokens are capped by it on every request).
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, ListRolesResponseSchema, PutRoleRequestSchema, RoleNameSchema, RoleSchema } from "@kai/protocol";
import type { RoleCatalog } from "../../auth/roles.js";
import type { UserService } from "../../auth/users/user-service.js";
import type { AccessTable } from "../../auth/users/access-table.js";
import type { SecurityLog } from "../../auth/security-log.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const NameParams = z.strictObject({ name: RoleNameSchema });

export interface RoleRouteDeps {
  roles: RoleCatalog;
  users: UserService;
  access: AccessTable;
  log: SecurityLog;
}

export function roleRoutes(deps: RoleRouteDeps): FastifyPluginAsyncZod {
  const { roles } = deps;
  return async (app) => {
    app.get("/api/roles", {
      config: { scopes: [], bucket: "read" },
      schema: { tags: ["users"], summary: "Roles: the built-in ones and the node's custom ones, with their scopes", security, response: { 200: ListRolesResponseSchema, ...errors } },
    }, async () => ({ roles: roles.list() }));

    app.put("/api/roles/:name", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: { tags: ["users"], summary: "Create or replace a custom role (admin)", security, params: NameParams, body: PutRoleRequestSchema, response: { 200: RoleSchema, 201: RoleSchema, ...errors } },
    }, async (request, reply) => {
      const { role, created } = await roles.put(request.params.name, request.body);
      await deps.access.rolesChanged();
      await deps.log.record({ type: created ? "role_created" : "role_updated", outcome: "success", actor: principalOf(request).owner, address: request.ip, details: { role: role.name, scopes: role.scopes } });
      return reply.status(created ? 201 : 200).send(role);
    });

    app.delete("/api/roles/:name", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: { tags: ["users"], summary: "Delete a custom role no user holds (admin)", security, params: NameParams, response: { 204: z.null().describe("Deleted"), ...errors } },
    }, async (request, reply) => {
      await roles.delete(request.params.name, await deps.users.holdersOf(request.params.name));
      await deps.access.rolesChanged();
      await deps.log.record({ type: "role_deleted", outcome: "success", actor: principalOf(request).owner, address: request.ip, details: { role: request.params.name } });
      return reply.status(204).send(null);
    });
  };
}
