// The registry through its real HTTP API: registration, re-registration, discovery, patch, heartbeat,
// deregistration, and the seed's testing plan (register → present, filters, unauthorized rejected).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListServicesResponse, ServiceRecord } from "@kai/protocol";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let alice: string;
let bob: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await mintToken(server, ["services:read", "services:write"], "alice");
  bob = await mintToken(server, ["services:read", "services:write"], "bob");
});
afterAll(async () => server.dispose());

async function register(body: Record<string, unknown>, token = alice) {
  const response = await server.request("/api/services/register", { method: "POST", json: body, token });
  return { status: response.status, body: (await response.json()) as ServiceRecord & { error?: { code: string } } };
}

describe("registration", () => {
  it("registers a service that is then present, with every field the seed names", async () => {
    const { status, body } = await register(registration({ id: "svc-a", version: "1.2.3", ttl: 30, metadata: { models: ["gpt-4o"] } }));
    expect(status).toBe(201);
    expect(body).toMatchObject({ id: "svc-a", owner: "alice", status: "active", protocol: "http", version: "1.2.3", trustLevel: "unverified", ttl: 30 });
    expect(body.revision).toBeGreaterThan(0);
    expect(Date.parse(body.heartbeat!)).not.toBeNaN();
    const read = await server.request("/api/services/svc-a", { token: alice });
    expect(read.status).toBe(200);
    expect(((await read.json()) as ServiceRecord).metadata).toEqual({ models: ["gpt-4o"] });
  });

  it("generates an id when none is given", async () => {
    const { status, body } = await register(registration());
    expect(status).toBe(201);
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("re-registration by the same owner updates (200) and a no-op re-registration changes no revision", async () => {
    const first = await register(registration({ id: "svc-b" }));
    const same = await register(registration({ id: "svc-b" }));
    expect(same.status).toBe(200);
    expect(same.body.revision).toBe(first.body.revision);
    const changed = await register(registration({ id: "svc-b", tags: ["test", "gpu"] }));
    expect(changed.status).toBe(200);
    expect(changed.body.revision).toBeGreaterThan(first.body.revision);
    expect(changed.body.createdAt).toBe(first.body.createdAt);
  });

  it("refuses another owner's id with 409", async () => {
    await register(registration({ id: "svc-c" }));
    const taken = await register(registration({ id: "svc-c" }), bob);
    expect(taken.status).toBe(409);
    expect(taken.body.error?.code).toBe("conflict");
  });

  it("refuses a raw credential and keeps only references", async () => {
    const raw = await register(registration({ auth: { type: "api_key", apiKey: "sk-canary-raw" } }));
    expect(raw.status).toBe(400);
    const text = JSON.stringify(raw.body);
    expect(text).toContain("credentialRef");
    expect(text).not.toContain("sk-canary-raw");
    // `auth.token` is the one raw credential accepted: it goes to the vault, the record keeps the reference.
    const vaulted = await register(registration({ id: "svc-vaulted", auth: { type: "bearer_token", token: "sk-canary-raw" } }));
    expect(vaulted.status).toBe(201);
    expect(vaulted.body.auth).toEqual({ type: "bearer_token", credentialRef: "vault:services/svc-vaulted/credential" });
    expect(JSON.stringify(vaulted.body)).not.toContain("sk-canary-raw");
    const ref = await register(registration({ id: "svc-ref", auth: { type: "bearer_token", credentialRef: "env:OPENAI_API_KEY" } }));
    expect(ref.status).toBe(201);
    expect(ref.body.auth).toEqual({ type: "bearer_token", credentialRef: "env:OPENAI_API_KEY" });
  });

  it("lets only admins claim trust or register for others", async () => {
    expect((await register(registration({ trustLevel: "trusted" }))).status).toBe(403);
    expect((await register(registration({ owner: "bob" }))).status).toBe(403);
    const byAdmin = await register(registration({ id: "svc-admin", owner: "bob", trustLevel: "system" }), server.adminToken);
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.owner).toBe("bob");
  });

  it("answers validation errors with the failing fields", async () => {
    const response = await server.request("/api/services/register", { method: "POST", json: { name: "", type: "robot", version: "one" }, token: alice });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; details: { path: string }[] } };
    expect(body.error.code).toBe("validation_failed");
    const paths = body.error.details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(["body.name", "body.type", "body.version"]));
  });
});

