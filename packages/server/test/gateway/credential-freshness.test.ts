// The gateway's credential cache never outlives a change made through the node (gateway/router/credential-freshness.ts):
// on a real server, a vault secret that a service's credentialRef names is replaced and the very next routed request
// carries the new key (not the cached one for credentialCacheMs, 30 s); a deleted secret is refused at once
// (credential_unavailable); a locked vault hands out nothing, cached or not (vault_locked). The keys appear in no log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import type { FakeUpstream } from "./fakes/fake-server.js";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";

const FIRST = "sk-first-5b1e9c0d7a";
const SECOND = "sk-second-2f8a6d4c1e";
const SECRET = "/api/vault/secrets/providers/openai-main";

let fake: FakeUpstream;
let server: TestServer;

beforeAll(async () => {
  fake = await startOpenAIFake();
  server = await startTestServer({ config: { rateLimit: { enabled: false }, vault: { pbkdf2Iterations: 10_000 }, gateway: { retries: 0 } } });
  expect((await server.request(SECRET, { method: "PUT", json: { value: FIRST } })).status).toBe(200);
  const registered = await server.request("/api/services/register", {
    method: "POST",
    json: registration({ id: "openai-main", url: fake.url, auth: { type: "bearer_token", credentialRef: "vault:providers/openai-main" } }),
  });
  expect(registered.status, await registered.clone().text()).toBe(201);
}, 30_000);

afterAll(async () => {
  await server?.dispose();
  await fake?.close();
});

/** One chat completion through the gateway: its status and error code, and the Authorization header the provider saw. */
async function chat(): Promise<{ status: number; code?: string; authorization?: string }> {
  const before = fake.requests.length;
  const response = await server.request("/v1/chat/completions", { method: "POST", json: { model: "gpt-fake", messages: [{ role: "user", content: "hi" }] } });
  const body = (await response.json()) as { error?: { code?: string } };
  const seen = fake.requests.slice(before).find((request) => request.path === "/v1/chat/completions");
  return { status: response.status, ...(body.error?.code ? { code: body.error.code } : {}), ...(seen ? { authorization: String(seen.headers.authorization) } : {}) };
}

describe("the gateway's cached credentials", () => {
  it("use a replaced secret from the next request on, refuse a deleted one and a locked vault at once", async () => {
    expect(await chat()).toMatchObject({ status: 200, authorization: `Bearer ${FIRST}` });
    // Cached now: a second request reads no vault, and still sends the first key.
    expect(await chat()).toMatchObject({ status: 200, authorization: `Bearer ${FIRST}` });

    expect((await server.request(SECRET, { method: "PUT", json: { value: SECOND } })).status).toBe(200);
    expect(await chat()).toMatchObject({ status: 200, authorization: `Bearer ${SECOND}` });

    expect((await server.request(SECRET, { method: "DELETE" })).status).toBeLessThan(300);
    const deleted = await chat();
    expect(deleted).toMatchObject({ status: 503, code: "credential_unavailable" });
    expect(deleted.authorization).toBeUndefined();

    expect((await server.request(SECRET, { method: "PUT", json: { value: FIRST } })).status).toBe(200);
    expect(await chat()).toMatchObject({ status: 200, authorization: `Bearer ${FIRST}` });
    expect((await server.request("/api/vault/lock", { method: "POST", json: {} })).status).toBe(200);
    const locked = await chat();
    expect(locked).toMatchObject({ status: 503, code: "vault_locked" });
    expect(locked.authorization).toBeUndefined();

    const logs = server.logs.join("\n");
    for (const key of [FIRST, SECOND]) expect(logs).not.toContain(key);
  });
});
