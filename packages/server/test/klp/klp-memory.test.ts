/**
 * Semantic memory over KLP (docs/protocol/klp.md "Memory") through a real node on SQLite, memories embedded through
 * its gateway by the deterministic embedding fake: a KLP agent process (registered by its own signed manifest, its
 * memory grant naming it by agent id) writes and reads memory from inside task steps; a trusted key granted by DID
 * reads by key, id and query; refusals (no grant, a namespace outside the grant, a write on a read-only grant) answer
 * KLP_UNAUTHORIZED and store nothing; another owner's memory is KLP_NOT_FOUND; a bad payload is KLP_MALFORMED.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddMemoryResponseSchema, klp, SearchMemoryResponseSchema, TaskSchema, TERMINAL_TASK_STATES, type Task } from "@kai/protocol";
import { createKlpMemory } from "../../../sdk/src/agent-runtime/index.js";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { EMBED_MODEL, startEmbeddingFake } from "../memory/embedding-fake.js";

const SCRIPT = fileURLToPath(new URL("../agents/klp/memory-agent-child.ts", import.meta.url));
const TSCONFIG = fileURLToPath(new URL("../../../../tsconfig.test.json", import.meta.url));
const AGENT_ID = "kExecutor:scribe";

let fake: FakeUpstream;
let server: TestServer;
let alice: string;
let bob: string;
let nodeDid: string;
let child: ChildProcess | undefined;
let agentDir: string;
let agentDid: string;
/** A key granted by DID (a trusted peer node, say): reads `agents/scribe` and `team/*` of alice. */
const reader = klp.generateKeyPair();
/** A key without any grant. */
const stranger = klp.generateKeyPair();

async function startAgent(): Promise<{ did: string }> {
  agentDir = mkdtempSync(join(tmpdir(), "kai-klp-memory-agent-"));
  child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
    env: { PATH: process.env.PATH ?? "", TSX_TSCONFIG_PATH: TSCONFIG, KAI_URL: server.url, KAI_TOKEN: alice, AGENT_ID, AGENT_KEY_FILE: join(agentDir, "key.json") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`the memory agent did not start: ${stderr}`)), 30_000);
    child!.once("exit", () => reject(new Error(`the memory agent exited: ${stderr}`)));
    child!.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      for (const line of buffered.split("\n").slice(0, -1)) {
        const parsed = JSON.parse(line) as { event: string; did?: string };
        if (parsed.event === "ready") {
          clearTimeout(timer);
          resolve({ did: String(parsed.did) });
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
    });
  });
}

async function runStep(capability: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await server.request("/api/agent/task", { method: "POST", token: alice, json: { goal: capability, agent: AGENT_ID, capability, input } });
  const text = await response.text();
  expect(response.status, text).toBe(202);
  const created = TaskSchema.parse((JSON.parse(text) as { task: unknown }).task);
  const done = await eventually(async () => {
    const task = TaskSchema.parse(((await (await server.request(`/api/agent/task/${created.id}`, { token: alice })).json()) as { task: unknown }).task);
    return TERMINAL_TASK_STATES.includes(task.state) ? task : undefined;
  }, 20_000);
  expect((done as Task).state, JSON.stringify((done as Task).steps)).toBe("completed");
  return Object.values((done as Task).result as Record<string, Record<string, unknown>>)[0]!;
}

async function search(token: string, query: string) {
  const response = await server.request(`/api/memory/search?${query}`, { token });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return SearchMemoryResponseSchema.parse(JSON.parse(text)).results.map((result) => result.memory);
}

const memoryAs = (key: klp.KlpKeyPair) => createKlpMemory({ nodeUrl: server.url, key, nodeDid });

