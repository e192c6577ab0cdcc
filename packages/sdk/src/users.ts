/**
 * @module users
 * `client.users`, `client.me` and `client.roles`: managing people and agents (`/api/users`, scope `admin`),
 * the caller's own profile, password and personal tokens (`/api/users/me`), and roles (`/api/roles`). User ids
 * and role names are percent-encoded in paths (agent usernames contain `:`). Every answer is parsed with its
 * protocol schema.
 */
import {
  CreateTokenResponseSchema,
  ListRolesResponseSchema,
  ListTokensResponseSchema,
  ListSessionsResponseSchema,
  ListUsersResponseSchema,
  RoleSchema,
  UserSchema,
  type User,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";
import type { MeClient, RolesClient, UsersClient } from "./types.js";

const userPath = (id: string) => `/api/users/${encodeURIComponent(id)}`;
const rolePath = (name: string) => `/api/roles/${encodeURIComponent(name)}`;

export function createUsersClient(http: HttpTransport): UsersClient {
  const list: UsersClient["list"] = async (query = {}) => (await http.request("GET", "/api/users", { query, schema: ListUsersResponseSchema })).data;

  async function* listAll(query: { pageSize?: number } = {}): AsyncGenerator<User> {
    let cursor: string | undefined;
    do {
      const page = await list({ ...(query.pageSize !== undefined ? { limit: query.pageSize } : {}), ...(cursor !== undefined ? { cursor } : {}) });
      yield* page.users;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  return {
    list,
    listAll,
    create: async (input) => (await http.request("POST", "/api/users", { body: input, schema: UserSchema })).data,
    get: async (id) => (await http.request("GET", userPath(id), { schema: UserSchema })).data,
    update: async (id, patch) => (await http.request("PATCH", userPath(id), { body: patch, schema: UserSchema })).data,
    remove: async (id) => {
      await http.request("DELETE", userPath(id));
    },
    sessions: async (id) => (await http.request("GET", `${userPath(id)}/sessions`, { schema: ListSessionsResponseSchema })).data.sessions,
  };
}

export function createMeClient(http: HttpTransport): MeClient {
  return {
    get: async () => (await http.request("GET", "/api/users/me", { schema: UserSchema })).data,
    update: async (patch) => (await http.request("PATCH", "/api/users/me", { body: patch, schema: UserSchema })).data,
    changePassword: async (request) => {
      await http.request("POST", "/api/users/me/password", { body: request });
    },
    createToken: async (input) => (await http.request("POST", "/api/users/me/tokens", { body: input, schema: CreateTokenResponseSchema })).data,
    tokens: async () => (await http.request("GET", "/api/users/me/tokens", { schema: ListTokensResponseSchema })).data.tokens,
    revokeToken: async (id) => {
      await http.request("DELETE", `/api/users/me/tokens/${encodeURIComponent(id)}`);
    },
  };
}

export function createRolesClient(http: HttpTransport): RolesClient {
  return {
    list: async () => (await http.request("GET", "/api/roles", { schema: ListRolesResponseSchema })).data.roles,
    put: async (name, role) => (await http.request("PUT", rolePath(name), { body: role, schema: RoleSchema })).data,
    remove: async (name) => {
      await http.request("DELETE", rolePath(name));
    },
  };
}
