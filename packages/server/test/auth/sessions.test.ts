/**
 * Sessions through the real server (issue 14): sign-in, who-am-I, refresh with rotation, a reused refresh token
 * revoking the whole session, sign-out, a user's session list and revocation, and a password change ending the
 * other sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../helpers/test-server.js";
import { createUser, login, signIn, startSignInServer } from "./sign-in-support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startSignInServer({ config: { auth: { signIn: { refreshGraceSeconds: 0 } } } });
});
afterAll(async () => server.dispose());

describe("sessions", () => {
  it("signs in, validates, refreshes with rotation and signs out", async () => {
    await createUser(server, "sam", "correct horse battery", ["developer"]);
    const session = await signIn(server, "sam", "correct horse battery");
    const validate = await server.request("/api/auth/validate", { token: session.accessToken });
    expect(validate.status).toBe(200);
    const who = (await validate.json()) as { owner: string; scopes: string[]; via: string; sessionId: string; user: { username: string; roles: string[] } };
    expect(who).toMatchObject({ owner: "sam", via: "session", sessionId: session.sessionId, user: { username: "sam", roles: ["developer"] } });
    expect(who.scopes).toContain("services:write");
    expect(who.scopes).not.toContain("admin");

    const refreshed = await server.request("/api/auth/refresh", { method: "POST", token: null, json: { refreshToken: session.refreshToken } });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as { accessToken: string; refreshToken: string; sessionId: string };
    expect(next.sessionId).toBe(session.sessionId);
    expect(next.refreshToken).not.toBe(session.refreshToken);
    expect((await server.request("/api/auth/validate", { token: next.accessToken })).status).toBe(200);

    const logout = await server.request("/api/auth/logout", { method: "POST", token: null, json: { refreshToken: next.refreshToken } });
    expect(logout.status).toBe(204);
    const after = await server.request("/api/auth/validate", { token: next.accessToken });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe("session_revoked");
    const again = await server.request("/api/auth/refresh", { method: "POST", token: null, json: { refreshToken: next.refreshToken } });
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("session_revoked");
  });

  it("a reused refresh token revokes the whole session", async () => {
    await createUser(server, "rita", "correct horse battery", ["viewer"]);
    const session = await signIn(server, "rita", "correct horse battery");
    const first = await server.request("/api/auth/refresh", { method: "POST", token: null, json: { refreshToken: session.refreshToken } });
    expect(first.status).toBe(200);
    const rotated = (await first.json()) as { accessToken: string; refreshToken: string };
    // The thief (or the client) presents the spent token: the session ends for everyone holding it.
    const reuse = await server.request("/api/auth/refresh", { method: "POST", token: null, json: { refreshToken: session.refreshToken } });
    expect(reuse.status).toBe(401);
    expect(((await reuse.json()) as { error: { code: string } }).error.code).toBe("session_revoked");
    expect((await server.request("/api/auth/refresh", { method: "POST", token: null, json: { refreshToken: rotated.refreshToken } })).status).toBe(401);
    expect((await server.request("/api/auth/validate", { token: rotated.accessToken })).status).toBe(401);
    const events = (await (await server.request("/api/security/events?type=session_revoked")).json()) as { events: Array<{ username: string; details: { reason: string } }> };
    expect(events.events.some((event) => event.username === "rita" && event.details.reason === "refresh_reuse")).toBe(true);
  });

  it("lists and revokes the caller's sessions; a password change ends the others", async () => {
    await createUser(server, "pat", "correct horse battery", ["viewer"]);
    const one = await signIn(server, "pat", "correct horse battery");
    const two = await signIn(server, "pat", "correct horse battery");
    const three = await signIn(server, "pat", "correct horse battery");
    const list = (await (await server.request("/api/auth/sessions", { token: one.accessToken })).json()) as { sessions: Array<{ id: string; current: boolean; revokedAt: string | null }> };
    expect(list.sessions.filter((session) => !session.revokedAt).map((session) => session.id).sort()).toEqual([one.sessionId, two.sessionId, three.sessionId].sort());
    expect(list.sessions.find((session) => session.current)?.id).toBe(one.sessionId);

    expect((await server.request(`/api/auth/sessions/${three.sessionId}`, { method: "DELETE", token: one.accessToken })).status).toBe(204);
    expect((await server.request("/api/auth/validate", { token: three.accessToken })).status).toBe(401);

    const changed = await server.request("/api/users/me/password", { method: "POST", token: one.accessToken, json: { currentPassword: "correct horse battery", newPassword: "a brand new passphrase" } });
    expect(changed.status).toBe(204);
    expect((await server.request("/api/auth/validate", { token: one.accessToken })).status).toBe(200);
    expect((await server.request("/api/auth/validate", { token: two.accessToken })).status).toBe(401);
    expect((await login(server, { username: "pat", password: "correct horse battery" })).status).toBe(401);
    expect((await login(server, { username: "pat", password: "a brand new passphrase" })).status).toBe(200);
  });

  it("someone else's session is not found to a non-admin, and revocable by an admin", async () => {
    await createUser(server, "ann", "correct horse battery", ["viewer"]);
    await createUser(server, "bob", "correct horse battery", ["viewer"]);
    const ann = await signIn(server, "ann", "correct horse battery");
    const bob = await signIn(server, "bob", "correct horse battery");
    expect((await server.request(`/api/auth/sessions/${bob.sessionId}`, { method: "DELETE", token: ann.accessToken })).status).toBe(404);
    expect((await server.request("/api/auth/validate", { token: bob.accessToken })).status).toBe(200);
    expect((await server.request(`/api/auth/sessions/${bob.sessionId}`, { method: "DELETE" })).status).toBe(204);
    expect((await server.request("/api/auth/validate", { token: bob.accessToken })).status).toBe(401);
  });
});
