// Two real servers talking KLP to each other over loopback: each reads the other's signed node document,
// opens a session over HTTP and over WebSocket (handshake), and discovers what is registered on the other;
// a pinned DID that does not match is refused before anything is sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { fetchNodeDocument } from "../../src/klp/peer-session.js";
import { grantFor, nodeDid, postEnvelope, registrationEnvelope, registrationPayload } from "./support.js";

let a: TestServer;
let b: TestServer;
let didA: string;
let didB: string;
const service = klp.generateKeyPair();

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
  [didA, didB] = await Promise.all([nodeDid(a), nodeDid(b)]);
  // On B: one service registered over KLP with its own key, one through the bearer API, one private.
  const grant = await grantFor(b, service.did);
  expect((await postEnvelope(b, registrationEnvelope(service, didB, registrationPayload("b-chat"), grant), "/klp/register")).status).toBe(200);
  expect((await b.request("/api/services/register", { method: "POST", json: registration({ id: "b-embed", capabilities: ["embeddings"] }) })).status).toBe(201);
  expect((await b.request("/api/services/register", { method: "POST", json: registration({ id: "b-secret", visibility: "private" }) })).status).toBe(201);
  // On A: one public service.
  expect((await a.request("/api/services/register", { method: "POST", json: registration({ id: "a-images", capabilities: ["image_generation"] }) })).status).toBe(201);
});
afterAll(async () => Promise.all([a.dispose(), b.dispose()]));

describe("two nodes", () => {
  it("have different identities, each readable and verifiable by the other", async () => {
    expect(didA).not.toBe(didB);
    expect((await fetchNodeDocument(b.url)).did).toBe(didB);
    expect(a.klp.did).toBe(didA);
  });

  for (const via of ["http", "ws"] as const) {
    it(`A discovers B's public services over ${via}, verified, with B as origin`, async () => {
      const session = await a.klp.connect(b.url, via, didB);
      try {
        expect(session.peerDid).toBe(didB);
        const entries = await session.discover({});
        expect(entries.map((entry) => entry.serviceId).sort()).toEqual(["b-chat", "b-embed"]);
        expect(entries.find((entry) => entry.serviceId === "b-chat")).toMatchObject({ signer: service.did, origin: didB });
        expect(entries.find((entry) => entry.serviceId === "b-embed")).toMatchObject({ signer: didB, origin: didB });
        expect((await session.discover({ capabilities: ["embeddings"] })).map((entry) => entry.serviceId)).toEqual(["b-embed"]);
      } finally {
        await session.close();
      }
    });

    it(`B discovers A over ${via} (both directions)`, async () => {
      const session = await b.klp.connect(a.url, via);
      try {
        expect((await session.discover({})).map((entry) => entry.serviceId)).toEqual(["a-images"]);
      } finally {
        await session.close();
      }
    });
  }

  it("a session's errors come back as KlpErrors with the remote code", async () => {
    const session = await a.klp.connect(b.url, "ws");
    try {
      await expect(session.request({ type: "trust_update", to: didB, payload: { operation: "endorse", subject: didA, trustLevel: 50 } })).rejects.toMatchObject({ code: "KLP_UNKNOWN_SENDER" });
      await expect(session.request({ type: "heartbeat", to: "klp://b-chat", payload: { status: "ok" } })).rejects.toMatchObject({ code: "KLP_UNAUTHORIZED" });
    } finally {
      await session.close();
    }
  });

  it("refuses to connect when the node is not the pinned DID", async () => {
    await expect(a.klp.connect(b.url, "ws", didA)).rejects.toMatchObject({ code: "KLP_UNKNOWN_SENDER" });
    await expect(a.klp.connect(b.url, "http", didA)).rejects.toMatchObject({ code: "KLP_UNKNOWN_SENDER" });
  });

  it("closes its open sessions when the server shuts down", async () => {
    const extra = await startTestServer();
    const session = await extra.klp.connect(b.url, "ws");
    expect(session.closed).toBe(false);
    await extra.dispose();
    expect(session.closed).toBe(true);
  });
});
