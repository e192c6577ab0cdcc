// POST /klp/message over a real server: the acceptance rules with their KLP codes and HTTP statuses, each
// refusal answered by an `error` envelope that the node signed; bearer tokens neither help nor are needed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { expectKlpError, nodeDid, postEnvelope, postText } from "./support.js";

let server: TestServer;
let did: string;
const alice = klp.generateKeyPair();
const mallory = klp.generateKeyPair();

const discovery = (overrides: Partial<klp.CreateEnvelopeInput<"service_discovery">> = {}, signer = alice) =>
  klp.createEnvelope({ type: "service_discovery", to: did, payload: { capabilities: ["llm_chat"] }, ...overrides }, signer);

beforeAll(async () => {
  server = await startTestServer();
  did = await nodeDid(server);
});
afterAll(async () => server.dispose());

describe("GET /.well-known/klp.json", () => {
  it("is public, names the DID of the node key, and carries a detached signature over its JCS form", async () => {
    const response = await fetch(`${server.url}/.well-known/klp.json`);
    expect(response.status).toBe(200);
    const raw = (await response.json()) as Record<string, unknown>;
    const document = klp.KlpNodeDocumentSchema.parse(raw);
    const jwk = server.nodeKey.privateKey.export({ format: "jwk" });
    expect(document.did).toBe(klp.keyPairFromSeed(klp.fromBase64Url(jwk.d!)!).did);
    expect(document.protocols).toEqual(["klp/1.0"]);
    expect(document.endpoints).toMatchObject({ message: "/klp/message", websocket: "/klp", register: "/klp/register", discover: "/klp/discover", verify: "/klp/verify" });
    expect(document.messageTypes).toEqual(expect.arrayContaining(["capability_announce", "service_discovery", "heartbeat"]));
    expect(klp.verifyDocument(raw, document.did)).toBe(true);
    // Any change to what was signed breaks it; so does a signature checked against another key.
    expect(klp.verifyDocument({ ...raw, name: "someone else" }, document.did)).toBe(false);
    expect(klp.verifyDocument(raw, alice.did)).toBe(false);
  });
});

