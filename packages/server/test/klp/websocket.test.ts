// WebSocket /klp over real sockets: the four-step handshake from the protocol core against the server,
// request/reply after it, and the refusals: a bad handshake (signed error, then close 1008), a frame from
// another DID than the proven peer, replays and stale or forged frames on an open session.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { klp } from "@kai/protocol";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { WebSocketTransport } from "../../src/klp/ws-transport.js";
import { nodeDid, registrationEnvelope, registrationPayload, grantFor } from "./support.js";

let server: TestServer;
let did: string;
const alice = klp.generateKeyPair();
const mallory = klp.generateKeyPair();

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/klp`);
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** A client transport whose every incoming frame is also kept, so tests can wait for the next one. */
function client(socket: WebSocket) {
  const transport = new WebSocketTransport(socket);
  const frames: string[] = [];
  const waiters: Array<(text: string) => void> = [];
  const closed = new Promise<{ code: number }>((resolve) => socket.once("close", (code) => resolve({ code })));
  return {
    transport,
    closed,
    /** Starts collecting frames (after the handshake, which reads its own). */
    collect() {
      transport.onMessage((text) => {
        const waiter = waiters.shift();
        if (waiter) waiter(text);
        else frames.push(text);
      });
    },
    next(): Promise<klp.KlpEnvelope> {
      const text = frames.shift();
      const parse = (t: string) => klp.KlpEnvelopeSchema.parse(JSON.parse(t));
      if (text !== undefined) return Promise.resolve(parse(text));
      return new Promise((resolve) => waiters.push((t) => resolve(parse(t))));
    },
    send: (envelope: unknown) => transport.send(JSON.stringify(envelope)),
  };
}

const clientContext = (self: klp.KlpKeyPair): klp.AcceptContext => ({ replayCache: new klp.ReplayCache(), recipientExists: (a) => a.kind === "did" && a.did === self.did });

beforeAll(async () => {
  server = await startTestServer();
  did = await nodeDid(server);
});
afterAll(async () => server.dispose());

describe("WebSocket /klp", () => {
  it("completes the handshake with the node's DID, then answers requests on the same socket", async () => {
    const c = client(await open());
    const result = await klp.openHandshake(c.transport, alice, { context: clientContext(alice), expectPeer: did });
    expect(result.peerDid).toBe(did);
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    c.collect();
    const request = klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, alice);
    await c.send(request);
    const reply = await c.next();
    expect(reply).toMatchObject({ type: "service_discovery", from: did, to: alice.did, metadata: { correlationId: request.id } });
    expect(klp.verifyEnvelope(reply as unknown as Record<string, unknown>)).toBe(true);
    await c.transport.close();
  });

  it("registers over the socket (capability_announce with a grant)", async () => {
    const grant = await grantFor(server, alice.did);
    const c = client(await open());
    await klp.openHandshake(c.transport, alice, { context: clientContext(alice), expectPeer: did });
    c.collect();
    await c.send(registrationEnvelope(alice, did, registrationPayload("ws-registered"), grant));
    expect((await c.next()).payload).toMatchObject({ status: "registered", serviceId: "ws-registered" });
    await c.transport.close();
  });

  it("refuses a frame from another DID than the one the handshake proved (KLP_UNKNOWN_SENDER), a replay and a stale frame", async () => {
    const c = client(await open());
    await klp.openHandshake(c.transport, alice, { context: clientContext(alice), expectPeer: did });
    c.collect();
    await c.send(klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, mallory));
    expect((await c.next()).payload).toMatchObject({ code: "KLP_UNKNOWN_SENDER" });
    const request = klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, alice);
    await c.send(request);
    expect((await c.next()).type).toBe("service_discovery");
    await c.send(request);
    expect((await c.next()).payload).toMatchObject({ code: "KLP_REPLAY" });
    await c.send(klp.createEnvelope({ type: "service_discovery", to: did, payload: {}, timestamp: new Date(Date.now() - 600_000) }, alice));
    expect((await c.next()).payload).toMatchObject({ code: "KLP_STALE" });
    await c.send({ ...klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, alice), payload: { location: "remote" } });
    expect((await c.next()).payload).toMatchObject({ code: "KLP_BAD_SIGNATURE" });
    await c.send("not json at all");
    expect((await c.next()).payload).toMatchObject({ code: "KLP_MALFORMED" });
    // The session survives refusals: a good request still gets its answer.
    await c.send(klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, alice));
    expect((await c.next()).type).toBe("service_discovery");
    await c.transport.close();
  });

  it("answers a badly signed hello with a signed KLP_BAD_SIGNATURE error and closes with 1008", async () => {
    const c = client(await open());
    c.collect();
    const hello = klp.createEnvelope({ type: "klp:hello", to: did, payload: { did: alice.did, nonce: klp.newNonce() } }, alice);
    await c.send({ ...hello, to: "topic:klp-handshake" });
    const error = await c.next();
    expect(error).toMatchObject({ type: "error", from: did, payload: { code: "KLP_BAD_SIGNATURE" } });
    expect(klp.verifyEnvelope(error as unknown as Record<string, unknown>)).toBe(true);
    expect((await c.closed).code).toBe(1008);
  });

  it("refuses a request sent before the handshake (it is not a hello) and closes with 1008", async () => {
    const c = client(await open());
    c.collect();
    await c.send(klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, alice));
    expect((await c.next()).payload).toMatchObject({ code: "KLP_MALFORMED" });
    expect((await c.closed).code).toBe(1008);
  });

  it("answers plain HTTP on /klp with 426 upgrade_required", async () => {
    const response = await fetch(`${server.url}/klp`);
    expect(response.status).toBe(426);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("upgrade_required");
  });
});
