/**
 * Two instances of one node on one real PostgreSQL (issue 14): a session revoked, a user disabled or a role taken
 * away on instance A is refused on instance B within the signal's delivery (the user_changed / session_revoked
 * cluster signals), even though B had already accepted (and cached) the token; a user created on A signs in on B.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import type { TestServer } from "../helpers/test-server.js";
import { waitFor } from "../cluster/support.js";
import { startInstances, type Instances } from "../cluster/support/instances.js";
import { SIGN_IN_TEST_CONFIG } from "./sign-in-support.js";

const pg: PostgresServer | null = await startPostgres();

describe.skipIf(!pg)("sign-in across two instances", () => {
  let instances: Instances;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    instances = await startInstances(pg!, { database: "sign_in_two", config: SIGN_IN_TEST_CONFIG });
    [a, b] = instances.servers as [TestServer, TestServer];
  });
  afterAll(async () => {
    await instances?.dispose();
    await pg?.stop();
  });

  async function createAndSignIn(on: TestServer, username: string, roles: string[]): Promise<{ id: string; accessToken: string; sessionId: string }> {
    const created = await on.request("/api/users", { method: "POST", json: { username, password: "correct horse battery", roles } });
    expect(created.status, await created.clone().text()).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    // Signed in on B: the user A created is found there.
    const signedIn = await b.request("/api/auth/login", { method: "POST", token: null, json: { username, password: "correct horse battery" } });
    expect(signedIn.status).toBe(200);
    const body = (await signedIn.json()) as { accessToken: string; sessionId: string };
    return { id, ...body };
  }

  const status = async (server: TestServer, token: string, path = "/api/auth/validate") => (await server.request(path, { token })).status;

  test("a session revoked on A is refused on B", async () => {
    const user = await createAndSignIn(a, "sasha", ["viewer"]);
    expect(await status(b, user.accessToken)).toBe(200);
    expect(await status(a, user.accessToken)).toBe(200);
    expect((await a.request(`/api/auth/sessions/${user.sessionId}`, { method: "DELETE" })).status).toBe(204);
    expect(await status(a, user.accessToken)).toBe(401);
    await waitFor("the session refused on B", async () => (await status(b, user.accessToken)) === 401, 5_000);
  });

  test("a user disabled on A is refused on B, and a role taken away on A is gone on B", async () => {
    const user = await createAndSignIn(a, "dana", ["viewer"]);
    expect(await status(b, user.accessToken, "/metrics")).toBe(200);
    expect((await a.request(`/api/users/${user.id}`, { method: "PATCH", json: { roles: [] } })).status).toBe(200);
    await waitFor("metrics:read gone on B", async () => (await status(b, user.accessToken, "/metrics")) === 403, 5_000);
    expect((await a.request(`/api/users/${user.id}`, { method: "PATCH", json: { state: "disabled" } })).status).toBe(200);
    await waitFor("the disabled user refused on B", async () => (await status(b, user.accessToken)) === 403, 5_000);
    const refused = await b.request("/api/auth/login", { method: "POST", token: null, json: { username: "dana", password: "correct horse battery" } });
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("account_disabled");
  });
});
