// Services registering with their own keys (POST /klp/register and capability_announce over /klp/message),
// discovery of verified public records only (GET /klp/discover and service_discovery), GET /klp/verify,
// and KLP heartbeats — over a real server, through the real registry and SQLite.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { expectKlpError, grantFor, nodeDid, postEnvelope, registrationEnvelope, registrationPayload } from "./support.js";

let server: TestServer;
let did: string;
const service = klp.generateKeyPair();
const intruder = klp.generateKeyPair();
let serviceGrant: klp.KlpTokenGrant;
let intruderGrant: klp.KlpTokenGrant;

async function discover(query = ""): Promise<klp.KlpDiscoveryAnswer> {
  const response = await fetch(`${server.url}/klp/discover${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  const raw = (await response.json()) as Record<string, unknown>;
  const answer = klp.KlpDiscoveryAnswerSchema.parse(raw);
  expect(answer.node).toBe(did);
  expect(klp.verifyDocument(raw, did)).toBe(true);
  return answer;
}

async function verify(serviceId: string): Promise<{ status: number; answer?: klp.KlpVerifyAnswer }> {
  const response = await fetch(`${server.url}/klp/verify?serviceId=${encodeURIComponent(serviceId)}`);
  if (response.status !== 200) return { status: response.status };
  const raw = (await response.json()) as Record<string, unknown>;
  expect(klp.verifyDocument(raw, did)).toBe(true);
  return { status: 200, answer: klp.KlpVerifyAnswerSchema.parse(raw) };
}

const ids = (answer: klp.KlpDiscoveryAnswer) => answer.entries.map((entry) => entry.serviceId).sort();

beforeAll(async () => {
  server = await startTestServer();
  did = await nodeDid(server);
  serviceGrant = await grantFor(server, service.did);
  intruderGrant = await grantFor(server, intruder.did);
});
afterAll(async () => server.dispose());

describe("registering over KLP", () => {
  it("registers a service signed by its own key: the record is owned by its DID and carries the signed registration", async () => {
    const envelope = registrationEnvelope(service, did, registrationPayload("klp-chat", { healthEndpoint: "/health", ttl: 60 }), serviceGrant);
    const answer = await postEnvelope(server, envelope, "/klp/register");
    expect(answer.status, answer.text).toBe(200);
    expect(answer.envelope?.type).toBe("status_update");
    expect(answer.envelope?.metadata?.correlationId).toBe(envelope.id);
    expect(answer.envelope?.payload).toMatchObject({ status: "registered", serviceId: "klp-chat", address: `klp://${did}/klp-chat` });

    const record = (await (await server.request("/api/services/klp-chat")).json()) as Record<string, unknown> & { metadata: { klp: { did: string } } };
    expect(record).toMatchObject({ id: "klp-chat", name: "Service klp-chat", url: "http://127.0.0.1:9/", version: "1.0.0", visibility: "public", trustLevel: "unverified", ttl: 60, isLocal: true });
    expect(record.owner).toBe(`klp:${service.did.slice("kind:did:".length, -"#ed25519".length)}`);
    expect(record.metadata.klp.did).toBe(service.did);
    expect((record as { healthCheck?: { path: string } }).healthCheck?.path).toBe("/health");
  });

  it("lets the same key update its record (re-registration signed by it)", async () => {
    const envelope = registrationEnvelope(service, did, registrationPayload("klp-chat", { version: "1.1.0", healthEndpoint: "/health", ttl: 60 }), serviceGrant);
    const answer = await postEnvelope(server, envelope, "/klp/register");
    expect(answer.status, answer.text).toBe(200);
    expect(answer.envelope?.payload).toMatchObject({ status: "updated" });
    const { answer: verified } = await verify("klp-chat");
    expect(verified).toMatchObject({ signer: service.did, verified: true, entry: { version: "1.1.0" } });
  });

  it("refuses an update of that record signed by another key (KLP_UNAUTHORIZED, 403) and leaves it unchanged", async () => {
    const hijack = registrationEnvelope(intruder, did, registrationPayload("klp-chat", { host: "http://127.0.0.1:10/" }), intruderGrant);
    expectKlpError(await postEnvelope(server, hijack, "/klp/register"), did, "KLP_UNAUTHORIZED", 403);
    const record = (await (await server.request("/api/services/klp-chat")).json()) as { url: string };
    expect(record.url).toBe("http://127.0.0.1:9/");
  });

  it("refuses a registration without a grant, with a grant for another key or capability, or from another issuer", async () => {
    const payload = registrationPayload("klp-nogrant");
    expectKlpError(await postEnvelope(server, registrationEnvelope(intruder, did, payload), "/klp/register"), did, "KLP_UNAUTHORIZED", 403);
    expectKlpError(await postEnvelope(server, registrationEnvelope(intruder, did, payload, serviceGrant), "/klp/register"), did, "KLP_UNAUTHORIZED", 403);
    const wrongCapability = await grantFor(server, intruder.did, ["memory:write"]);
    expectKlpError(await postEnvelope(server, registrationEnvelope(intruder, did, payload, wrongCapability), "/klp/register"), did, "KLP_UNAUTHORIZED", 403);
    const selfIssued = klp.createGrant({ for: intruder.did, capabilities: [klp.KLP_REGISTER_CAPABILITY], ttlSeconds: 3600 }, intruder);
    expectKlpError(await postEnvelope(server, registrationEnvelope(intruder, did, payload, selfIssued), "/klp/register"), did, "KLP_UNAUTHORIZED", 403);
    expect((await server.request("/api/services/klp-nogrant")).status).toBe(404);
  });

  it("refuses an invalid registration payload with KLP_MALFORMED (400), and other types on /klp/register", async () => {
    const bad = registrationEnvelope(service, did, registrationPayload("klp-bad", { version: "not-semver" }), serviceGrant);
    const error = expectKlpError(await postEnvelope(server, bad, "/klp/register"), did, "KLP_MALFORMED", 400);
    expect(JSON.stringify(error.payload)).toContain("version");
    const other = klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, service);
    expectKlpError(await postEnvelope(server, other, "/klp/register"), did, "KLP_MALFORMED", 400);
  });

  it("also registers through POST /klp/message (capability_announce is a message like any other)", async () => {
    const envelope = registrationEnvelope(service, "topic:registry", registrationPayload("klp-embed", { capabilities: ["embeddings"] }), serviceGrant);
    const answer = await postEnvelope(server, envelope);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.envelope?.payload).toMatchObject({ status: "registered", serviceId: "klp-embed" });
  });

  it("renews the lease with a KLP heartbeat to klp://<service-id>, only from the owning key", async () => {
    const beat = klp.createEnvelope({ type: "heartbeat", to: "klp://klp-chat", payload: { status: "draining" } }, service);
    const answer = await postEnvelope(server, beat);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.envelope?.payload).toMatchObject({ status: "degraded", serviceId: "klp-chat" });
    const foreign = klp.createEnvelope({ type: "heartbeat", to: "klp://klp-chat", payload: { status: "ok" } }, intruder);
    expectKlpError(await postEnvelope(server, foreign), did, "KLP_UNAUTHORIZED", 403);
    const back = klp.createEnvelope({ type: "heartbeat", to: `klp://${did}/klp-chat`, payload: { status: "ok" } }, service);
    expect((await postEnvelope(server, back)).envelope?.payload).toMatchObject({ status: "active" });
  });
});

