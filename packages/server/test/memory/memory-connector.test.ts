/**
 * Semantic memory end to end on a Qdrant index (`memory.index.kind: connector`): a real node whose configuration names
 * a registry service as the vector store. Until that service is registered searches answer 503
 * memory_index_unavailable and adds are kept (the rows are the node's; their vectors queued); once an admin registers it (the Qdrant fake,
 * its key in the node's vault) memories stored over HTTP land in the store's collections through the Qdrant
 * connector, are found by meaning with filters, and a deleted one leaves the store too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema } from "@kai/protocol";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { startQdrantFake } from "../gateway/fakes/qdrant-fake.js";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { startEmbeddingFake } from "./embedding-fake.js";
import { addMemory, registerEmbedder, searchTexts } from "./memory-over-http.js";

const KEY = "qdrant-key-e2e-41c7";
let embedder: FakeUpstream;
let qdrant: Awaited<ReturnType<typeof startQdrantFake>>;
let server: TestServer;
let alice: string;

const points = () => [...qdrant.collections.values()].reduce((sum, collection) => sum + collection.points.size, 0);

const add = (body: Record<string, unknown>) => addMemory(server, alice, body);
const search = (query: string) => searchTexts(server, alice, query);

beforeAll(async () => {
  [embedder, qdrant] = await Promise.all([startEmbeddingFake(), startQdrantFake({ requireKey: KEY })]);
  server = await startTestServer({
    config: { rateLimit: { enabled: false }, memory: { index: { kind: "connector", connector: { service: "vectors", owner: "admin", probeIntervalMs: 50 } } } },
  });
  await registerEmbedder(server, embedder.url);
  alice = await mintToken(server, ["memory:read", "memory:write"], "alice");
});
afterAll(async () => {
  await server?.dispose();
  await embedder?.close();
  await qdrant?.fake.close();
});

describe("memory on a Qdrant index through its connector", () => {
  it("answers searches 503 memory_index_unavailable while the configured store is not registered; a memory added meanwhile is kept", async () => {
    // The row is the truth: the add is stored, its vector queued for the store.
    await add({ text: "written before the store exists", namespace: "early" });
    const refused = await server.request("/api/memory/search?namespace=early&q=anything&limit=3", { token: alice });
    expect(refused.status).toBe(503);
    expect(ErrorBodySchema.parse(await refused.json()).error.code).toBe("memory_index_unavailable");
  });

  it("once the store is registered, keeps vectors there, searches them with filters, and removes a deleted one", async () => {
    const registered = await server.request("/api/services/register", {
      method: "POST",
      json: registration({ id: "vectors", provider: "qdrant", capabilities: ["vector_storage"], url: qdrant.fake.url, auth: { type: "api_key", token: KEY } }),
    });
    expect(registered.status, await registered.text()).toBe(201);
    await expect.poll(async () => (await server.request("/api/memory/search?namespace=facts&q=x&limit=1", { token: alice })).status, { timeout: 10_000, interval: 50 }).toBe(200);
    // The queued vector reached the store.
    expect(points()).toBe(1);
    expect(await search("namespace=early&q=written+before+the+store&limit=1")).toEqual(["written before the store exists"]);

    await add({ text: "Lunch is served at noon in the cafeteria", namespace: "facts", metadata: { kind: "food" } });
    await add({ text: "The cafeteria closes at three", namespace: "facts", metadata: { kind: "hours" } });
    const gone = await add({ text: "The cafeteria serves soup at noon", namespace: "facts", metadata: { kind: "food" } });
    expect(points()).toBe(4);
    expect((await search("namespace=facts&q=when+is+lunch+in+the+cafeteria&limit=1"))[0]).toBe("Lunch is served at noon in the cafeteria");
    expect(await search("namespace=facts&q=cafeteria+noon&limit=5&filter%5Bkind%5D=food")).toEqual(["The cafeteria serves soup at noon", "Lunch is served at noon in the cafeteria"]);
    expect((await server.request(`/api/memory/${gone.id}`, { method: "DELETE", token: alice })).status).toBe(204);
    expect(points()).toBe(3);
    expect(await search("namespace=facts&q=cafeteria+noon&limit=5&filter%5Bkind%5D=food")).toEqual(["Lunch is served at noon in the cafeteria"]);
  });
});
