/**
 * Users and roles through the real server (issue 14): CRUD and who may do it, role changes applying at once to live
 * sessions, personal API tokens capped by the user's roles and dead once the user is disabled, deleted or loses
 * the role, custom roles, the last admin kept, and the security events every change leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../helpers/test-server.js";
import { createUser, login, signIn, startSignInServer } from "./sign-in-support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startSignInServer();
});
afterAll(async () => server.dispose());

const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

describe("users", () => {
  it("an admin creates, reads, lists, changes and deletes users; others may not", async () => {
    const id = await createUser(server, "Carol", "correct horse battery", ["viewer"]);
    const got = (await (await server.request(`/api/users/${id}`)).json()) as { username: string; roles: string[]; scopes: string[]; methods: string[]; state: string };
    expect(got).toMatchObject({ username: "Carol", roles: ["viewer"], methods: ["password"], state: "active" });
    expect(got.scopes.sort()).toEqual(["agents:read", "artifacts:read", "memory:read", "metrics:read", "prompts:read", "services:read"]);
    // Usernames are unique whatever their case.
    expect((await server.request("/api/users", { method: "POST", json: { username: "carol", password: "another password!" } })).status).toBe(409);
    // Unknown roles and short passwords are refused.
    expect((await server.request("/api/users", { method: "POST", json: { username: "dave", password: "correct horse battery", roles: ["wizard"] } })).status).toBe(400);
    expect((await server.request("/api/users", { method: "POST", json: { username: "dave", password: "short" } })).status).toBe(400);

    const carol = await signIn(server, "carol", "correct horse battery");
    for (const [method, path] of [["GET", "/api/users"], ["POST", "/api/users"], ["GET", `/api/users/${id}`], ["DELETE", `/api/users/${id}`], ["PUT", "/api/roles/x"], ["GET", "/api/security/events"]] as const) {
      const response = await server.request(path, { method, token: carol.accessToken, ...(method === "POST" || method === "PUT" ? { json: {} } : {}) });
      expect(response.status, `${method} ${path}`).toBe(403);
    }
    const list = (await (await server.request("/api/users?limit=500")).json()) as { users: Array<{ username: string }> };
    expect(list.users.map((user) => user.username)).toContain("Carol");

    const patched = await server.request(`/api/users/${id}`, { method: "PATCH", json: { roles: ["developer"], displayName: "Carol C." } });
    expect(patched.status).toBe(200);
    // The role change applies to the live session at once (metrics:read is gone; what viewer and developer share stays); the token never gains what it was not issued with.
    const validate = (await (await server.request("/api/auth/validate", { token: carol.accessToken })).json()) as { scopes: string[] };
    expect(validate.scopes).toEqual(["services:read", "agents:read", "prompts:read", "artifacts:read", "memory:read"]);
    const again = await signIn(server, "carol", "correct horse battery");
    expect(((await (await server.request("/api/auth/validate", { token: again.accessToken })).json()) as { scopes: string[] }).scopes).toContain("services:write");

    expect((await server.request(`/api/users/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await server.request(`/api/users/${id}`)).status).toBe(404);
    expect((await server.request("/api/auth/validate", { token: again.accessToken })).status).toBe(401);
    expect((await login(server, { username: "carol", password: "correct horse battery" })).status).toBe(401);
  });

  it("a disabled user cannot sign in and their sessions end", async () => {
    const id = await createUser(server, "erin", "correct horse battery", ["viewer"]);
    const erin = await signIn(server, "erin", "correct horse battery");
    expect((await server.request(`/api/users/${id}`, { method: "PATCH", json: { state: "disabled" } })).status).toBe(200);
    const stopped = await server.request("/api/auth/validate", { token: erin.accessToken });
    expect(stopped.status).toBe(403);
    expect(await errorCode(stopped)).toBe("account_disabled");
    const refused = await login(server, { username: "erin", password: "correct horse battery" });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe("account_disabled");
    expect((await server.request("/api/auth/refresh", { method: "POST", token: null, json: { refreshToken: erin.refreshToken } })).status).toBe(401);
  });

  it("a user changes their own profile and preferences, not their roles", async () => {
    await createUser(server, "fay", "correct horse battery", ["viewer"]);
    const fay = await signIn(server, "fay", "correct horse battery");
    const patched = await server.request("/api/users/me", { method: "PATCH", token: fay.accessToken, json: { displayName: "Fay", preferences: { theme: "dark" } } });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ displayName: "Fay", preferences: { theme: "dark" }, roles: ["viewer"] });
    expect((await server.request("/api/users/me", { method: "PATCH", token: fay.accessToken, json: { roles: ["admin"] } })).status).toBe(400);
    expect((await server.request("/api/users/me", { method: "PATCH", token: fay.accessToken, json: { preferences: { theme: "neon" } } })).status).toBe(400);
    // The admin token belongs to no user: there is no "me".
    expect((await server.request("/api/users/me")).status).toBe(404);
  });

  it("the last active admin cannot be disabled, demoted or deleted", async () => {
    const users = (await (await server.request("/api/users?limit=500")).json()) as { users: Array<{ id: string; roles: string[]; state: string }> };
    const admins = users.users.filter((user) => user.roles.includes("admin") && user.state === "active");
    expect(admins).toHaveLength(1);
    const id = admins[0]!.id;
    expect(await errorCode(await server.request(`/api/users/${id}`, { method: "PATCH", json: { state: "disabled" } }))).toBe("conflict");
    expect(await errorCode(await server.request(`/api/users/${id}`, { method: "PATCH", json: { roles: ["viewer"] } }))).toBe("conflict");
    expect(await errorCode(await server.request(`/api/users/${id}`, { method: "DELETE" }))).toBe("conflict");
  });
});

describe("personal API tokens", () => {
  it("hold at most the user's scopes and die when the user loses the role, is disabled or deleted", async () => {
    const id = await createUser(server, "gus", "correct horse battery", ["developer", "viewer"]);
    const gus = await signIn(server, "gus", "correct horse battery");
    const tooMuch = await server.request("/api/users/me/tokens", { method: "POST", token: gus.accessToken, json: { scopes: ["admin"] } });
    expect(tooMuch.status).toBe(403);
    const mint = async (scopes: string[]) => {
      const response = await server.request("/api/users/me/tokens", { method: "POST", token: gus.accessToken, json: { scopes, name: "ci" } });
      expect(response.status).toBe(201);
      return ((await response.json()) as { token: string; owner: string }).token;
    };
    const writer = await mint(["services:write"]);
    const metrics = await mint(["metrics:read"]);
    const who = (await (await server.request("/api/auth/validate", { token: writer })).json()) as { owner: string; via: string; scopes: string[]; user: { username: string } };
    expect(who).toMatchObject({ owner: "gus", via: "token", scopes: ["services:write"], user: { username: "gus" } });
    expect((await server.request("/metrics", { token: metrics })).status).toBe(200);

    // Losing viewer takes metrics:read away from the token at once; developer still gives services:write.
    expect((await server.request(`/api/users/${id}`, { method: "PATCH", json: { roles: ["developer"] } })).status).toBe(200);
    expect((await server.request("/metrics", { token: metrics })).status).toBe(401);
    expect((await server.request("/api/auth/validate", { token: writer })).status).toBe(200);

    expect((await server.request(`/api/users/${id}`, { method: "PATCH", json: { state: "disabled" } })).status).toBe(200);
    const disabled = await server.request("/api/auth/validate", { token: writer });
    expect(disabled.status).toBe(403);
    expect(await errorCode(disabled)).toBe("account_disabled");
    expect((await server.request(`/api/users/${id}`, { method: "PATCH", json: { state: "active" } })).status).toBe(200);
    expect((await server.request("/api/auth/validate", { token: writer })).status).toBe(200);
    expect((await server.request(`/api/users/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await server.request("/api/auth/validate", { token: writer })).status).toBe(401);
  });
});

describe("a user's own tokens", () => {
  interface Listed { tokens: Array<{ id: string; owner: string; name?: string; revokedAt: string | null; token?: string }> }
  const mintAs = async (accessToken: string, name: string) => {
    const response = await server.request("/api/users/me/tokens", { method: "POST", token: accessToken, json: { scopes: ["services:read"], name } });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; token: string };
  };

  it("are listed (never their values) and revoked by their user; someone else's token is not found", async () => {
    await createUser(server, "kim", "correct horse battery", ["developer"]);
    await createUser(server, "lou", "correct horse battery", ["developer"]);
    const kim = await signIn(server, "kim", "correct horse battery");
    const lou = await signIn(server, "lou", "correct horse battery");
    const ci = await mintAs(kim.accessToken, "ci");
    const laptop = await mintAs(kim.accessToken, "laptop");
    const lous = await mintAs(lou.accessToken, "lou's");
    // An admin's token in kim's name acts for kim: it is hers to see and revoke too.
    const byAdmin = (await (await server.request("/api/tokens", { method: "POST", json: { scopes: ["services:read"], owner: "kim", name: "deploy" } })).json()) as { id: string };

    const listed = await server.request("/api/users/me/tokens", { token: kim.accessToken });
    expect(listed.status).toBe(200);
    const mine = ((await listed.json()) as Listed).tokens;
    expect(mine.map((token) => token.id).sort()).toEqual([ci.id, laptop.id, byAdmin.id].sort());
    expect(mine.every((token) => token.owner === "kim" && token.token === undefined && token.revokedAt === null)).toBe(true);

    // Lou's token, and one that does not exist, answer the same 404; lou's token goes on working.
    for (const id of [lous.id, "00000000-0000-4000-8000-000000000000"]) {
      const refused = await server.request(`/api/users/me/tokens/${id}`, { method: "DELETE", token: kim.accessToken });
      expect(refused.status, id).toBe(404);
      expect(await errorCode(refused)).toBe("not_found");
    }
    expect((await server.request("/api/auth/validate", { token: lous.token })).status).toBe(200);

    expect((await server.request(`/api/users/me/tokens/${ci.id}`, { method: "DELETE", token: kim.accessToken })).status).toBe(204);
    expect((await server.request("/api/auth/validate", { token: ci.token })).status).toBe(401);
    expect((await server.request("/api/auth/validate", { token: laptop.token })).status).toBe(200);
    const after = ((await (await server.request("/api/users/me/tokens", { token: laptop.token })).json()) as Listed).tokens;
    expect(after.find((token) => token.id === ci.id)?.revokedAt).not.toBeNull();
    expect(after.find((token) => token.id === laptop.id)?.revokedAt).toBeNull();
    // Lou sees only lou's.
    expect(((await (await server.request("/api/users/me/tokens", { token: lou.accessToken })).json()) as Listed).tokens.map((token) => token.id)).toEqual([lous.id]);
    // The admin token belongs to no user: no "me".
    expect((await server.request("/api/users/me/tokens")).status).toBe(404);
  });

  it("are minted from a session, never with another token nor beyond what the session holds", async () => {
    await createUser(server, "mo", "correct horse battery", ["viewer"]);
    const mo = await signIn(server, "mo", "correct horse battery");
    const personal = await mintAs(mo.accessToken, "ci");
    const again = await server.request("/api/users/me/tokens", { method: "POST", token: personal.token, json: { scopes: ["services:read"], ttl: "365d" } });
    expect(again.status).toBe(403);
    expect(await errorCode(again)).toBe("forbidden");
    expect((await server.request("/api/users/me/tokens", { method: "POST", token: mo.accessToken, json: { scopes: ["services:write"] } })).status).toBe(403);
  });
});

describe("users by username", () => {
  it("the admin routes take a username (any case) where they take an id", async () => {
    const id = await createUser(server, "Nell", "correct horse battery", ["viewer"]);
    await signIn(server, "nell", "correct horse battery");
    for (const ref of ["Nell", "nell", "NELL", id]) {
      const got = await server.request(`/api/users/${ref}`);
      expect(got.status, ref).toBe(200);
      expect(((await got.json()) as { id: string }).id).toBe(id);
    }
    const patched = await server.request("/api/users/nell", { method: "PATCH", json: { roles: ["developer"] } });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { id: string; roles: string[] })).toMatchObject({ id, roles: ["developer"] });
    const sessions = (await (await server.request("/api/users/nell/sessions")).json()) as { sessions: Array<{ userId: string }> };
    expect(sessions.sessions.length).toBeGreaterThan(0);
    expect(sessions.sessions.every((session) => session.userId === id)).toBe(true);
    expect((await server.request("/api/users/nobody-here")).status).toBe(404);
    expect((await server.request("/api/users/Nell", { method: "DELETE" })).status).toBe(204);
    expect((await server.request(`/api/users/${id}`)).status).toBe(404);
    expect((await server.request("/api/users/nell")).status).toBe(404);
  });
});

describe("roles", () => {
  it("lists built-in roles, manages custom ones, and applies a custom role's change at once", async () => {
    const roles = (await (await server.request("/api/roles")).json()) as { roles: Array<{ name: string; builtIn: boolean; scopes: string[] }> };
    expect(roles.roles.filter((role) => role.builtIn).map((role) => role.name)).toEqual(["admin", "operator", "developer", "viewer"]);
    expect((await server.request("/api/roles/viewer", { method: "PUT", json: { scopes: ["admin"] } })).status).toBe(403);
    expect((await server.request("/api/roles/scraper", { method: "PUT", json: { scopes: ["metrics:read"], description: "Prometheus" } })).status).toBe(201);
    const id = await createUser(server, "hal", "correct horse battery", ["scraper"]);
    const hal = await signIn(server, "hal", "correct horse battery");
    expect((await server.request("/metrics", { token: hal.accessToken })).status).toBe(200);
    expect((await server.request("/api/roles/scraper", { method: "PUT", json: { scopes: ["services:read"] } })).status).toBe(200);
    // The role lost metrics:read: the live session's token did too.
    expect((await server.request("/metrics", { token: hal.accessToken })).status).toBe(403);
    expect(await errorCode(await server.request("/api/roles/scraper", { method: "DELETE" }))).toBe("conflict");
    expect((await server.request(`/api/users/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await server.request("/api/roles/scraper", { method: "DELETE" })).status).toBe(204);
    expect((await server.request("/api/roles/viewer", { method: "DELETE" })).status).toBe(403);
  });

  it("records tokens minted and revoked, by an admin and by a user for themselves, as security events (never the token)", async () => {
    const minted = await server.request("/api/tokens", { method: "POST", json: { scopes: ["admin"], owner: "ops-bot", name: "deploy", ttl: "1h" } });
    expect(minted.status).toBe(201);
    const admin = (await minted.json()) as { id: string; token: string; expiresAt: string };
    expect((await server.request(`/api/tokens/${admin.id}`, { method: "DELETE" })).status).toBe(204);
    await createUser(server, "tess", "correct horse battery", ["developer"]);
    const tess = await signIn(server, "tess", "correct horse battery");
    const own = await server.request("/api/users/me/tokens", { method: "POST", token: tess.accessToken, json: { scopes: ["services:read"], name: "laptop" } });
    expect(own.status).toBe(201);
    const personal = (await own.json()) as { id: string; token: string };
    expect((await server.request(`/api/users/me/tokens/${personal.id}`, { method: "DELETE", token: tess.accessToken })).status).toBe(204);

    type Event = { type: string; actor: string | null; address: string | null; details: Record<string, unknown> };
    const response = await server.request("/api/security/events?limit=500");
    const text = await response.text();
    const events = (JSON.parse(text) as { events: Event[] }).events;
    const about = (id: string) => events.filter((event) => event.details.id === id).map(({ type, actor, details }) => ({ type, actor, details }));
    expect(about(admin.id).sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: "token_created", actor: "admin", details: { id: admin.id, owner: "ops-bot", scopes: ["admin"], expiresAt: admin.expiresAt, name: "deploy" } },
      { type: "token_revoked", actor: "admin", details: { id: admin.id } },
    ]);
    expect(about(personal.id).map(({ type, actor }) => [type, actor]).sort()).toEqual([["token_created", "tess"], ["token_revoked", "tess"]]);
    expect(events.find((event) => event.details.id === admin.id)?.address).toBeTruthy();
    for (const token of [admin.token, personal.token]) expect(text).not.toContain(token);
  });

  it("records every change as a security event", async () => {
    const events = (await (await server.request("/api/security/events?limit=500")).json()) as { events: Array<{ type: string; actor: string | null }> };
    const types = new Set(events.events.map((event) => event.type));
    for (const type of ["user_created", "role_changed", "user_disabled", "user_deleted", "role_created", "role_updated", "role_deleted", "sign_in", "session_revoked"]) expect(types, type).toContain(type);
    expect(events.events.find((event) => event.type === "role_changed")?.actor).toBe("admin");
  });
});