describe("discovery", () => {
  beforeAll(async () => {
    await register(registration({ id: "d-ollama", provider: "ollama", capabilities: ["llm_chat", "embeddings"], tags: ["local", "gpu"], type: "service" }));
    await register(registration({ id: "d-qdrant", provider: "qdrant", capabilities: ["vector_storage"], tags: ["local"], type: "tool", name: "Vector store" }));
    await register(registration({ id: "d-agent", provider: "custom", capabilities: ["code_execution"], tags: ["gpu"], type: "agent", description: "Runs Python sandboxes" }), bob);
  });

  const ids = async (query: string, token = alice) => {
    const response = await server.request(`/api/services?${query}`, { token });
    expect(response.status).toBe(200);
    const body = (await response.json()) as ListServicesResponse;
    return body.services.map((s) => s.id).filter((id) => id.startsWith("d-"));
  };

  it("filters by capability, type, provider, owner and status", async () => {
    expect(await ids("capability=embeddings")).toEqual(["d-ollama"]);
    expect(await ids("type=agent")).toEqual(["d-agent"]);
    expect(await ids("provider=qdrant")).toEqual(["d-qdrant"]);
    expect(await ids("owner=bob")).toEqual(["d-agent"]);
    expect(await ids("status=offline")).toEqual([]);
  });

  it("requires every repeated tag to match", async () => {
    expect(await ids("tag=local")).toEqual(["d-ollama", "d-qdrant"]);
    expect(await ids("tag=local&tag=gpu")).toEqual(["d-ollama"]);
  });

  it("searches free text case-insensitively", async () => {
    expect(await ids("q=PYTHON")).toEqual(["d-agent"]);
    expect(await ids("q=vector")).toEqual(["d-qdrant"]);
  });

  it("pages with a cursor, covering every record once", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await server.request(`/api/services?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: alice });
      const body = (await response.json()) as ListServicesResponse;
      expect(body.services.length).toBeLessThanOrEqual(2);
      seen.push(...body.services.map((s) => s.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    // The same records in the same (registration) order as one unpaged listing.
    const whole = (await (await server.request("/api/services?limit=1000", { token: alice })).json()) as ListServicesResponse;
    expect(seen).toEqual(whole.services.map((s) => s.id));
    expect(seen).toEqual(expect.arrayContaining(["d-agent", "d-ollama", "d-qdrant"]));
  });

  it("rejects unknown filters and a forged cursor with 400", async () => {
    expect((await server.request("/api/services?colour=red", { token: alice })).status).toBe(400);
    expect((await server.request("/api/services?cursor=not-a-cursor", { token: alice })).status).toBe(400);
  });

  it("returns the revision with every list", async () => {
    const response = await server.request("/api/services", { token: alice });
    const body = (await response.json()) as ListServicesResponse;
    expect(body.revision).toBeGreaterThan(0);
    expect(response.headers.get("x-kai-revision")).toBe(String(body.revision));
  });
});

describe("patch, heartbeat, deregister", () => {
  it("patches with merge semantics and optimistic concurrency", async () => {
    const { body: created } = await register(registration({ id: "p-1", rateLimit: { rpm: 60 } }));
    const patched = await server.request("/api/services/p-1", { method: "PATCH", json: { description: "now described", rateLimit: null }, token: alice });
    expect(patched.status).toBe(200);
    const record = (await patched.json()) as ServiceRecord;
    expect(record.description).toBe("now described");
    expect(record.rateLimit).toBeUndefined();
    expect(record.name).toBe(created.name);
    const stale = await server.request("/api/services/p-1", { method: "PATCH", json: { description: "x", expectedRevision: created.revision }, token: alice });
    expect(stale.status).toBe(409);
  });

  it("lets only the owner or an admin change, heartbeat or delete", async () => {
    await register(registration({ id: "p-2" }));
    expect((await server.request("/api/services/p-2", { method: "PATCH", json: { description: "bob was here" }, token: bob })).status).toBe(403);
    expect((await server.request("/api/services/p-2/heartbeat", { method: "POST", token: bob })).status).toBe(403);
    expect((await server.request("/api/services/p-2", { method: "DELETE", token: bob })).status).toBe(403);
    expect((await server.request("/api/services/p-2", { method: "PATCH", json: { description: "admin" } })).status).toBe(200);
  });

  it("heartbeats without a body, reports degraded, and a no-op heartbeat is not a change", async () => {
    const { body: created } = await register(registration({ id: "h-1", ttl: 30 }));
    const beat = await server.request("/api/services/h-1/heartbeat", { method: "POST", token: alice });
    expect(beat.status).toBe(200);
    const beatBody = (await beat.json()) as { status: string; revision: number; expiresAt: string };
    expect(beatBody.revision).toBe(created.revision);
    expect(Date.parse(beatBody.expiresAt)).toBeGreaterThan(Date.now() + 25_000);
    const degraded = await server.request("/api/services/h-1/heartbeat", { method: "POST", json: { status: "degraded", note: "slow GPU" }, token: alice });
    const degradedBody = (await degraded.json()) as { status: string; revision: number };
    expect(degradedBody.status).toBe("degraded");
    expect(degradedBody.revision).toBeGreaterThan(created.revision);
    const record = (await (await server.request("/api/services/h-1", { token: alice })).json()) as ServiceRecord;
    expect(record.statusNote).toBe("slow GPU");
  });

  it("deregisters with 204 and then answers 404", async () => {
    await register(registration({ id: "r-1" }));
    expect((await server.request("/api/services/r-1", { method: "DELETE", token: alice })).status).toBe(204);
    expect((await server.request("/api/services/r-1", { token: alice })).status).toBe(404);
    expect((await server.request("/api/services/r-1", { method: "DELETE", token: alice })).status).toBe(404);
  });
});
