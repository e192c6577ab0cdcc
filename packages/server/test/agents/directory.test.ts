/**
 * The agent directory through a real node: an agent registers by a manifest signed with its own Ed25519 key and
 * becomes a registry record of type `agent`; unsigned, forged, stale and replayed manifests are refused; an agent id
 * stays bound to its first key until an admin removes it; heartbeats use the registry's route; `GET /api/agent/status`
 * shows what the caller may see with its load.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AgentStatusResponseSchema,
  ErrorBodySchema,
  ListAgentsResponseSchema,
  ServiceRecordSchema,
  klp,
  signAgentManifest,
  type UnsignedAgentManifest,
} from "@kai/protocol";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
/** alice and bob register and read agents; reader only reads. */
let alice: string;
let bob: string;
let reader: string;

function manifest(id: string, overrides: Partial<UnsignedAgentManifest> = {}): UnsignedAgentManifest {
  return {
    id,
    name: `Agent ${id}`,
    skills: [
      { id: "scrape", name: "Scrape a page", capability: "web_scrape" },
      { id: "sum", name: "Summarise", capability: "summarize", inputSchema: { type: "object" } },
    ],
    endpoint: { transport: "http", url: "http://127.0.0.1:9/step" },
    ...overrides,
  };
}

async function register(body: unknown, token: string): Promise<Response> {
  return server.request("/api/agents", { method: "POST", json: body, token });
}

async function expectError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(ErrorBodySchema.parse(JSON.parse(text)).error.code).toBe(code);
}

beforeAll(async () => {
  server = await startTestServer();
  const scopes = ["agents:read", "agents:write", "services:heartbeat"];
  [alice, bob, reader] = await Promise.all([mintToken(server, scopes, "alice"), mintToken(server, scopes, "bob"), mintToken(server, ["agents:read"], "alice")]);
});
afterAll(async () => server?.dispose());

describe("POST /api/agents", () => {
  it("registers a signed manifest as a registry record of type agent, and again (200) with a newer one", async () => {
    const key = klp.generateKeyPair();
    const created = await register(signAgentManifest(manifest("kExecutor:webscraper", { tags: ["web"], ttl: 60, version: "1.2.0" }), key), alice);
    expect(created.status, await created.clone().text()).toBe(201);
    const record = ServiceRecordSchema.parse(await created.json());
    expect(record).toMatchObject({
      id: "kExecutor:webscraper",
      type: "agent",
      owner: "alice",
      capabilities: ["web_scrape", "summarize"],
      url: "http://127.0.0.1:9/step",
      protocol: "http",
      tags: ["web"],
      ttl: 60,
      version: "1.2.0",
      visibility: "private",
    });
    expect(record.metadata.agent).toMatchObject({ did: key.did, transport: "http", source: "manifest", limits: { maxConcurrentTasks: 4 } });

    const later = new Date(Date.now() + 1000);
    const again = await register(signAgentManifest(manifest("kExecutor:webscraper", { name: "Renamed" }), key, later), alice);
    expect(again.status).toBe(200);
    expect(ServiceRecordSchema.parse(await again.json()).name).toBe("Renamed");
  });

  it("verifies what was sent: optional fields left out (schema defaults) still verify", async () => {
    const key = klp.generateKeyPair();
    const minimal = signAgentManifest({ id: "kMinimal:one", name: "m", skills: [{ id: "a", name: "a", capability: "llm_chat" }], endpoint: { transport: "klp", url: "https://agent.example/klp" } }, key);
    const response = await register(minimal, alice);
    expect(response.status, await response.clone().text()).toBe(201);
    expect(ServiceRecordSchema.parse(await response.json())).toMatchObject({ protocol: "klp", description: "" });
  });

  it("refuses an unsigned manifest, a changed one, and one signed by a key other than its did", async () => {
    const key = klp.generateKeyPair();
    const signed = signAgentManifest(manifest("kForged:one"), key);
    await expectError(await register({ ...signed, signature: undefined }, alice), 400, "validation_failed");
    await expectError(await register({ ...signed, signature: "AAAA" }, alice), 400, "agent_signature_invalid");
    await expectError(await register({ ...signed, endpoint: { transport: "http", url: "http://evil.example/" } }, alice), 400, "agent_signature_invalid");
    const other = klp.generateKeyPair();
    const byOther = signAgentManifest(manifest("kForged:one", { did: other.did }), other);
    await expectError(await register({ ...byOther, did: key.did }, alice), 400, "agent_signature_invalid");
    expect((await server.request("/api/agents/kForged:one", { token: alice })).status).toBe(404);
  });

  it("refuses a manifest signed too long ago, one dated ahead, and an older one than the registered manifest", async () => {
    const key = klp.generateKeyPair();
    await expectError(await register(signAgentManifest(manifest("kStale:one"), key, new Date(Date.now() - 10 * 60_000)), alice), 400, "agent_manifest_stale");
    await expectError(await register(signAgentManifest(manifest("kStale:one"), key, new Date(Date.now() + 2 * 60_000)), alice), 400, "agent_manifest_stale");
    const older = signAgentManifest(manifest("kStale:one", { name: "older" }), key, new Date(Date.now() - 60_000));
    expect((await register(signAgentManifest(manifest("kStale:one"), key), alice)).status).toBe(201);
    await expectError(await register(older, alice), 400, "agent_manifest_stale");
  });

  it("keeps an id bound to its first key until an admin removes the agent", async () => {
    const first = klp.generateKeyPair();
    const second = klp.generateKeyPair();
    expect((await register(signAgentManifest(manifest("kBound:one"), first), alice)).status).toBe(201);
    await expectError(await register(signAgentManifest(manifest("kBound:one"), second), alice), 409, "agent_identity_mismatch");
    // Another owner cannot take the id at all, whatever the key.
    await expectError(await register(signAgentManifest(manifest("kBound:one"), first), bob), 409, "conflict");
    expect((await server.request("/api/agents/kBound:one", { method: "DELETE" })).status).toBe(204);
    const rebound = await register(signAgentManifest(manifest("kBound:one"), second), alice);
    expect(rebound.status).toBe(201);
    expect(ServiceRecordSchema.parse(await rebound.json()).metadata.agent).toMatchObject({ did: second.did });
  });

  it("does not turn a plain service into an agent", async () => {
    expect((await server.request("/api/services/register", { method: "POST", json: registration({ id: "kPlain:svc", owner: "alice" }) })).status).toBe(201);
    await expectError(await register(signAgentManifest(manifest("kPlain:svc"), klp.generateKeyPair()), alice), 409, "conflict");
    expect((await server.request("/api/agents/kPlain:svc", { token: alice })).status).toBe(404);
  });

  it("refuses a malformed manifest and an id that is not kClass:name with the fields named", async () => {
    const key = klp.generateKeyPair();
    const response = await register(signAgentManifest(manifest("not-an-agent-id" as never), key), alice);
    await expectError(response.clone(), 400, "validation_failed");
    expect(JSON.stringify(await response.json())).toContain("id");
  });
});

