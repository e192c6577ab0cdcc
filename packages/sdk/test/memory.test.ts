/**
 * `client.memory` against a real node with an embedding service registered (the deterministic embedding fake):
 * add (and the same text again: `created: false`), search with a metadata filter and the expansion along relations,
 * get, delete one (never found again), delete by filter, and the API's refusals as KaiApiErrors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import type { FakeUpstream } from "../../server/test/gateway/fakes/fake-server.js";
import { EMBED_MODEL, startEmbeddingFake } from "../../server/test/memory/embedding-fake.js";
import { definition, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let fake: FakeUpstream;
let alice: KaiClient;

beforeAll(async () => {
  fake = await startEmbeddingFake();
  registry = await startRegistry({ rateLimit: { enabled: false } });
  await registry.admin.services.register(definition("sdk-embedder", { provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, visibility: "public", metadata: { models: [EMBED_MODEL] } }));
  alice = await registry.clientWith(["memory:read", "memory:write"], "alice");
});
afterAll(async () => {
  await registry?.close();
  await fake?.close();
});

describe("client.memory", () => {
  it("adds, dedupes, searches with filters and relations, reads and deletes", async () => {
    const fact = await alice.memory.add({ text: "the staging database restarts at midnight", namespace: "sdk", metadata: { env: "staging" } });
    expect(fact.created).toBe(true);
    expect((await alice.memory.add({ text: "the staging database restarts at midnight", namespace: "sdk" })).memory.id).toBe(fact.memory.id);
    const related = await alice.memory.add({ text: "production restarts on sundays", namespace: "sdk", metadata: { env: "production" }, relations: [fact.memory.id] });

    const staging = await alice.memory.search("when does the database restart", { namespace: "sdk", filter: { env: "staging" } });
    expect(staging.model).toBe(EMBED_MODEL);
    expect(staging.results.map((result) => result.memory.id)).toEqual([fact.memory.id]);
    const expanded = await alice.memory.search("production restarts", { namespace: "sdk", limit: 1, expand: true });
    expect(expanded.results.map((result) => [result.memory.id, result.relatedTo])).toEqual([[related.memory.id, undefined], [fact.memory.id, related.memory.id]]);
    expect((await alice.memory.get(fact.memory.id)).text).toBe("the staging database restarts at midnight");

    await alice.memory.delete(fact.memory.id);
    const gone = await alice.memory.get(fact.memory.id).catch((error: unknown) => error);
    expect(gone).toBeInstanceOf(KaiApiError);
    expect((gone as KaiApiError).status).toBe(404);
    expect(await alice.memory.deleteWhere({ namespace: "sdk", filter: { env: "production" } })).toBe(1);
    expect((await alice.memory.search("restarts", { namespace: "sdk" })).results).toEqual([]);

    const bad = await alice.memory.search("x", { limit: 1000 }).catch((error: unknown) => error);
    expect((bad as KaiApiError).code).toBe("validation_failed");
  });
});
