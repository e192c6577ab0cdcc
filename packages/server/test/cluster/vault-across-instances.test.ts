/**
 * The vault of two whole servers on one real PostgreSQL is one vault: a data-key rotation made through one
 * instance is used by the other (a secret it writes afterwards is sealed under the new key and read back on the
 * first), and the audit chain both wrote is one chain that verifies from either. A provider key replaced through one
 * instance is what the other's gateway sends next (its cached copy dropped by the vault_secret_changed signal,
 * not kept for credentialCacheMs).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { eventually, registration, type TestServer } from "../helpers/test-server.js";
import { startOpenAIFake } from "../gateway/fakes/openai-fake.js";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { startInstances, type Instances } from "./support/instances.js";

const pg: PostgresServer | null = await startPostgres();

describe.skipIf(!pg)("one vault across two instances", () => {
  let a: TestServer;
  let b: TestServer;
  let instances: Instances | undefined;

  beforeAll(async () => {
    instances = await startInstances(pg!, { database: "vault" });
    [a, b] = instances.servers as [TestServer, TestServer];
  }, 60_000);

  let fake: FakeUpstream | undefined;

  afterAll(async () => {
    await instances?.dispose();
    await fake?.close();
    await pg?.stop();
  });

  const keyVersion = async (server: TestServer) => ((await (await server.request("/api/vault/status")).json()) as { keyVersion: number | null }).keyVersion;

  test("a rotation on one is used by the other, and the audit chain stays one chain", async () => {
    expect((await a.request("/api/vault/secrets/before-rotation", { method: "PUT", json: { value: "v-before" } })).status).toBeLessThan(300);
    const before = await keyVersion(b);
    expect(before).toBe(await keyVersion(a));
    expect((await a.request("/api/vault/rotate", { method: "POST", json: {} })).status).toBeLessThan(300);
    // B writes after A rotated: under the new key (it reloads the header: signal or its own check), readable on A.
    expect((await b.request("/api/vault/secrets/after-rotation", { method: "PUT", json: { value: "v-after" } })).status).toBeLessThan(300);
    expect(await keyVersion(b)).toBe(before! + 1);
    expect(await keyVersion(a)).toBe(before! + 1);
    for (const [server, name, value] of [[a, "after-rotation", "v-after"], [b, "before-rotation", "v-before"]] as const) {
      const read = await server.request(`/api/vault/secrets/${name}`);
      expect(read.status).toBe(200);
      expect(((await read.json()) as { value: string }).value).toBe(value);
    }
    for (const server of [a, b]) {
      const verify = await server.request("/api/vault/audit/verify");
      expect(verify.status).toBe(200);
      expect(((await verify.json()) as { ok: boolean }).ok).toBe(true);
    }
  });

  test("a provider key replaced through one instance is what the other's gateway sends next", async () => {
    fake = await startOpenAIFake();
    const secret = "/api/vault/secrets/providers/shared-openai";
    expect((await a.request(secret, { method: "PUT", json: { value: "sk-old-4c2e8a" } })).status).toBe(200);
    const registered = await a.request("/api/services/register", {
      method: "POST",
      json: registration({ id: "shared-openai", url: fake.url, auth: { type: "bearer_token", credentialRef: "vault:providers/shared-openai" } }),
    });
    expect(registered.status, await registered.clone().text()).toBe(201);
    const sentThrough = async (server: TestServer): Promise<string | undefined> => {
      const before = fake!.requests.length;
      const response = await server.request("/v1/chat/completions", { method: "POST", json: { model: "gpt-fake", messages: [{ role: "user", content: "hi" }] } });
      if (response.status !== 200) return undefined;
      return String(fake!.requests.slice(before).find((request) => request.path === "/v1/chat/completions")?.headers.authorization);
    };
    // B has the record (the shared change log) and caches the old key on its first call.
    expect(await eventually(() => sentThrough(b), 10_000)).toBe("Bearer sk-old-4c2e8a");
    expect((await a.request(secret, { method: "PUT", json: { value: "sk-new-9d1f3b" } })).status).toBe(200);
    // Well inside the 30 s credentialCacheMs B would otherwise keep the old key for.
    await eventually(async () => (await sentThrough(b)) === "Bearer sk-new-9d1f3b", 10_000, 100);
  }, 40_000);
});
