/**
 * Signing in with the built CLI against a real server: the first admin's one-time password must be changed at
 * the first `kai login`; the session is kept in a 0600 file that no command prints; later commands use it and
 * renew it (an expired or refused access token is replaced, the rotated refresh token saved); `kai users`,
 * `kai roles`, `kai sessions`, `kai security events` work through it; `kai logout` makes the refresh token
 * useless; an agent signs in with its key file.
 */
import { readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { createClient, KaiApiError } from "@kai/sdk";
import { runKai, sandbox, startTestServer, type KaiResult, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let admin: Sandbox;
const NEW_PASSWORD = "correct horse battery staple";
/** Everything any command printed, to check that no secret of the session ever appears in it. */
const printed: string[] = [];

beforeAll(async () => {
  // A cheap argon2 cost keeps the test quick; the cost is not what is tested here.
  server = await startTestServer({ rateLimit: { enabled: false }, auth: { signIn: { password: { memoryKiB: 1024, iterations: 1 } } } });
  admin = sandbox();
});

afterAll(async () => {
  await server?.close();
  admin?.cleanup();
});

/** `kai` in a sandbox without KAI_TOKEN: the stored session is the only credential. */
async function kai(box: Sandbox, args: string[], input?: string): Promise<KaiResult> {
  const result = await runKai(["--url", server.url, ...args], { cwd: box.dir, env: box.env, ...(input !== undefined ? { input } : {}) });
  printed.push(result.stdout, result.stderr);
  return result;
}

const loginFile = (box: Sandbox) => join(box.env.KAI_CONFIG_DIR!, "cli.json");

interface StoredSessionFile {
  url: string;
  session: { username: string; refreshToken: string; accessToken: string; accessExpiresAt: string; sessionExpiresAt: string };
}
const stored = (box: Sandbox) => JSON.parse(readFileSync(loginFile(box), "utf8")) as StoredSessionFile;
const seenSecrets = new Set<string>();
function remember(box: Sandbox): StoredSessionFile {
  const file = stored(box);
  seenSecrets.add(file.session.refreshToken);
  seenSecrets.add(file.session.accessToken);
  return file;
}

describe("kai login with a password", () => {
  it("refuses a wrong password (exit 4) and stores nothing", async () => {
    const result = await kai(admin, ["login", "--username", "admin", "--password-stdin"], "not the password\n");
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("(invalid_credentials)");
    expect(existsSync(loginFile(admin))).toBe(false);
  });

  it("signs the first admin in with the one-time password only together with a new one", async () => {
    const oneTime = readFileSync(join(server.dataDir, "first-admin.password"), "utf8").trim();
    const without = await kai(admin, ["login", "--username", "admin", "--password-stdin"], `${oneTime}\n`);
    expect(without.code).toBe(4);
    expect(without.stderr).toContain("(password_change_required)");
    expect(existsSync(loginFile(admin))).toBe(false);

    const tooShort = await kai(admin, ["login", "--username", "admin", "--password-stdin"], `${oneTime}\nshort\n`);
    expect(tooShort.code).toBe(2);

    const signedIn = await kai(admin, ["login", "--username", "admin", "--password-stdin"], `${oneTime}\n${NEW_PASSWORD}\n`);
    expect(signedIn.code).toBe(0);
    expect(signedIn.stderr).toContain(`signed in to ${server.url} as admin (admin)`);
    expect(statSync(loginFile(admin)).mode & 0o777).toBe(0o600);
    expect(remember(admin)).toMatchObject({ url: server.url, session: { username: "admin" } });

    // The one-time password is spent; the new one works (here through the SDK, to leave the CLI's session alone).
    await expect(createClient({ url: server.url }).auth.login({ username: "admin", password: oneTime })).rejects.toMatchObject({ code: "invalid_credentials" });
  }, 60_000);

  let adaPassword = "";

  it("uses the stored session: whoami, users create, list, update and show", async () => {
    const whoami = await kai(admin, ["whoami", "--json"]);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ user: { username: "admin", roles: ["admin"] }, via: "session" });

    const created = await kai(admin, ["users", "create", "ada", "--role", "viewer", "--display-name", "Ada", "--generate-password"]);
    expect(created.code).toBe(0);
    adaPassword = created.stdout.trim();
    expect(adaPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);

    const listed = await kai(admin, ["users", "list", "--json"]);
    expect(listed.code).toBe(0);
    const users = (JSON.parse(listed.stdout) as { users: { username: string; roles: string[]; mustChangePassword: boolean }[] }).users;
    expect(users.find((user) => user.username === "ada")).toMatchObject({ roles: ["viewer"], mustChangePassword: true });
    const table = await kai(admin, ["users", "list"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+USERNAME\s+KIND\s+STATE\s+ROLES\s+METHODS\s+LAST SIGN-IN$/);

    expect((await kai(admin, ["users", "update", "ada", "--add-role", "developer"])).code).toBe(0);
    const shown = await kai(admin, ["users", "show", "ada", "--json"]);
    expect((JSON.parse(shown.stdout) as { roles: string[] }).roles.sort()).toEqual(["developer", "viewer"]);
    expect((await kai(admin, ["users", "show", "nobody"])).code).toBe(3);
  }, 60_000);

  it("roles, sessions and the security log through the stored session", async () => {
    expect((await kai(admin, ["roles", "set", "auditor", "--scope", "metrics:read", "--description", "reads metrics"])).code).toBe(0);
    const roles = JSON.parse((await kai(admin, ["roles", "list", "--json"])).stdout) as { roles: { name: string; builtIn: boolean }[] };
    expect(roles.roles.map((role) => role.name)).toEqual(expect.arrayContaining(["admin", "operator", "developer", "viewer", "auditor"]));
    expect((await kai(admin, ["roles", "delete", "auditor"])).code).toBe(0);

    const sessions = JSON.parse((await kai(admin, ["sessions", "list", "--json"])).stdout) as { sessions: { current: boolean; username: string }[] };
    expect(sessions.sessions.filter((session) => session.current)).toEqual([expect.objectContaining({ username: "admin" })]);

    const events = await kai(admin, ["security", "events", "--json"]);
    expect(events.code).toBe(0);
    expect((JSON.parse(events.stdout) as { events: { type: string }[] }).events.length).toBeGreaterThan(0);
  }, 60_000);

  it("a user signs in with the generated password; disabling her stops her session at once", async () => {
    // Ada signs in in her own sandbox (she must change the generated password), then is disabled: exit 4.
    const ada = sandbox();
    try {
      const login = await kai(ada, ["login", "--username", "ada", "--password-stdin"], `${adaPassword}\n${NEW_PASSWORD}\n`);
      expect(login.code).toBe(0);
      remember(ada);
      expect((await kai(ada, ["users", "list"])).code).toBe(4); // a viewer is no admin
      expect((await kai(admin, ["users", "disable", "ada"])).code).toBe(0);
      const refused = await kai(ada, ["whoami"]);
      expect(refused.code).toBe(4);
    } finally {
      ada.cleanup();
    }
  }, 60_000);

  it("renews an expired access token and a refused one, saving each rotated refresh token", async () => {
    const before = remember(admin);
    // The access token is due: the CLI refreshes before the request and saves the new pair.
    writeFileSync(loginFile(admin), JSON.stringify({ ...before, session: { ...before.session, accessExpiresAt: new Date(Date.now() - 1000).toISOString() } }));
    expect((await kai(admin, ["whoami"])).code).toBe(0);
    const renewed = remember(admin);
    expect(renewed.session.refreshToken).not.toBe(before.session.refreshToken);
    expect(renewed.session.accessToken).not.toBe(before.session.accessToken);
    expect(statSync(loginFile(admin)).mode & 0o777).toBe(0o600);

    // The server refuses the access token (401 unauthorized): renewed once, the request repeated.
    writeFileSync(loginFile(admin), JSON.stringify({ ...renewed, session: { ...renewed.session, accessToken: "not-a-token" } }));
    expect((await kai(admin, ["whoami", "--json"])).code).toBe(0);
    expect(remember(admin).session.refreshToken).not.toBe(renewed.session.refreshToken);
  }, 60_000);

  it("logout ends the session on the server: its refresh token is useless afterwards", async () => {
    const { session } = remember(admin);
    const result = await kai(admin, ["logout"]);
    expect(result.code).toBe(0);
    expect(existsSync(loginFile(admin))).toBe(false);
    const error = await createClient({ url: server.url }).auth.refresh(session.refreshToken).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(KaiApiError);
    expect((error as KaiApiError).status).toBe(401);
    // Nothing is stored any more: a command needing a token says so (exit 4).
    expect((await kai(admin, ["whoami"])).code).toBe(4);
    expect((await kai(admin, ["logout"])).code).toBe(0);
  }, 60_000);
});

describe("kai agent-login", () => {
  it("signs an agent in with its key file", async () => {
    const adminClient = createClient({ url: server.url });
    await adminClient.auth.login({ username: "admin", password: NEW_PASSWORD });
    const pair = klp.generateKeyPair();
    await adminClient.users.create({ username: "agent:bot", kind: "agent", did: pair.did, roles: ["developer"] });

    const box = sandbox();
    try {
      const keyFile = join(box.dir, "agent.key");
      writeFileSync(keyFile, `${klp.toHex(pair.secretKey)}\n`, { mode: 0o600 });
      const login = await kai(box, ["agent-login", "--key-file", keyFile]);
      expect(login.code).toBe(0);
      expect(login.stderr).toContain("as agent:bot (developer)");
      remember(box);
      const whoami = JSON.parse((await kai(box, ["whoami", "--json"])).stdout) as { user: { username: string; kind: string } };
      expect(whoami.user).toMatchObject({ username: "agent:bot", kind: "agent" });

      const stranger = join(box.dir, "stranger.key");
      writeFileSync(stranger, klp.toBase64Url(klp.generateKeyPair().secretKey), { mode: 0o600 });
      const refused = await kai(box, ["agent-login", "--key-file", stranger]);
      expect(refused.code).toBe(4);
      expect(refused.stderr).toContain("(invalid_credentials)");
    } finally {
      box.cleanup();
    }
  }, 60_000);
});

describe("secrets stay out of the output", () => {
  it("no command printed a refresh or access token of a stored session", () => {
    expect(seenSecrets.size).toBeGreaterThan(4);
    const output = printed.join("\n");
    for (const secret of seenSecrets) expect(output.includes(secret), "a session token was printed").toBe(false);
  });
});
