/**
 * Sign-in flows through the real server (issue 14): the first admin's one-time password (works once, must be
 * changed, its file removed, never a default password), cookie sessions with CSRF, no user enumeration through the
 * error, and no password, refresh token or cookie in any log line.
 */
import { existsSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../helpers/test-server.js";
import { createUser, firstAdminPassword, login, startSignInServer } from "./sign-in-support.js";

let server: TestServer;
const secrets: string[] = [];

beforeAll(async () => {
  server = await startSignInServer();
});
afterAll(async () => server.dispose());

describe("the first admin", () => {
  it("gets a one-time password in a 0600 file, must change it at first sign-in, and the file goes", async () => {
    const path = server.firstAdminPasswordPath!;
    expect(existsSync(path)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const oneTime = firstAdminPassword(server);
    secrets.push(oneTime);
    expect(server.logs.some((line) => line.includes(path))).toBe(true);
    // No default password: the usual guesses do not work.
    for (const guess of ["admin", "password", "changeme"]) expect((await login(server, { username: "admin", password: guess })).body.error?.code).toBe("invalid_credentials");

    const withoutNew = await login(server, { username: "admin", password: oneTime });
    expect(withoutNew.status).toBe(403);
    expect(withoutNew.body.error?.code).toBe("password_change_required");
    const changed = await login(server, { username: "admin", password: oneTime, newPassword: "the admin's own passphrase" });
    expect(changed.status).toBe(200);
    secrets.push(changed.body.accessToken!, changed.body.refreshToken!, "the admin's own passphrase");
    expect(changed.body.scopes).toEqual(["admin"]);
    expect(existsSync(path)).toBe(false);
    // The one-time password worked once.
    expect((await login(server, { username: "admin", password: oneTime })).status).toBe(401);
    expect((await login(server, { username: "admin", password: "the admin's own passphrase" })).status).toBe(200);
  });
});

describe("cookie sessions", () => {
  it("set HttpOnly SameSite cookies, authenticate reads, and need the CSRF token to write", async () => {
    await createUser(server, "cora", "correct horse battery", ["developer"]);
    const signedIn = await login(server, { username: "cora", password: "correct horse battery", mode: "cookie" });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.accessToken).toBeUndefined();
    expect(signedIn.body.refreshToken).toBeUndefined();
    const csrf = signedIn.body.csrfToken!;
    const setCookies = signedIn.headers.getSetCookie();
    expect(setCookies).toHaveLength(2);
    for (const cookie of setCookies) {
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
    }
    const jar = setCookies.map((cookie) => cookie.split(";")[0]).join("; ");
    secrets.push(...setCookies.map((cookie) => cookie.split(";")[0]!.split("=")[1]!), csrf);

    const read = await server.request("/api/auth/validate", { token: null, headers: { cookie: jar } });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ via: "cookie", owner: "cora" });
    const body = { displayName: "Cora" };
    const noCsrf = await server.request("/api/users/me", { method: "PATCH", token: null, json: body, headers: { cookie: jar } });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: { code: string } }).error.code).toBe("csrf_failed");
    const wrongCsrf = await server.request("/api/users/me", { method: "PATCH", token: null, json: body, headers: { cookie: jar, "x-csrf-token": "A".repeat(43) } });
    expect(wrongCsrf.status).toBe(403);
    const withCsrf = await server.request("/api/users/me", { method: "PATCH", token: null, json: body, headers: { cookie: jar, "x-csrf-token": csrf } });
    expect(withCsrf.status).toBe(200);

    // Refresh by cookie rotates the cookies; sign-out by cookie ends the session.
    const refreshed = await server.request("/api/auth/refresh", { method: "POST", token: null, headers: { cookie: jar } });
    expect(refreshed.status).toBe(200);
    const newJar = refreshed.headers.getSetCookie().map((cookie) => cookie.split(";")[0]).join("; ");
    secrets.push(...refreshed.headers.getSetCookie().map((cookie) => cookie.split(";")[0]!.split("=")[1]!));
    expect(newJar).not.toBe(jar);
    expect((await server.request("/api/auth/logout", { method: "POST", token: null, headers: { cookie: newJar } })).status).toBe(204);
    expect((await server.request("/api/auth/validate", { token: null, headers: { cookie: newJar } })).status).toBe(401);
  });
});

describe("user enumeration", () => {
  it("answers an unknown user and a wrong password with the same status, code and message", async () => {
    await createUser(server, "uma", "correct horse battery", ["viewer"]);
    const unknown = await login(server, { username: "nobody-here", password: "some password" });
    const wrong = await login(server, { username: "uma", password: "some password" });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body.error!.code).toBe("invalid_credentials");
    expect({ code: unknown.body.error!.code, message: unknown.body.error!.message }).toEqual({ code: wrong.body.error!.code, message: wrong.body.error!.message });
  });
});

describe("logs", () => {
  it("carry no password, one-time password, access or refresh token, cookie or CSRF token", async () => {
    expect(secrets.length).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(server.logs.filter((line) => line.includes(secret)), "a secret reached a log line").toEqual([]);
    }
    expect(server.logs.some((line) => line.includes("correct horse battery"))).toBe(false);
    expect(server.logs.some((line) => line.includes('"category":"security"'))).toBe(true);
  });
});
