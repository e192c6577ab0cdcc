// Single sign-on end to end (issue 14): a real OpenID provider (oidc-provider) on a loopback port, a real kai
// server configured with it (client secret in the vault, put there through the API), and a "browser" that follows
// the redirects and fills in the provider's login and consent pages. What users rely on: the first sign-in creates
// the user with roles mapped from the groups claim, a later one updates them, the session is a cookie session the
// API accepts, and every way of cheating the flow (tampered, unknown, replayed or foreign state, an open redirect)
// ends in a refusal, with the client secret in no log line.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, ListSecurityEventsResponseSchema, ListSsoProvidersResponseSchema, LoginResponseSchema, ValidateResponseSchema } from "@kai/protocol";
import type { TestServer } from "../helpers/test-server.js";
import { authorizeAtProvider, TestBrowser, type TestOidcProvider } from "../helpers/oidc-provider.js";
import { startSsoNode, type SsoNode } from "../helpers/sso-node.js";

const SECRET_NAME = "sso/corp-client";
let op: TestOidcProvider;
let kai: TestServer;
let sso: SsoNode | undefined;

beforeAll(async () => {
  sso = await startSsoNode({
    clientId: "kai-test",
    secretName: SECRET_NAME,
    provider: { claims: { roles: "groups" }, roleMap: { "kai-admins": "admin", "kai-devs": ["developer"] }, defaultRoles: ["viewer"] },
    accounts: {
      "u-ada": { preferred_username: "ada", name: "Ada Lovelace", email: "ada@example.com", email_verified: true, groups: ["kai-devs", "payroll"] },
      "u-bob": { preferred_username: "bob", name: "Bob", groups: [] },
      "u-eve": { preferred_username: "eve", groups: ["kai-devs"] },
      "u-taken": { preferred_username: "grace", groups: [] },
    },
  });
  ({ kai, op } = sso);
}, 60_000);

afterAll(async () => {
  await sso?.close();
});

/** Starts a sign-in in the browser: the start answer (302 to the provider). */
async function start(browser: TestBrowser, returnTo = "/services"): Promise<Response> {
  return browser.request(`${kai.url}/api/auth/sso/corp/start?return=${encodeURIComponent(returnTo)}`);
}

/** Start, sign in at the provider as `login`: the callback URL the provider sends the browser to (not visited yet). */
async function callbackUrlFor(browser: TestBrowser, login: string, returnTo?: string): Promise<string> {
  const started = await start(browser, returnTo);
  expect(started.status).toBe(302);
  return authorizeAtProvider(browser, started.headers.get("location") ?? "", login);
}

/** The whole sign-in; resolves with the callback's answer. */
async function signIn(browser: TestBrowser, login: string, returnTo?: string): Promise<Response> {
  return browser.request(await callbackUrlFor(browser, login, returnTo));
}

async function whoAmI(browser: TestBrowser) {
  const response = await browser.request(`${kai.url}/api/auth/validate`);
  expect(response.status, await response.clone().text()).toBe(200);
  return ValidateResponseSchema.parse(await response.json());
}

/** The `sign_in` security event of a session (GET /api/security/events, with the admin token). */
async function signInEventOf(sessionId: string | undefined) {
  const response = await kai.request("/api/security/events?type=sign_in&limit=100");
  expect(response.status).toBe(200);
  const { events } = ListSecurityEventsResponseSchema.parse(await response.json());
  return events.find((event) => event.details.sessionId === sessionId);
}

async function errorOf(response: Response) {
  return ErrorBodySchema.parse(await response.json()).error;
}

