/**
 * Semantic memory on one node of two instances (issue 17 on issue 13's cluster): both on one real PostgreSQL, each
 * with its own in-process index. A memory added through one instance is found by a search on the other within
 * moments (the `memory_changed` cluster signal tells it to index the shared row), without a restart; one deleted on
 * either is gone from both; and a memory deduplicated on one instance is the same memory on the other.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { AddMemoryResponseSchema, SearchMemoryResponseSchema } from "@kai/protocol";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { eventually, mintToken, registration, type TestServer } from "../helpers/test-server.js";
import { startPostgres } from "../helpers/postgres-server.js";
import { startInstances, type Instances } from "../cluster/support/instances.js";
import { EMBED_MODEL, startEmbeddingFake } from "./embedding-fake.js";

const postgres = await startPostgres();
let instances: Instances | undefined;
let fake: FakeUpstream | undefined;
let a: TestServer;
let b: TestServer;
let alice = "";

beforeAll(async () => {
  if (!postgres) return;
  fake = await startEmbeddingFake();
  instances = await startInstances(postgres, { database: "memory_cluster", cluster: { heartbeatMs: 200, memberTimeoutMs: 1_000, pollIntervalMs: 100 }, config: { rateLimit: { enabled: false } } });
  [a, b] = instances.servers as [TestServer, TestServer];
  const registered = await a.request("/api/services/register", {
    method: "POST",
    json: registration({ id: "embedder", provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, metadata: { models: [EMBED_MODEL] } }),
  });
  expect(registered.status, await registered.text()).toBe(201);
  alice = await mintToken(a, ["memory:read", "memory:write"], "alice");
  // The embedder is routable from both instances (the registry is one).
  await eventually(async () => (await b.request("/api/services/embedder", { token: a.adminToken })).status === 200);
}, 60_000);

afterAll(async () => {
  await instances?.dispose();
  await fake?.close();
  await postgres?.stop();
});

async function addOn(on: TestServer, text: string) {
  const response = await on.request("/api/memory", { method: "POST", token: alice, json: { text, namespace: "ops" } });
  const body = await response.text();
  expect([200, 201], body).toContain(response.status);
  return AddMemoryResponseSchema.parse(JSON.parse(body));
}

async function searchOn(on: TestServer, q: string): Promise<string[]> {
  const response = await on.request(`/api/memory/search?namespace=ops&limit=5&q=${encodeURIComponent(q)}`, { token: alice });
  const body = await response.text();
  expect(response.status, body).toBe(200);
  return SearchMemoryResponseSchema.parse(JSON.parse(body)).results.map((result) => result.memory.id);
}

it.skipIf(!postgres)("a memory added on one instance is found on the other; deleted on the other, it is gone from both", async () => {
  const added = await addOn(a, "the staging database is restored every friday");
  expect(added.created).toBe(true);
  await eventually(async () => (await searchOn(b, "when is the staging database restored")).includes(added.memory.id), 10_000);

  // The same text through the other instance is the same memory (the rows are one).
  const again = await addOn(b, "the staging database is restored every friday");
  expect(again.created).toBe(false);
  expect(again.memory.id).toBe(added.memory.id);

  const second = await addOn(b, "the production database is never restored by hand");
  await eventually(async () => (await searchOn(a, "production database by hand")).includes(second.memory.id), 10_000);

  const deleted = await b.request(`/api/memory/${added.memory.id}`, { method: "DELETE", token: alice });
  expect(deleted.status).toBe(204);
  expect(await searchOn(a, "when is the staging database restored")).not.toContain(added.memory.id);
  expect(await searchOn(b, "when is the staging database restored")).not.toContain(added.memory.id);
  expect((await a.request(`/api/memory/${added.memory.id}`, { token: alice })).status).toBe(404);
}, 60_000);
