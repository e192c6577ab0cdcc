/**
 * @module handshake.test
 * The four-step handshake over the linked transport: both sides learn each other's DID, a pinned peer
 * that is someone else is refused, and a challenge that does not echo the opener's nonce is refused.
 */
import { describe, expect, it } from "vitest";
import {
  ReplayCache,
  answerHandshake,
  createEnvelope,
  createLinkedTransports,
  generateKeyPair,
  newNonce,
  openHandshake,
  type KlpError,
} from "../../src/klp/index.js";
import { parseJson } from "../../src/parse-json.js";

const client = generateKeyPair();
const server = generateKeyPair();
const ctx = () => ({ context: { replayCache: new ReplayCache() }, timeoutMs: 2_000 });

describe("handshake", () => {
  it("opens a session: each side learns the other's proven DID and the same session id", async () => {
    const [a, b] = createLinkedTransports();
    const [opened, answered] = await Promise.all([openHandshake(a, client, ctx()), answerHandshake(b, server, ctx())]);
    expect(opened.peerDid).toBe(server.did);
    expect(answered.peerDid).toBe(client.did);
    expect(opened.sessionId).toBe(answered.sessionId);
  });

  it("refuses a responder that is not the pinned peer", async () => {
    const [a, b] = createLinkedTransports();
    const impostor = generateKeyPair();
    const opening = openHandshake(a, client, { ...ctx(), expectPeer: server.did });
    void answerHandshake(b, impostor, ctx()).catch(() => undefined);
    await expect(opening).rejects.toMatchObject({ code: "KLP_UNKNOWN_SENDER" });
    await a.close();
  });

  it("refuses a challenge that does not echo the opener's nonce", async () => {
    const [a, b] = createLinkedTransports();
    b.onMessage((text) => {
      const hello = parseJson(text);
      const from = hello.ok && typeof hello.value === "object" && hello.value !== null ? String((hello.value as { from: unknown }).from) : "";
      const challenge = createEnvelope({ type: "klp:challenge", to: from, payload: { echo: newNonce(), nonce: newNonce() } }, server);
      void b.send(JSON.stringify(challenge));
    });
    const error = (await openHandshake(a, client, ctx()).catch((e: unknown) => e)) as KlpError;
    expect(error.code).toBe("KLP_BAD_SIGNATURE");
    await a.close();
  });

  it("fails cleanly when the connection closes mid-handshake", async () => {
    const [a, b] = createLinkedTransports();
    b.onMessage(() => void b.close("gone"));
    await expect(openHandshake(a, client, ctx())).rejects.toMatchObject({ code: "KLP_INTERNAL" });
  });
});
