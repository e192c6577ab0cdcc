/**
 * Semantic memory end to end on the pgvector index (`memory.index.kind: pgvector`): a real node on SQLite whose
 * memory index is a real PostgreSQL with pgvector (PGlite behind its socket, test/helpers/pgvector-server.ts).
 * Memories stored over HTTP land in the database's vector table, are found by meaning with filters, and a deleted
 * one is never returned; after a restart the kept vectors are searched again without being inserted anew; with
 * the database gone, searches answer 503 memory_index_unavailable while a delete still works, and once it is back
 * the index catches up (the delete made meanwhile applied).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, SearchMemoryResponseSchema, type Memory } from "@kai/protocol";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { startPgvectorServer, type PgvectorServer } from "../helpers/pgvector-server.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { startEmbeddingFake } from "./embedding-fake.js";
import { addMemory, registerEmbedder, searchTexts } from "./memory-over-http.js";

let fake: FakeUpstream;
let database: PgvectorServer;
let server: TestServer;
let dataDir: string;
let alice: string;

function startNode(): Promise<TestServer> {
  return startTestServer({
    keepDataDir: dataDir,
    config: { rateLimit: { enabled: false }, memory: { index: { kind: "pgvector", pgvector: { url: database.url, poolSize: 2 } } } },
  });
}

async function vectorsInDatabase(): Promise<number> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM memory_index_vectors")).rows[0]!.n);
  } finally {
    await client.end();
  }
}

const add = (body: Record<string, unknown>) => addMemory(server, alice, body);
const search = (query: string) => searchTexts(server, alice, query);

beforeAll(async () => {
  [fake, database] = await Promise.all([startEmbeddingFake(), startPgvectorServer()]);
  dataDir = mkdtempSync(join(tmpdir(), "kai-memory-pgvector-"));
  server = await startNode();
  await registerEmbedder(server, fake.url);
  alice = await mintToken(server, ["memory:read", "memory:write"], "alice");
});
afterAll(async () => {
  await server?.dispose();
  await fake?.close();
  await database?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("memory on the pgvector index", () => {
  let gone: Memory;

  it("stores vectors in PostgreSQL, searches them by meaning with filters, never returns a deleted one", async () => {
    await add({ text: "Lunch is served at noon in the cafeteria", namespace: "facts", metadata: { kind: "food" } });
    await add({ text: "The cafeteria closes at three", namespace: "facts", metadata: { kind: "hours" } });
    gone = await add({ text: "The cafeteria serves soup at noon", namespace: "facts", metadata: { kind: "food" } });
    await add({ text: "Backups run nightly to the tape library", namespace: "facts", metadata: { kind: "ops" } });
    expect(await vectorsInDatabase()).toBe(4);
    expect((await search("namespace=facts&q=when+is+lunch+in+the+cafeteria&limit=2"))[0]).toBe("Lunch is served at noon in the cafeteria");
    expect(await search("namespace=facts&q=cafeteria+noon&limit=5&filter%5Bkind%5D=food")).toEqual(["The cafeteria serves soup at noon", "Lunch is served at noon in the cafeteria"]);
    expect((await server.request(`/api/memory/${gone.id}`, { method: "DELETE", token: alice })).status).toBe(204);
    expect(await vectorsInDatabase()).toBe(3);
    expect(await search("namespace=facts&q=cafeteria+noon&limit=5&filter%5Bkind%5D=food")).toEqual(["Lunch is served at noon in the cafeteria"]);
  });

  it("keeps the vectors across a restart: searched again, none inserted anew", async () => {
    await server.close();
    server = await startNode();
    const loaded = server.logs.find((line) => line.includes("memory index loaded"));
    expect(loaded).toMatch(/"index":"pgvector"/);
    expect(loaded).toMatch(/"added":0/);
    expect(await search("namespace=facts&q=tape+backups&limit=1")).toEqual(["Backups run nightly to the tape library"]);
    expect(await vectorsInDatabase()).toBe(3);
  });

  it("answers 503 memory_index_unavailable while the database is gone, and catches up when it is back", async () => {
    const hours = (await search("namespace=facts&q=cafeteria+closes&limit=1"))[0];
    expect(hours).toBe("The cafeteria closes at three");
    const listed = await server.request("/api/memory/search?namespace=facts&q=cafeteria+closes&limit=1", { token: alice });
    const closing = SearchMemoryResponseSchema.parse(await listed.json()).results[0]!.memory;
    await database.halt();
    try {
      const refused = await server.request("/api/memory/search?namespace=facts&q=cafeteria&limit=3", { token: alice });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(ErrorBodySchema.parse(await refused.json()).error.code).toBe("memory_index_unavailable");
      const adding = await server.request("/api/memory", { method: "POST", token: alice, json: { text: "written while down", namespace: "facts" } });
      expect(adding.status).toBe(503);
      // The rows are the truth: a delete works meanwhile, and reaches the index once it is back.
      expect((await server.request(`/api/memory/${closing.id}`, { method: "DELETE", token: alice })).status).toBe(204);
    } finally {
      await database.resume();
    }
    await expect.poll(async () => (await server.request("/api/memory/search?namespace=facts&q=cafeteria&limit=3", { token: alice })).status, { timeout: 10_000, interval: 100 }).toBe(200);
    expect(await search("namespace=facts&q=cafeteria+closes&limit=5")).not.toContain("The cafeteria closes at three");
    expect(await vectorsInDatabase()).toBe(2);
  });
});