beforeAll(async () => {
  fake = await startEmbeddingFake();
  server = await startTestServer({
    config: {
      rateLimit: { enabled: false },
      klp: {
        memoryGrants: [
          { agent: AGENT_ID, owner: "alice", read: ["team/*"], write: ["agents/scribe"] },
          { did: reader.did, owner: "alice", read: ["agents/scribe", "team/*"] },
        ],
      },
    },
  });
  const registered = await server.request("/api/services/register", {
    method: "POST",
    json: registration({ id: "embedder", provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, metadata: { models: [EMBED_MODEL] } }),
  });
  expect(registered.status, await registered.text()).toBe(201);
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write", "services:heartbeat", "memory:read", "memory:write"], "alice");
  bob = await mintToken(server, ["memory:read", "memory:write"], "bob");
  nodeDid = ((await (await server.request("/.well-known/klp.json", { token: null })).json()) as { did: string }).did;
  agentDid = (await startAgent()).did;
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
  if (agentDir) rmSync(agentDir, { recursive: true, force: true });
  await server?.dispose();
  await fake?.close();
});

describe("memory over KLP", () => {
  it("lists memory_read and memory_write in the node document", async () => {
    const document = (await (await server.request("/.well-known/klp.json", { token: null })).json()) as { messageTypes: string[] };
    expect(document.messageTypes).toEqual(expect.arrayContaining(["memory_read", "memory_write"]));
  });

  it("lets a KLP agent write memory from a task step, stored as its grant's owner with the key as metadata", async () => {
    const result = await runStep("remember", { key: "deploy", text: "The deploy key rotates every Monday", namespace: "agents/scribe" });
    const answer = klp.MemoryWriteAnswerSchema.parse(result);
    expect(answer).toMatchObject({ status: "created", key: "deploy", memory: { owner: "alice", namespace: "agents/scribe", metadata: { key: "deploy" }, model: EMBED_MODEL } });
    // Alice's own token finds it through the HTTP API: it is her memory.
    const found = await search(alice, "q=deploy%20key%20rotates&namespace=agents/scribe");
    expect(found.map((memory) => memory.id)).toContain(answer.memory.id);
    // Writing the same text again (here as the value {text}, the golden vector's shape) stores nothing new.
    const again = klp.MemoryWriteAnswerSchema.parse(await runStep("remember", { key: "other", text: "The deploy key rotates every Monday", namespace: "agents/scribe", wrapped: true }));
    expect(again).toMatchObject({ status: "existing", memory: { id: answer.memory.id, metadata: { key: "deploy" } } });
  });

  it("lets a KLP agent search memory it may read (a namespace of alice's team)", async () => {
    const added = await server.request("/api/memory", { method: "POST", token: alice, json: { text: "Pinning the toolchain fixed the build", namespace: "team/build" } });
    expect(added.status, await added.text()).toBe(201);
    const result = klp.MemoryReadAnswerSchema.parse(await runStep("recall", { query: "toolchain build", namespace: "team/build", limit: 3 }));
    expect(result.model).toBe(EMBED_MODEL);
    expect(result.results[0]?.memory.text).toBe("Pinning the toolchain fixed the build");
    expect(result.results[0]?.score).toBeGreaterThan(0.5);
  });

  it("refuses an agent's write outside its write grant (KLP_UNAUTHORIZED) and stores nothing", async () => {
    const readOnly = await runStep("remember", { key: "x", text: "Written where only reading is granted", namespace: "team/build" });
    expect(readOnly).toMatchObject({ refused: "KLP_UNAUTHORIZED" });
    const foreign = await runStep("remember", { key: "x", text: "Written where nothing is granted", namespace: "private" });
    expect(foreign).toMatchObject({ refused: "KLP_UNAUTHORIZED" });
    expect((await search(alice, "q=Written%20granted&namespace=team/build")).map((memory) => memory.text)).toEqual(["Pinning the toolchain fixed the build"]);
    expect(await search(alice, "q=Written%20granted&namespace=private")).toEqual([]);
  });

  it("lets a key granted by DID read by key, by id and by query, and nothing else", async () => {
    const memory = memoryAs(reader);
    const byKey = await memory.read({ key: "deploy", namespace: "agents/scribe" });
    expect(byKey.results.map((hit) => hit.memory.text)).toEqual(["The deploy key rotates every Monday"]);
    expect(byKey).toMatchObject({ key: "deploy", namespace: "agents/scribe" });
    const id = byKey.results[0]!.memory.id;
    const byId = await memory.read({ id });
    expect(byId.results).toEqual([{ memory: expect.objectContaining({ id, owner: "alice" }) }]);
    const byQuery = await memory.read({ query: "toolchain", namespace: "team/build", threshold: 0.1, filter: {} });
    expect(byQuery.results.map((hit) => hit.memory.text)).toEqual(["Pinning the toolchain fixed the build"]);
    await expect(memory.write({ key: "k", value: "a reader may not write", namespace: "agents/scribe" })).rejects.toMatchObject({ code: "KLP_UNAUTHORIZED" });
    await expect(memory.read({ query: "anything", namespace: "private" })).rejects.toMatchObject({ code: "KLP_UNAUTHORIZED" });
    expect(await search(alice, "q=reader%20may%20not%20write&namespace=agents/scribe")).not.toContainEqual(expect.objectContaining({ text: "a reader may not write" }));
  });

  it("answers another owner's memory by id as not found, and refuses a sender without a grant", async () => {
    const added = AddMemoryResponseSchema.parse(await (await server.request("/api/memory", { method: "POST", token: bob, json: { text: "Bob's secret plan", namespace: "team/build" } })).json());
    await expect(memoryAs(reader).read({ id: added.memory.id })).rejects.toMatchObject({ code: "KLP_NOT_FOUND" });
    // bob's namespace of the same name is not alice's: the reader's query does not see it.
    const results = await memoryAs(reader).read({ query: "secret plan", namespace: "team/build" });
    expect(results.results.map((hit) => hit.memory.owner)).not.toContain("bob");
    await expect(memoryAs(stranger).read({ query: "deploy", namespace: "agents/scribe" })).rejects.toMatchObject({ code: "KLP_UNAUTHORIZED" });
    await expect(memoryAs(stranger).write({ key: "k", value: "nobody granted this", namespace: "agents/scribe" })).rejects.toMatchObject({ code: "KLP_UNAUTHORIZED" });
  });

  it("treats the agent's grant as bound to its registered key: the same agent id from another key is refused", async () => {
    const impostor = klp.generateKeyPair();
    expect(impostor.did).not.toBe(agentDid);
    await expect(memoryAs(impostor).write({ key: "k", value: "I am the scribe", namespace: "agents/scribe" })).rejects.toMatchObject({ code: "KLP_UNAUTHORIZED" });
  });

  it("refuses malformed memory payloads at acceptance (KLP_MALFORMED)", async () => {
    const send = async (type: "memory_read" | "memory_write", payload: Record<string, unknown>) => {
      const envelope = klp.createEnvelope({ type, to: nodeDid, payload } as klp.CreateEnvelopeInput<typeof type>, reader);
      const response = await server.request("/klp/message", { method: "POST", token: null, json: envelope });
      return { status: response.status, body: (await response.json()) as { type: string; payload: { code: string } } };
    };
    for (const [type, payload] of [
      ["memory_read", { key: "a", query: "b" }],
      ["memory_read", {}],
      ["memory_read", { id: "not-an-id" }],
      ["memory_write", { key: "a", value: { not: "text" } }],
      ["memory_write", { key: "a", value: "   " }],
      ["memory_write", { key: "a", value: "text", metadata: { key: "twice" } }],
      ["memory_write", { key: "a", value: "text", namespace: "../escape" }],
    ] as const) {
      const { body } = await send(type, payload);
      expect(body.type, JSON.stringify(payload)).toBe("error");
      expect(body.payload.code, JSON.stringify(payload)).toBe("KLP_MALFORMED");
    }
  });
});