describe("single sign-on with a real OpenID provider", () => {
  it("lists the providers with id and display name only", async () => {
    const response = await fetch(`${kai.url}/api/auth/sso/providers`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(ListSsoProvidersResponseSchema.parse(body)).toEqual({ providers: [{ id: "corp", displayName: "Corp account" }] });
    expect(JSON.stringify(body)).not.toContain("kai-test");
  });

  it("sends the browser to the provider with PKCE S256, state and nonce", async () => {
    const browser = new TestBrowser();
    const response = await start(browser);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location") ?? "");
    expect(location.origin).toBe(op.issuer);
    expect(location.searchParams.get("code_challenge_method")).toBe("S256");
    expect(location.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(location.searchParams.get("state")).toBeTruthy();
    expect(location.searchParams.get("nonce")).toBeTruthy();
    expect(location.searchParams.get("redirect_uri")).toBe(`${kai.url}/api/auth/sso/corp/callback`);
    expect([...browser.cookies(kai.url).keys()].some((name) => name.startsWith("kai_sso_"))).toBe(true);
  });

  it("creates the user at the first sign-in with roles from the groups claim, and signs them in with a cookie session", async () => {
    const browser = new TestBrowser();
    const callback = await signIn(browser, "u-ada", "/services?tag=a");
    expect(callback.status, await callback.clone().text()).toBe(302);
    expect(callback.headers.get("location")).toBe("/services?tag=a");
    const me = await whoAmI(browser);
    expect(me.via).toBe("cookie");
    expect(me.user).toMatchObject({ username: "ada", kind: "person", roles: ["developer", "viewer"] });
    // The security log says where the person proved who they are.
    expect(me.sessionId).toBeTruthy();
    expect(await signInEventOf(me.sessionId)).toMatchObject({ outcome: "success", username: "ada", details: { method: "sso", provider: "corp" } });
    // The binding cookie is gone with the sign-in it was for.
    expect([...browser.cookies(kai.url).keys()].some((name) => name.startsWith("kai_sso_"))).toBe(false);
  });

  it("updates the user's roles from the claims at a later sign-in (same user)", async () => {
    const first = new TestBrowser();
    expect((await signIn(first, "u-bob")).status).toBe(302);
    const before = await whoAmI(first);
    expect(before.user?.roles).toEqual(["viewer"]);

    op.accounts.set("u-bob", { preferred_username: "bob", name: "Bob", groups: ["kai-admins"] });
    const second = new TestBrowser();
    expect((await signIn(second, "u-bob")).status).toBe(302);
    const after = await whoAmI(second);
    expect(after.user).toMatchObject({ id: before.user?.id, username: "bob", roles: ["admin", "viewer"] });

    op.accounts.set("u-bob", { preferred_username: "bob", name: "Bob", groups: [] });
    const third = new TestBrowser();
    expect((await signIn(third, "u-bob")).status).toBe(302);
    expect((await whoAmI(third)).user?.roles).toEqual(["viewer"]);
  });

  it("refuses a replayed callback", async () => {
    const browser = new TestBrowser();
    const url = await callbackUrlFor(browser, "u-ada");
    const cookies = browser.cookies(kai.url);
    expect((await browser.request(url)).status).toBe(302);
    // The same answer again, even with the binding cookie put back: the state was used.
    for (const [name, value] of cookies) browser.setCookie(kai.url, name, value);
    const replay = await browser.request(url);
    expect(replay.status).toBe(401);
    expect((await errorOf(replay)).code).toBe("sso_failed");
  });

  it("refuses a tampered or unknown state, and a callback without state", async () => {
    const browser = new TestBrowser();
    const url = new URL(await callbackUrlFor(browser, "u-ada"));
    const state = url.searchParams.get("state") ?? "";
    url.searchParams.set("state", `${state.slice(0, -2)}${state.endsWith("xx") ? "yy" : "xx"}`);
    const tampered = await browser.request(url.href);
    expect(tampered.status).toBe(401);
    expect((await errorOf(tampered)).code).toBe("sso_failed");

    const unknown = await browser.request(`${kai.url}/api/auth/sso/corp/callback?code=abc&state=never-issued`);
    expect(unknown.status).toBe(401);
    expect((await errorOf(unknown)).code).toBe("sso_failed");

    const none = await browser.request(`${kai.url}/api/auth/sso/corp/callback?code=abc`);
    expect((await errorOf(none)).code).toBe("sso_failed");
  });

  it("refuses a callback link opened in another browser (login CSRF)", async () => {
    const attacker = new TestBrowser();
    const url = await callbackUrlFor(attacker, "u-eve");
    const victim = new TestBrowser();
    const response = await victim.request(url);
    expect(response.status).toBe(401);
    expect((await errorOf(response)).code).toBe("sso_failed");
    expect(victim.cookies(kai.url).size).toBe(0);
  });

  it("refuses a state started for another provider path", async () => {
    const browser = new TestBrowser();
    const url = new URL(await callbackUrlFor(browser, "u-ada"));
    url.pathname = "/api/auth/sso/other/callback";
    const response = await browser.request(url.href);
    expect(response.status).toBe(404);
  });

  it("says so when the person cancels at the provider", async () => {
    const browser = new TestBrowser();
    const started = await start(browser);
    const url = await authorizeAtProvider(browser, started.headers.get("location") ?? "", "u-ada", { deny: true });
    const response = await browser.request(url);
    expect(response.status).toBe(401);
    const error = await errorOf(response);
    expect(error.code).toBe("sso_failed");
    expect(error.message).toContain("cancelled");
  });

  it("refuses a disabled user", async () => {
    const browser = new TestBrowser();
    expect((await signIn(browser, "u-eve")).status).toBe(302);
    const id = (await whoAmI(browser)).user?.id ?? "";
    const disabled = await kai.request(`/api/users/${id}`, { method: "PATCH", json: { state: "disabled" } });
    expect(disabled.status, await disabled.text()).toBe(200);
    const again = await signIn(new TestBrowser(), "u-eve");
    expect(again.status).toBe(403);
    expect((await errorOf(again)).code).toBe("account_disabled");
  });

  it("does not take over a local user whose username the provider claims", async () => {
    const created = await kai.request("/api/users", { method: "POST", json: { username: "grace", password: "a long local password", roles: ["admin"] } });
    expect(created.status, await created.text()).toBe(201);
    const response = await signIn(new TestBrowser(), "u-taken");
    expect(response.status).toBe(401);
    const error = await errorOf(response);
    expect(error.code).toBe("sso_failed");
    expect(error.message).toContain("grace");
  });

  it.each(["//evil.example/", "https://evil.example/", "/\\evil.example", "/%2F%2Fevil.example", "evil.example"])("refuses return=%j (no open redirect)", async (target) => {
    const browser = new TestBrowser();
    const response = await start(browser, target);
    expect(response.status).toBe(400);
    expect(response.headers.get("location")).toBeNull();
    expect((await errorOf(response)).code).toBe("validation_failed");
  });

  it("answers 404 for an unknown provider", async () => {
    const response = await fetch(`${kai.url}/api/auth/sso/nope/start`, { redirect: "manual" });
    expect(response.status).toBe(404);
  });

  it("fails cleanly with a wrong client secret in the vault, and never logs or echoes a secret", async () => {
    const wrong = `wrong-secret-${Date.now()}`;
    expect((await kai.request(`/api/vault/secrets/${SECRET_NAME}`, { method: "PUT", json: { value: wrong } })).status).toBeLessThan(300);
    try {
      const response = await signIn(new TestBrowser(), "u-ada");
      expect(response.status).toBe(401);
      const text = await response.text();
      expect(ErrorBodySchema.parse(JSON.parse(text)).error.code).toBe("sso_failed");
      expect(text).not.toContain(wrong);
      expect(text, text).toContain("invalid_client");
    } finally {
      expect((await kai.request(`/api/vault/secrets/${SECRET_NAME}`, { method: "PUT", json: { value: op.clientSecret } })).status).toBeLessThan(300);
    }
    expect((await signIn(new TestBrowser(), "u-ada")).status).toBe(302);
    const logs = kai.logs.join("\n");
    expect(logs).not.toContain(op.clientSecret);
    expect(logs).not.toContain(wrong);
    // Sign-ins and failures are in the security log (category security), with the provider and a reason.
    expect(kai.logs.some((line) => line.includes('"category":"security"') && line.includes('"sign_in_failed"') && line.includes('"provider":"corp"'))).toBe(true);
    expect(kai.logs.some((line) => line.includes('"category":"security"') && line.includes('"sign_in"') && line.includes('"method":"sso"'))).toBe(true);
  });

  describe("the CLI (mode=token): loopback redirect and a one-time exchange code", () => {
    const loopback = "http://127.0.0.1:53682/sso-callback";
    const startCli = (browser: TestBrowser, challenge: string, redirect = loopback) =>
      browser.request(`${kai.url}/api/auth/sso/corp/start?mode=token&redirect=${encodeURIComponent(redirect)}&challenge=${challenge}`);
    const pkcePair = () => {
      const verifier = randomBytes(32).toString("base64url");
      return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
    };
    const exchange = (code: string, verifier: string) => fetch(`${kai.url}/api/auth/sso/exchange`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, verifier }) });

    async function codeFor(login: string, challenge: string): Promise<string> {
      const browser = new TestBrowser();
      const started = await startCli(browser, challenge);
      expect(started.status, await started.clone().text()).toBe(302);
      const callback = await browser.request(await authorizeAtProvider(browser, started.headers.get("location") ?? "", login));
      expect(callback.status, await callback.clone().text()).toBe(302);
      const location = new URL(callback.headers.get("location") ?? "");
      expect(`${location.origin}${location.pathname}`).toBe(loopback);
      // No browser session for a CLI sign-in: only the code goes to the loopback address.
      expect([...browser.cookies(kai.url).keys()].filter((name) => name.includes("kai_access") || name.includes("kai_refresh"))).toEqual([]);
      return location.searchParams.get("code") ?? "";
    }

    it("trades the code and the verifier for tokens the API accepts", async () => {
      const { verifier, challenge } = pkcePair();
      const code = await codeFor("u-ada", challenge);
      const response = await exchange(code, verifier);
      expect(response.status, await response.clone().text()).toBe(200);
      const login = LoginResponseSchema.parse(await response.json());
      expect(login.refreshToken).toBeTruthy();
      const me = await kai.request("/api/auth/validate", { token: login.accessToken ?? "" });
      expect(ValidateResponseSchema.parse(await me.json()).user).toMatchObject({ username: "ada" });
      expect(await signInEventOf(login.sessionId)).toMatchObject({ username: "ada", details: { method: "sso", provider: "corp" } });
      // Once only.
      expect((await errorOf(await exchange(code, verifier))).code).toBe("sso_failed");
    });

    it("refuses a code presented without its verifier, and burns it", async () => {
      const { verifier, challenge } = pkcePair();
      const code = await codeFor("u-ada", challenge);
      const stolen = await exchange(code, pkcePair().verifier);
      expect(stolen.status).toBe(401);
      expect((await errorOf(stolen)).code).toBe("sso_failed");
      expect((await exchange(code, verifier)).status).toBe(401);
    });

    it.each(["https://127.0.0.1:53682/", "http://evil.example:53682/", "http://127.0.0.1/"])("refuses redirect=%j", async (redirect) => {
      const response = await startCli(new TestBrowser(), pkcePair().challenge, redirect);
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
    });
  });
});
