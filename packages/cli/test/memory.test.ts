/**
 * `kai memory` end to end: the built CLI against a real node with an embedding service (the deterministic embedding
 * fake). `add` with `--meta` and `--relates` (the same text again stores nothing), `search` with `--filter` and
 * `--expand` (table and `--json`), `show`, `delete` by id (then `show` exits 3) and by filter, and usage errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import type { FakeUpstream } from "../../server/test/gateway/fakes/fake-server.js";
import { EMBED_MODEL, startEmbeddingFake } from "../../server/test/memory/embedding-fake.js";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let fake: FakeUpstream;
let box: Sandbox;
let alice: string;

const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: alice } });

beforeAll(async () => {
  fake = await startEmbeddingFake();
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
  const admin = createClient({ url: server.url, token: server.adminToken });
  await admin.services.register({ id: "cli-embedder", name: "embedder", type: "service", provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, visibility: "public", metadata: { models: [EMBED_MODEL] } });
  alice = (await admin.tokens.create({ scopes: ["memory:read", "memory:write"], owner: "alice", ttl: "1h" })).token;
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
  box?.cleanup();
});

describe("kai memory", () => {
  it("adds, searches with filters, shows and deletes", async () => {
    const added = await kai(["memory", "add", "the", "deploy", "key", "rotates", "on", "mondays", "-n", "ops", "--meta", "team=infra"]);
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout.trim();
    expect(id).toMatch(/^mem_/);
    const again = await kai(["memory", "add", "the deploy key rotates on mondays", "-n", "ops"]);
    expect(again.stdout.trim()).toBe(id);
    expect(again.stderr).toContain("nothing new stored");
    const other = await kai(["memory", "add", "the backup key rotates yearly", "-n", "ops", "--meta", "team=backup", "--relates", id]);
    expect(other.code, other.stderr).toBe(0);

    const found = await kai(["memory", "search", "when", "does", "the", "key", "rotate", "-n", "ops", "--filter", "team=infra"]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toContain(id);
    expect(found.stdout).not.toContain(other.stdout.trim());
    const json = await kai(["memory", "search", "backup key yearly", "-n", "ops", "--limit", "1", "--expand", "--json"]);
    const answer = JSON.parse(json.stdout) as { results: Array<{ memory: { id: string }; relatedTo?: string }> };
    expect(answer.results.map((result) => result.memory.id)).toEqual([other.stdout.trim(), id]);

    const shown = await kai(["memory", "show", id]);
    expect(shown.stdout).toMatch(/^text:\s+the deploy key rotates on mondays$/m);
    expect((await kai(["memory", "delete", id])).code).toBe(0);
    const missing = await kai(["memory", "show", id]);
    expect(missing.code).toBe(3);
    const bulk = await kai(["memory", "delete", "-n", "ops", "--filter", "team=backup", "--json"]);
    expect(JSON.parse(bulk.stdout)).toEqual({ deleted: 1 });
  });

  it("reembed moves every memory to another model (admin), following it with --wait; --status tells the outcome", async () => {
    const admin = createClient({ url: server.url, token: server.adminToken });
    await admin.services.register({ id: "cli-embedder-v2", name: "embedder v2", type: "service", provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, visibility: "public", metadata: { models: ["embed-fake-v2"] } });
    const kept = (await kai(["memory", "add", "the office closes at six", "-n", "reembed"])).stdout.trim();
    // alice may not: the job is an admin's.
    expect((await kai(["memory", "reembed", "--model", "embed-fake-v2"])).code).toBe(4);
    const asAdmin = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });
    const moved = await asAdmin(["memory", "reembed", "--model", "embed-fake-v2", "--wait"]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/^state:\s+completed$/m);
    expect(moved.stdout).toMatch(/^model:\s+embed-fake-v2$/m);
    expect((await kai(["memory", "show", kept])).stdout).toMatch(/^model:\s+embed-fake-v2 /m);
    const status = await asAdmin(["memory", "reembed", "--status", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: "completed", model: "embed-fake-v2", error: null });
    // Nothing runs: a cancel is a conflict (exit 5); two actions at once are a usage error.
    expect((await asAdmin(["memory", "reembed", "--cancel"])).code).toBe(5);
    expect((await asAdmin(["memory", "reembed", "--status", "--cancel"])).code).toBe(2);
  });

  it("refuses bad flags as usage errors", async () => {
    expect((await kai(["memory", "search", "x", "--limit", "0"])).code).toBe(2);
    expect((await kai(["memory", "add", "x", "--meta", "novalue"])).code).toBe(2);
    expect((await kai(["memory", "delete"])).code).toBe(2);
  });
});