describe("POST /klp/message acceptance", () => {
  it("answers a valid signed message with a signed, correlated reply (200)", async () => {
    const request = discovery();
    const answer = await postEnvelope(server, request);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.envelope?.type).toBe("service_discovery");
    expect(answer.envelope?.from).toBe(did);
    expect(answer.envelope?.to).toBe(alice.did);
    expect(answer.envelope?.metadata?.correlationId).toBe(request.id);
    expect(klp.verifyEnvelope(answer.json as Record<string, unknown>)).toBe(true);
  });

  it("refuses text that is not JSON, and JSON that is not an envelope, with KLP_MALFORMED (400)", async () => {
    expectKlpError(await postText(server, "/klp/message", "{not json"), did, "KLP_MALFORMED", 400);
    expectKlpError(await postText(server, "/klp/message", ""), did, "KLP_MALFORMED", 400);
    expectKlpError(await postEnvelope(server, { hello: "world" }), did, "KLP_MALFORMED", 400);
  });

  it("refuses an unsigned message with KLP_MALFORMED (400), addressed back to its sender", async () => {
    const { signature: _signature, ...unsigned } = discovery();
    const error = expectKlpError(await postEnvelope(server, unsigned), did, "KLP_MALFORMED", 400);
    expect(error.to).toBe(alice.did);
    expect(error.metadata?.correlationId).toBe(unsigned.id);
  });

  it("refuses a message signed by another key than its sender's with KLP_BAD_SIGNATURE (401)", async () => {
    const forged = klp.signEnvelope({ ...discovery(), from: mallory.did }, mallory);
    const claimed = { ...forged, from: alice.did };
    expectKlpError(await postEnvelope(server, claimed), did, "KLP_BAD_SIGNATURE", 401);
  });

  it("refuses a message changed after signing with KLP_BAD_SIGNATURE (401)", async () => {
    const tampered = { ...discovery(), payload: { capabilities: ["embeddings"] } };
    expectKlpError(await postEnvelope(server, tampered), did, "KLP_BAD_SIGNATURE", 401);
  });

  it("refuses a replayed message with KLP_REPLAY (409), even through the other signed route", async () => {
    const message = discovery();
    expect((await postEnvelope(server, message)).status).toBe(200);
    expectKlpError(await postEnvelope(server, message), did, "KLP_REPLAY", 409);
    expectKlpError(await postEnvelope(server, message, "/klp/register"), did, "KLP_REPLAY", 409);
  });

  it("refuses stale messages (past and future beyond 300 s, or past their ttl) with KLP_STALE (401)", async () => {
    const now = Date.now();
    expectKlpError(await postEnvelope(server, discovery({ timestamp: new Date(now - 301_000) })), did, "KLP_STALE", 401);
    expectKlpError(await postEnvelope(server, discovery({ timestamp: new Date(now + 301_000) })), did, "KLP_STALE", 401);
    expectKlpError(await postEnvelope(server, discovery({ timestamp: new Date(now - 5_000), metadata: { ttl: 2 } })), did, "KLP_STALE", 401);
    // Inside the window it is fine.
    expect((await postEnvelope(server, discovery({ timestamp: new Date(now - 250_000) }))).status).toBe(200);
  });

  it("refuses another protocol version with KLP_UNSUPPORTED_VERSION (400)", async () => {
    const { signature: _s, ...unsigned } = discovery();
    const v2 = klp.signEnvelope({ ...unsigned, protocol: "klp/2.0" }, alice);
    expectKlpError(await postEnvelope(server, v2), did, "KLP_UNSUPPORTED_VERSION", 400);
  });

  it("refuses peer-only types from a sender that is not a trusted peer with KLP_UNKNOWN_SENDER (403)", async () => {
    const trust = klp.createEnvelope({ type: "trust_update", to: did, payload: { operation: "endorse", subject: alice.did, trustLevel: 50 } }, alice);
    expectKlpError(await postEnvelope(server, trust), did, "KLP_UNKNOWN_SENDER", 403);
  });

  it("answers state_sync from any proven key by default (only public records are exported), and refuses it when export is limited to peers", async () => {
    const sync = klp.createEnvelope({ type: "state_sync", to: did, payload: { sinceRevision: 0 } }, alice);
    const answer = await postEnvelope(server, sync);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.envelope?.type).toBe("state_sync");
    expect(klp.StateSyncAnswerSchema.parse(answer.envelope!.payload).mode).toBe("snapshot");
    const closed = await startTestServer({ config: { federation: { exportTo: "peers" } } });
    try {
      const closedDid = await nodeDid(closed);
      const toClosed = klp.createEnvelope({ type: "state_sync", to: closedDid, payload: { sinceRevision: 0 } }, alice);
      expectKlpError(await postEnvelope(closed, toClosed), closedDid, "KLP_UNKNOWN_SENDER", 403);
    } finally {
      await closed.dispose();
    }
  });

  it("refuses unknown recipients and unhandled types with KLP_NOT_FOUND (404)", async () => {
    expectKlpError(await postEnvelope(server, discovery({ to: mallory.did })), did, "KLP_NOT_FOUND", 404);
    expectKlpError(await postEnvelope(server, discovery({ to: "klp://no-such-service" })), did, "KLP_NOT_FOUND", 404);
    const task = klp.createEnvelope({ type: "task_request", to: did, payload: { taskId: "t1", capability: "llm_chat", parameters: {} } }, alice);
    expectKlpError(await postEnvelope(server, task), did, "KLP_NOT_FOUND", 404);
  });

  it("is not a bearer route: a valid admin token neither is required nor lets an unsigned message through", async () => {
    const { signature: _signature, ...unsigned } = discovery();
    const response = await server.request("/klp/message", { method: "POST", json: unsigned });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { payload: { code: string } }).payload.code).toBe("KLP_MALFORMED");
  });

  it("answers a non-JSON content type with 415 and a too-large body with 413, in the API error shape", async () => {
    const wrongType = await postText(server, "/klp/message", JSON.stringify(discovery()), "text/plain");
    expect(wrongType.status).toBe(415);
    const huge = await postText(server, "/klp/message", JSON.stringify({ ...discovery(), padding: "x".repeat(70 * 1024) }));
    expect(huge.status).toBe(413);
    expect((huge.json as { error: { code: string } }).error.code).toBe("payload_too_large");
  });
});