describe("discovery and verification", () => {
  beforeAll(async () => {
    // Bearer-API records: one public (the node vouches for it), one internal and one private (never leave the node).
    for (const [id, visibility] of [["api-public", "public"], ["api-internal", "internal"], ["api-private", "private"]] as const) {
      const response = await server.request("/api/services/register", { method: "POST", json: registration({ id, visibility, capabilities: ["llm_chat"] }) });
      expect(response.status).toBe(201);
    }
    const hidden = registrationEnvelope(service, did, registrationPayload("klp-internal", { visibility: "internal" }), serviceGrant);
    expect((await postEnvelope(server, hidden, "/klp/register")).status).toBe(200);
  });

  it("returns only public records, each with its signer, filtered by capability", async () => {
    const all = await discover();
    expect(ids(all)).toEqual(["api-public", "klp-chat", "klp-embed"]);
    const chat = all.entries.find((entry) => entry.serviceId === "klp-chat")!;
    expect(chat).toMatchObject({ signer: service.did, origin: did, location: "local", address: `klp://${did}/klp-chat`, trustLevel: 0 });
    expect(klp.verifyEnvelope(JSON.parse(chat.registration!) as Record<string, unknown>)).toBe(true);
    expect(all.entries.find((entry) => entry.serviceId === "api-public")).toMatchObject({ signer: did });
    expect(ids(await discover("?capabilities=embeddings"))).toEqual(["klp-embed"]);
    expect(ids(await discover("?capabilities=llm_chat,embeddings"))).toEqual([]);
    expect(ids(await discover("?location=remote"))).toEqual([]);
    expect(ids(await discover("?location=local&limit=1"))).toHaveLength(1);
  });

  it("filters by minimum trust level (unverified 0, trusted 50, system 100)", async () => {
    const raised = await server.request("/api/services/api-public", { method: "PATCH", json: { trustLevel: "trusted" } });
    expect(raised.status).toBe(200);
    expect(ids(await discover("?trustLevel=50"))).toEqual(["api-public"]);
    expect(ids(await discover("?trustLevel=51"))).toEqual([]);
  });

  it("answers service_discovery messages with the same verified entries, in a signed reply", async () => {
    const request = klp.createEnvelope({ type: "service_discovery", to: did, payload: { capabilities: ["llm_chat"] } }, intruder);
    const answer = await postEnvelope(server, request);
    expect(answer.status).toBe(200);
    const entries = (answer.envelope?.payload as { entries: Array<{ serviceId: string }> }).entries.map((entry) => entry.serviceId).sort();
    expect(entries).toEqual(["api-public", "klp-chat"]);
  });

  it("verify names the signer; internal, private and unknown records are 404; bad queries 400", async () => {
    expect((await verify("klp-chat")).answer).toMatchObject({ serviceId: "klp-chat", signer: service.did, verified: true });
    expect((await verify("api-public")).answer).toMatchObject({ signer: did, verified: true });
    for (const id of ["api-internal", "api-private", "klp-internal", "no-such"]) expect((await verify(id)).status, id).toBe(404);
    expect((await fetch(`${server.url}/klp/verify`)).status).toBe(400);
    expect((await fetch(`${server.url}/klp/discover?trustLevel=500`)).status).toBe(400);
  });

  it("drops a KLP record changed without its key (an admin PATCH) from discovery, and verify says why", async () => {
    const patched = await server.request("/api/services/klp-embed", { method: "PATCH", json: { description: "edited behind the service's back" } });
    expect(patched.status).toBe(200);
    expect(ids(await discover())).not.toContain("klp-embed");
    const { answer } = await verify("klp-embed");
    expect(answer).toMatchObject({ signer: service.did, verified: false });
    expect(answer?.reason).toMatch(/differs from what the service signed/);
    // The service re-signs: it verifies and is discoverable again.
    const again = registrationEnvelope(service, did, registrationPayload("klp-embed", { capabilities: ["embeddings"] }), serviceGrant);
    expect((await postEnvelope(server, again, "/klp/register")).status).toBe(200);
    expect(ids(await discover())).toContain("klp-embed");
  });

  it("drops a record whose stored registration was forged, even if it claims the right key", async () => {
    const record = (await (await server.request("/api/services/klp-embed")).json()) as { metadata: { klp: { did: string; registration: string } } };
    const stored = JSON.parse(record.metadata.klp.registration) as klp.KlpEnvelope;
    const forged = JSON.stringify({ ...stored, payload: { ...stored.payload, metadata: { name: "forged" } } });
    const patched = await server.request("/api/services/klp-embed", { method: "PATCH", json: { name: "forged", metadata: { klp: { did: service.did, registration: forged } } } });
    expect(patched.status).toBe(200);
    expect(ids(await discover())).not.toContain("klp-embed");
    expect((await verify("klp-embed")).answer).toMatchObject({ verified: false, reason: expect.stringMatching(/signature/) });
  });
});
