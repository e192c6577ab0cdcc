/**
 * Sign-in through the SDK against a real server: a client that logs in uses its session from then on (users,
 * roles, me, personal tokens, sessions, security events); `refresh` rotates and reports the refresh token;
 * the sign-in errors arrive with their stable codes; `signInAsAgent` signs the server's challenge with the
 * agent's KLP key; `logout` makes the refresh token useless.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { KaiApiError, createClient, type KaiClient, type SessionTokens } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

const ADMIN_PASSWORD = "the admin's own password";
let registry: RegistryFixture;
let admin: KaiClient;
const reported: (SessionTokens | null)[] = [];

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KaiApiError);
  return (error as KaiApiError).code;
}

beforeAll(async () => {
  registry = await startRegistry({ auth: { signIn: { password: { memoryKiB: 1024, iterations: 1 } } } });
  admin = createClient({ url: registry.url, onTokens: (tokens) => void reported.push(tokens) });
});
afterAll(async () => {
  await registry?.close();
});

describe("auth", () => {
  it("answers the first admin's one-time password with password_change_required, then signs in with a new one", async () => {
    const oneTime = readFileSync(join(registry.dataDir, "first-admin.password"), "utf8").trim();
    expect(await codeOf(admin.auth.login({ username: "admin", password: "wrong password" }))).toBe("invalid_credentials");
    expect(await codeOf(admin.auth.login({ username: "admin", password: oneTime }))).toBe("password_change_required");
    const session = await admin.auth.login({ username: "admin", password: oneTime, newPassword: ADMIN_PASSWORD });
    expect(session).toMatchObject({ tokenType: "Bearer", user: { username: "admin", roles: ["admin"] } });
    expect(reported.at(-1)).toMatchObject({ accessToken: session.accessToken, refreshToken: session.refreshToken });
    expect(await admin.auth.validate()).toMatchObject({ user: { username: "admin" }, via: "session", sessionId: session.sessionId });
  });

  it("manages users and roles with the session; a user's personal token stays within their roles", async () => {
    const ada = await admin.users.create({ username: "ada", password: "ada's long password", roles: ["viewer"], displayName: "Ada" });
    expect(ada).toMatchObject({ username: "ada", kind: "person", roles: ["viewer"], state: "active" });
    expect((await admin.users.list()).users.map((user) => user.username)).toEqual(expect.arrayContaining(["admin", "ada"]));
    expect(await admin.users.get(ada.id)).toMatchObject({ displayName: "Ada" });
    expect((await admin.roles.put("auditor", { scopes: ["metrics:read"] })).builtIn).toBe(false);
    expect((await admin.users.update(ada.id, { roles: ["viewer", "auditor"] })).roles).toEqual(["viewer", "auditor"]);

    const adaClient = createClient({ url: registry.url });
    await adaClient.auth.login({ username: "ada", password: "ada's long password" });
    expect((await adaClient.me.get()).scopes).toEqual(expect.arrayContaining(["services:read", "metrics:read"]));
    expect((await adaClient.me.update({ preferences: { theme: "dark" } })).preferences).toEqual({ theme: "dark" });
    expect(await codeOf(adaClient.me.createToken({ scopes: ["admin"] }))).toBe("forbidden");
    const personal = await adaClient.me.createToken({ scopes: ["services:read"], ttl: "1h" });
    expect((await createClient({ url: registry.url, token: personal.token }).auth.validate()).owner).toBe("ada");
    // Her own tokens: listed without their values, one revoked stops at once; the admin's is not hers to revoke.
    const spare = await adaClient.me.createToken({ scopes: ["services:read"], name: "spare" });
    expect((await adaClient.me.tokens()).map((token) => token.id).sort()).toEqual([personal.id, spare.id].sort());
    expect(JSON.stringify(await adaClient.me.tokens())).not.toContain(spare.token);
    await adaClient.me.revokeToken(spare.id);
    expect(await codeOf(createClient({ url: registry.url, token: spare.token }).auth.validate())).toBe("unauthorized");
    expect((await adaClient.me.tokens()).find((token) => token.id === spare.id)?.revokedAt).not.toBeNull();
    const adminsToken = await admin.me.createToken({ scopes: ["services:read"], ttl: "1h" });
    expect(await codeOf(adaClient.me.revokeToken(adminsToken.id))).toBe("not_found");
    expect(await codeOf(adaClient.users.list())).toBe("forbidden");

    // Disabled: her session and her personal token stop at once.
    await admin.users.update(ada.id, { state: "disabled" });
    expect(await codeOf(createClient({ url: registry.url, token: personal.token }).auth.validate())).toBe("account_disabled");
    expect(await codeOf(adaClient.auth.validate())).toBe("account_disabled");
    await admin.users.remove(ada.id);
    await admin.roles.remove("auditor");
  });

  it("refreshes: the refresh token rotates and is reported; sessions and security events are listed", async () => {
    const before = reported.at(-1)!;
    const refreshed = await admin.auth.refresh();
    expect(refreshed.refreshToken).not.toBe(before.refreshToken);
    expect(reported.at(-1)?.refreshToken).toBe(refreshed.refreshToken);
    const sessions = await admin.auth.sessions.list();
    expect(sessions.find((session) => session.current)).toMatchObject({ username: "admin", method: "password" });
    const events = await admin.auth.securityEvents({ limit: 5 });
    expect(events.events.length).toBeGreaterThan(0);
    expect(events.events.length).toBeLessThanOrEqual(5);
  });

  it("signs an agent in with its key", async () => {
    const pair = klp.generateKeyPair();
    await admin.users.create({ username: "agent:bot", kind: "agent", did: pair.did, roles: ["developer"] });
    const agent = createClient({ url: registry.url });
    const session = await agent.auth.signInAsAgent({ seed: pair.secretKey });
    expect(session.user).toMatchObject({ username: "agent:bot", kind: "agent" });
    expect((await agent.auth.validate()).owner).toBe("agent:bot");
    await expect(agent.auth.signInAsAgent({ did: klp.generateKeyPair().did, seed: pair.secretKey })).rejects.toThrow(TypeError);
    expect(await codeOf(createClient({ url: registry.url }).auth.signInAsAgent({ seed: klp.generateKeyPair().secretKey }))).toBe("invalid_credentials");
  });

  it("logout ends the session: the refresh token is useless and the client holds nothing", async () => {
    const refreshToken = reported.at(-1)!.refreshToken;
    await admin.auth.logout();
    expect(reported.at(-1)).toBeNull();
    const status = await createClient({ url: registry.url })
      .auth.refresh(refreshToken)
      .then(
        () => 200,
        (error: unknown) => (error as KaiApiError).status,
      );
    expect(status).toBe(401);
    expect(await codeOf(admin.auth.validate())).toBe("unauthorized");
  });
});