describe("reading, heartbeats, removal and status", () => {
  const key = klp.generateKeyPair();

  beforeAll(async () => {
    expect((await register(signAgentManifest(manifest("kReader:alice", { ttl: 30, limits: { maxConcurrentTasks: 2 } }), key), alice)).status).toBe(201);
    expect((await register(signAgentManifest(manifest("kReader:bob", { visibility: "public", skills: [{ id: "x", name: "x", capability: "llm_chat" }] }), klp.generateKeyPair()), bob)).status).toBe(201);
    expect((await register(signAgentManifest(manifest("kReader:secret"), klp.generateKeyPair()), bob)).status).toBe(201);
  });

  it("lists and reads the agents the caller may see, filtered by capability", async () => {
    const list = ListAgentsResponseSchema.parse(await (await server.request("/api/agents?limit=1000", { token: reader })).json());
    const ids = list.agents.map((agent) => agent.id);
    expect(ids).toEqual(expect.arrayContaining(["kReader:alice", "kReader:bob"]));
    expect(ids).not.toContain("kReader:secret");
    expect(ids).not.toContain("kPlain:svc");
    expect(list.agents.every((agent) => agent.type === "agent")).toBe(true);
    const chat = ListAgentsResponseSchema.parse(await (await server.request("/api/agents?capability=llm_chat", { token: reader })).json());
    expect(chat.agents.map((agent) => agent.id)).toContain("kReader:bob");
    expect(chat.agents.map((agent) => agent.id)).not.toContain("kReader:alice");
    expect((await server.request("/api/agents/kReader:alice", { token: reader })).status).toBe(200);
    expect((await server.request(`/api/agents/${encodeURIComponent("kReader:alice")}`, { token: reader })).status).toBe(200);
    expect((await server.request("/api/agents/kReader:secret", { token: alice })).status).toBe(404);
  });

  it("heartbeats through the registry's route, and the status shows it", async () => {
    const beat = await server.request("/api/services/kReader:alice/heartbeat", { method: "POST", json: { status: "degraded", note: "busy" }, token: alice });
    expect(beat.status, await beat.clone().text()).toBe(200);
    expect(await beat.json()).toMatchObject({ id: "kReader:alice", status: "degraded", expiresAt: expect.any(String) });

    const status = AgentStatusResponseSchema.parse(await (await server.request("/api/agent/status", { token: reader })).json());
    const mine = status.agents.find((agent) => agent.id === "kReader:alice");
    expect(mine).toEqual({
      id: "kReader:alice",
      name: "Agent kReader:alice",
      did: key.did,
      transport: "http",
      source: "manifest",
      status: "degraded",
      capabilities: ["web_scrape", "summarize"],
      load: { running: 0, limit: 2 },
      currentTasks: [],
      heartbeat: expect.any(String),
    });
    const ids = status.agents.map((agent) => agent.id);
    expect(ids).toContain("kReader:bob");
    expect(ids).not.toContain("kReader:secret");
    expect(ids).not.toContain("kPlain:svc");
  });

  it("lets only the owner or an admin remove an agent; a reader may not", async () => {
    await expectError(await server.request("/api/agents/kReader:bob", { method: "DELETE", token: alice }), 403, "forbidden");
    await expectError(await server.request("/api/agents/kReader:bob", { method: "DELETE", token: reader }), 403, "forbidden");
    expect((await server.request("/api/agents/kReader:bob", { method: "DELETE", token: bob })).status).toBe(204);
    expect((await server.request("/api/agents/kReader:bob", { token: bob })).status).toBe(404);
    await expectError(await server.request("/api/agents/kPlain:svc", { method: "DELETE", token: alice }), 404, "not_found");
    expect((await server.request("/api/services/kPlain:svc")).status).toBe(200);
  });
});
