/**
 * Semantic memory end to end (docs/data/memory.md): a real server on SQLite, memories embedded through the node's
 * own gateway by a registered OpenAI-compatible service (the deterministic embedding fake), searched by meaning with
 * filters inside the search, isolated by owner, deleted (never returned afterwards), deduped by text, expanded
 * along relations, and found again after a restart (the index rebuilt from the rows).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddMemoryResponseSchema, ErrorBodySchema, SearchMemoryResponseSchema, type Memory } from "@kai/protocol";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { EMBED_DIMENSIONS, EMBED_MODEL, startEmbeddingFake } from "./embedding-fake.js";

let fake: FakeUpstream;
let server: TestServer;
let dataDir: string;
let alice: string;
let bob: string;

async function startNode(): Promise<TestServer> {
  return startTestServer({ keepDataDir: dataDir, config: { rateLimit: { enabled: false } } });
}

async function add(token: string, body: Record<string, unknown>): Promise<{ status: number; memory: Memory; created: boolean }> {
  const response = await server.request("/api/memory", { method: "POST", token, json: body });
  const text = await response.text();
  expect([200, 201], text).toContain(response.status);
  return { status: response.status, ...AddMemoryResponseSchema.parse(JSON.parse(text)) };
}

async function search(token: string, query: string): Promise<Array<{ id: string; text: string; score: number; relatedTo?: string }>> {
  const response = await server.request(`/api/memory/search?${query}`, { token });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const body = SearchMemoryResponseSchema.parse(JSON.parse(text));
  expect(body.model).toBe(EMBED_MODEL);
  return body.results.map((result) => ({ id: result.memory.id, text: result.memory.text, score: result.score, ...(result.relatedTo ? { relatedTo: result.relatedTo } : {}) }));
}

beforeAll(async () => {
  fake = await startEmbeddingFake();
  dataDir = mkdtempSync(join(tmpdir(), "kai-memory-"));
  server = await startNode();
  const registered = await server.request("/api/services/register", {
    method: "POST",
    json: registration({ id: "embedder", provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, metadata: { models: [EMBED_MODEL] } }),
  });
  expect(registered.status, await registered.text()).toBe(201);
  alice = await mintToken(server, ["memory:read", "memory:write"], "alice");
  bob = await mintToken(server, ["memory:read", "memory:write"], "bob");
});
afterAll(async () => {
  await server?.dispose();
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("memory API", () => {
  it("stores a memory embedded through the gateway, and the same text once", async () => {
    const first = await add(alice, { text: "The deploy key rotates every Monday", metadata: { team: "ops" } });
    expect(first.status).toBe(201);
    expect(first.created).toBe(true);
    expect(first.memory).toMatchObject({ namespace: "default", owner: "alice", metadata: { team: "ops" }, model: EMBED_MODEL, dimensions: EMBED_DIMENSIONS, expiresAt: null, relations: [] });
    expect(first.memory.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect((fake.last("/v1/embeddings")?.body as { input: string[] }).input).toEqual(["The deploy key rotates every Monday"]);

    const again = await add(alice, { text: "The deploy key rotates every Monday", metadata: { team: "other" } });
    expect(again.status).toBe(200);
    expect(again.created).toBe(false);
    expect(again.memory.id).toBe(first.memory.id);
    expect(again.memory.metadata).toEqual({ team: "ops" });

    const shown = await server.request(`/api/memory/${first.memory.id}`, { token: alice });
    expect(shown.status).toBe(200);
    expect(((await shown.json()) as { memory: Memory }).memory).toEqual(first.memory);
  });

  it("finds memories by meaning, nearest first, with scores and a threshold", async () => {
    await add(alice, { text: "Lunch is served at noon in the cafeteria", namespace: "facts" });
    await add(alice, { text: "The cafeteria closes at three", namespace: "facts" });
    await add(alice, { text: "Backups run nightly to the tape library", namespace: "facts" });
    const results = await search(alice, "namespace=facts&q=when+is+lunch+in+the+cafeteria&limit=2");
    expect(results.map((result) => result.text)).toEqual(["Lunch is served at noon in the cafeteria", "The cafeteria closes at three"]);
    expect(results[0]!.score).toBeGreaterThan(results[1]!.score);
    const strict = await search(alice, "namespace=facts&q=when+is+lunch+in+the+cafeteria&threshold=0.6");
    expect(strict.map((result) => result.text)).toEqual(["Lunch is served at noon in the cafeteria"]);
  });

  it("applies metadata filters inside the search: as many results as asked while that many match", async () => {
    for (let n = 0; n < 60; n++) await add(alice, { text: `ticket ${n} about the printer on floor ${n % 7}`, namespace: "tickets", metadata: { kind: n % 20 === 0 ? "urgent" : "normal", n } });
    const urgent = await search(alice, "namespace=tickets&q=printer+floor&limit=3&filter%5Bkind%5D=urgent");
    expect(urgent).toHaveLength(3);
    expect(urgent.map((result) => result.text).sort()).toEqual(["ticket 0 about the printer on floor 0", "ticket 20 about the printer on floor 6", "ticket 40 about the printer on floor 5"]);
    const one = await search(alice, "namespace=tickets&q=printer&limit=5&filter%5Bkind%5D=urgent&filter%5Bn%5D=40");
    expect(one.map((result) => result.text)).toEqual(["ticket 40 about the printer on floor 5"]);
    const bad = await server.request("/api/memory/search?q=x&colour=red", { token: alice });
    expect(bad.status).toBe(400);
    expect(ErrorBodySchema.parse(await bad.json()).error.code).toBe("validation_failed");
  });

  it("isolates owners: another owner's namespace of the same name is another namespace", async () => {
    const secret = await add(alice, { text: "alice keeps the spare key under the mat", namespace: "home" });
    await add(bob, { text: "bob keeps his key in the drawer", namespace: "home" });
    expect((await search(bob, "namespace=home&q=spare+key+mat")).map((result) => result.text)).toEqual(["bob keeps his key in the drawer"]);
    expect((await server.request(`/api/memory/${secret.memory.id}`, { token: bob })).status).toBe(404);
    expect((await server.request(`/api/memory/${secret.memory.id}`, { method: "DELETE", token: bob })).status).toBe(404);
    const other = await server.request("/api/memory/search?q=key&namespace=home&owner=alice", { token: bob });
    expect(other.status).toBe(403);
    // An admin may look into another owner's namespace.
    const admin = await server.request("/api/memory/search?q=spare+key+mat&namespace=home&owner=alice");
    expect(((await admin.json()) as { results: Array<{ memory: Memory }> }).results[0]!.memory.id).toBe(secret.memory.id);
  });

  it("never returns a deleted memory, by id, by filter or by namespace", async () => {
    const gone = await add(alice, { text: "the wifi password is on the fridge", namespace: "wipe", metadata: { room: "kitchen" } });
    const kept = await add(alice, { text: "the wifi router is in the hall", namespace: "wipe", metadata: { room: "hall" } });
    const filtered = await add(alice, { text: "the kitchen wifi repeater", namespace: "wipe", metadata: { room: "kitchen" } });
    expect((await server.request(`/api/memory/${gone.memory.id}`, { method: "DELETE", token: alice })).status).toBe(204);
    expect((await search(alice, "namespace=wipe&q=wifi+password+fridge")).map((result) => result.id)).not.toContain(gone.memory.id);
    expect((await server.request(`/api/memory/${gone.memory.id}`, { token: alice })).status).toBe(404);

    const byFilter = await server.request("/api/memory/delete", { method: "POST", token: alice, json: { namespace: "wipe", filter: { room: "kitchen" } } });
    expect(await byFilter.json()).toEqual({ deleted: 1 });
    expect((await search(alice, "namespace=wipe&q=kitchen+wifi+repeater")).map((result) => result.id)).toEqual([kept.memory.id]);
    expect(filtered.memory.id).not.toBe(kept.memory.id);

    const all = await server.request("/api/memory/delete", { method: "POST", token: alice, json: { namespace: "wipe", all: true } });
    expect(await all.json()).toEqual({ deleted: 1 });
    expect(await search(alice, "namespace=wipe&q=wifi")).toEqual([]);
    const neither = await server.request("/api/memory/delete", { method: "POST", token: alice, json: { namespace: "wipe" } });
    expect(neither.status).toBe(400);
  });

  it("expands results along relations, and refuses a relation to a memory it cannot see", async () => {
    const cause = await add(alice, { text: "the build broke after the compiler upgrade", namespace: "incidents" });
    const fix = await add(alice, { text: "pinning the toolchain version restored green builds", namespace: "incidents", relations: [cause.memory.id] });
    const plain = await search(alice, "namespace=incidents&q=toolchain+version+pinned&limit=1");
    expect(plain.map((result) => result.id)).toEqual([fix.memory.id]);
    const expanded = await search(alice, "namespace=incidents&q=toolchain+version+pinned&limit=1&expand=true");
    expect(expanded.map((result) => result.id)).toEqual([fix.memory.id, cause.memory.id]);
    expect(expanded[1]!.relatedTo).toBe(fix.memory.id);
    const foreign = await server.request("/api/memory", { method: "POST", token: bob, json: { text: "unrelated", namespace: "incidents", relations: [cause.memory.id] } });
    expect(foreign.status).toBe(400);
  });

  it("answers what the gateway says when no embedding service can be used", async () => {
    const carol = await mintToken(server, ["memory:read", "memory:write"], "carol");
    const hidden = await server.request("/api/services/register", { method: "POST", json: registration({ id: "embedder-private", provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, visibility: "private", owner: "dave" }) });
    expect(hidden.status).toBe(201);
    // The only embedding service carol may see goes away (dave's private one is not hers to use).
    expect((await server.request("/api/services/embedder", { method: "DELETE" })).status).toBe(204);
    const response = await server.request("/api/memory", { method: "POST", token: carol, json: { text: "nothing to embed with" } });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(ErrorBodySchema.parse(await response.json()).error.code).toBe("capability_not_found");
    // Put the shared embedder back for the restart test.
    expect((await server.request("/api/services/register", { method: "POST", json: registration({ id: "embedder", provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, metadata: { models: [EMBED_MODEL] } }) })).status).toBe(201);
  });

  it("finds its memories after a restart: the index is rebuilt from the stored rows", async () => {
    const kept = await add(alice, { text: "the office plant needs water on fridays", namespace: "restart" });
    await server.close();
    server = await startNode();
    const results = await search(alice, "namespace=restart&q=water+the+office+plant");
    expect(results.map((result) => result.id)).toEqual([kept.memory.id]);
  });
});
