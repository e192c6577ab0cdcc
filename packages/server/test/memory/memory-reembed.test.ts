/**
 * Changing the embedding model (docs/data/memory.md): memories stored under one model are not found once the node
 * embeds queries with another (two models' vectors never share an index partition); the re-embedding job moves them,
 * through the gateway, with progress any caller with `admin` can follow, live (no restart). A slow embedding service
 * shows the job running: a second start is 409, a cancel stops it after its batch (what moved stays moved), starting
 * again resumes with only the rest; a failing service ends it as `failed` with the gateway's error, and a restart of
 * the node mid-job leaves it `interrupted`, resumable. A real server on SQLite, restarted on its data directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MemoryResponseSchema, ReembedStatusSchema, SearchMemoryResponseSchema, type ReembedStatus } from "@kai/protocol";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { EMBED_MODEL, startEmbeddingFake } from "./embedding-fake.js";

const NEW_MODEL = "embed-fake-v2";
const COUNT = 70;
let fake: FakeUpstream;
let server: TestServer | undefined;
let dataDir: string;
let alice = "";
const ids: string[] = [];

const startNode = (model: string) => startTestServer({ keepDataDir: dataDir, config: { rateLimit: { enabled: false }, memory: { model } } });

async function status(on: TestServer): Promise<ReembedStatus> {
  const response = await on.request("/api/memory/reembed");
  expect(response.status).toBe(200);
  return ReembedStatusSchema.parse(await response.json());
}

async function found(on: TestServer, q: string): Promise<string[]> {
  const response = await on.request(`/api/memory/search?namespace=notes&limit=3&q=${encodeURIComponent(q)}`, { token: alice });
  const body = await response.text();
  expect(response.status, body).toBe(200);
  return SearchMemoryResponseSchema.parse(JSON.parse(body)).results.map((result) => result.memory.id);
}

async function modelOf(on: TestServer, id: string): Promise<string> {
  return MemoryResponseSchema.parse(await (await on.request(`/api/memory/${id}`, { token: alice })).json()).memory.model;
}

beforeAll(async () => {
  fake = await startEmbeddingFake();
  dataDir = mkdtempSync(join(tmpdir(), "kai-reembed-"));
  server = await startNode(EMBED_MODEL);
  for (const [id, model] of [["embedder", EMBED_MODEL], ["embedder-v2", NEW_MODEL]] as const) {
    const registered = await server.request("/api/services/register", {
      method: "POST",
      json: registration({ id, provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, metadata: { models: [model] } }),
    });
    expect(registered.status, await registered.text()).toBe(201);
  }
  alice = await mintToken(server, ["memory:read", "memory:write"], "alice");
  for (let n = 0; n < COUNT; n++) {
    const response = await server.request("/api/memory", { method: "POST", token: alice, json: { text: `note ${n}: the build ${n} finished in ${n * 7} seconds`, namespace: "notes" } });
    expect(response.status).toBe(201);
    ids.push(MemoryResponseSchema.parse(await response.json()).memory.id);
  }
}, 60_000);

afterAll(async () => {
  await server?.dispose();
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it("moves every memory to the new model, live; a slow service shows it running, cancelable and resumable", async () => {
  await server!.dispose();
  server = await startNode(NEW_MODEL);
  // Under the new model, the old memories are not found: their vectors belong to another space.
  expect(await found(server, "build 12 finished")).toEqual([]);
  expect(await status(server)).toMatchObject({ state: "idle", total: 0 });
  // Only an admin may start it.
  expect((await server.request("/api/memory/reembed", { method: "POST", token: alice, json: {} })).status).toBe(403);

  // A slow embedding service: one batch takes a while.
  fake.scenario = { kind: "ok", latencyMs: 300 };
  const started = await server.request("/api/memory/reembed", { method: "POST", json: {} });
  expect(started.status, await started.clone().text()).toBe(202);
  expect(ReembedStatusSchema.parse(await started.json())).toMatchObject({ state: "running", model: NEW_MODEL, total: COUNT, done: 0, instance: expect.any(String) });
  expect((await server.request("/api/memory/reembed", { method: "POST", json: {} })).status).toBe(409);
  // Cancel once the first batch is in: it stops after its batch; what moved stays moved.
  await eventually(async () => (await status(server!)).done > 0, 15_000);
  const canceling = await server.request("/api/memory/reembed/cancel", { method: "POST" });
  expect(canceling.status).toBe(200);
  const canceled = await eventually(async () => {
    const now = await status(server!);
    return now.state === "canceled" ? now : undefined;
  }, 15_000);
  expect(canceled.done).toBeGreaterThan(0);
  expect(canceled.done).toBeLessThan(COUNT);
  expect(await modelOf(server, ids[0]!)).toBe(NEW_MODEL);
  expect(await modelOf(server, ids[COUNT - 1]!)).toBe(EMBED_MODEL);
  expect((await server.request("/api/memory/reembed/cancel", { method: "POST" })).status).toBe(409);

  // Started again: only the rest; then every memory is found under the new model, without a restart.
  fake.scenario = { kind: "ok" };
  const resumed = ReembedStatusSchema.parse(await (await server.request("/api/memory/reembed", { method: "POST", json: {} })).json());
  expect(resumed.total).toBe(COUNT - canceled.done);
  const completed = await eventually(async () => {
    const now = await status(server!);
    return now.state === "completed" ? now : undefined;
  }, 15_000);
  expect(completed).toMatchObject({ done: COUNT - canceled.done, skipped: 0, error: null, finishedAt: expect.any(String) });
  expect(await found(server, "note 12: the build 12 finished in 84 seconds")).toContain(ids[12]);
  expect(await found(server, "note 69: the build 69 finished in 483 seconds")).toContain(ids[69]);
  for (const id of [ids[0]!, ids[40]!, ids[69]!]) expect(await modelOf(server, id)).toBe(NEW_MODEL);
}, 90_000);

it("a failing embedding service ends the job as failed with the gateway's error; a restart mid-job leaves it interrupted", async () => {
  // Back to the first model, so there is something to move again; the service answers errors.
  fake.scenario = { kind: "status", status: 500, message: "embedding backend down" };
  const started = await server!.request("/api/memory/reembed", { method: "POST", json: { model: EMBED_MODEL } });
  expect(started.status).toBe(202);
  const failed = await eventually(async () => {
    const now = await status(server!);
    return now.state === "failed" ? now : undefined;
  }, 30_000);
  expect(failed.error?.code).toMatch(/upstream|unavailable|failed/);
  expect(failed.done).toBe(0);

  fake.scenario = { kind: "ok", latencyMs: 300 };
  expect((await server!.request("/api/memory/reembed", { method: "POST", json: { model: EMBED_MODEL } })).status).toBe(202);
  await eventually(async () => (await status(server!)).done > 0, 15_000);
  await server!.dispose();
  fake.scenario = { kind: "ok" };
  server = await startNode(NEW_MODEL);
  const interrupted = await status(server);
  expect(interrupted.state).toBe("interrupted");
  expect(interrupted.done).toBeGreaterThan(0);
  // Resumable: starting again moves the rest.
  const resumed = ReembedStatusSchema.parse(await (await server.request("/api/memory/reembed", { method: "POST", json: { model: EMBED_MODEL } })).json());
  expect(resumed.total).toBe(COUNT - interrupted.done);
  await eventually(async () => (await status(server!)).state === "completed", 15_000);
}, 90_000);
