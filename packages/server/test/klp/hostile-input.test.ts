// Hostile input on the KLP routes, property-based: whatever arrives at POST /klp/message or /klp/register
// (arbitrary JSON, envelopes with one field replaced, garbage text) is answered with a signed `error`
// envelope with a 4xx status, never a 5xx, a stack trace or an unsigned answer; discovery queries of any
// shape never cause a 5xx; and the node stays healthy. Specific attacks found on a running node follow
// (a small-order key speaking for every message; bytes that are not UTF-8 and unpaired surrogates, which must
// be refused as malformed, never decoded to U+FFFD or left to fail deeper).
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { klp } from "@kai/protocol";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { leaksStackTrace } from "../http/support/api-surface.js";
import { expectKlpError, nodeDid, postText } from "./support.js";

let server: TestServer;
let did: string;
const sender = klp.generateKeyPair();

beforeAll(async () => {
  // The walk sends hundreds of requests from one address: lift the per-address write limit for it.
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  did = await nodeDid(server);
});
afterAll(async () => server.dispose());

async function expectSignedRefusal(path: string, text: string): Promise<void> {
  const answer = await postText(server, path, text);
  expect(answer.status, `${path} ${text.slice(0, 200)} → ${answer.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(answer.status).toBeLessThan(500);
  expect(leaksStackTrace(answer.text)).toBe(false);
  expect(answer.envelope?.type).toBe("error");
  expect(answer.envelope?.from).toBe(did);
  expect(klp.verifyEnvelope(answer.json as Record<string, unknown>)).toBe(true);
}

describe("hostile input on the KLP routes", () => {
  it("arbitrary JSON and arbitrary text get a signed 4xx error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string()), fc.constantFrom("/klp/message", "/klp/register"), async (text, path) => {
        await expectSignedRefusal(path, text);
      }),
      { numRuns: 80 },
    );
  });

  it("a valid envelope with any one member replaced is refused (and signed), never a 5xx", async () => {
    const members = ["protocol", "id", "type", "from", "to", "timestamp", "payload", "metadata", "route", "auth", "signature", "extra"];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...members), fc.jsonValue(), async (member, value) => {
        const envelope = klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, sender) as unknown as Record<string, unknown>;
        // Replacing a member with the value it already has (e.g. the empty payload with {}) changes nothing.
        fc.pre(!isDeepStrictEqual(envelope[member], value));
        const hostile: Record<string, unknown> = { ...envelope };
        Object.defineProperty(hostile, member, { value, enumerable: true, configurable: true, writable: true });
        await expectSignedRefusal("/klp/message", JSON.stringify(hostile));
      }),
      { numRuns: 80 },
    );
  });

  it("a `__proto__` member is dropped while decoding (spec §4): the rest is the message that was signed", async () => {
    const envelope = klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, sender);
    const text = JSON.stringify(envelope).replace(/^\{/, '{"__proto__":{"polluted":true},');
    const answer = await postText(server, "/klp/message", text);
    expect(answer.status, answer.text).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("discovery and verify queries of any shape never cause a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/klp/discover", "/klp/verify"), fc.dictionary(fc.constantFrom("capabilities", "location", "trustLevel", "limit", "serviceId", "x"), fc.string()), async (path, query) => {
        const response = await fetch(`${server.url}${path}?${new URLSearchParams(query).toString()}`);
        expect(response.status, `${path} ${JSON.stringify(query)}`).toBeLessThan(500);
        expect(leaksStackTrace(await response.text())).toBe(false);
      }),
      { numRuns: 60 },
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

/** POSTs raw bytes to a KLP route and reads the answer as `postText` does. */
async function postBytes(path: string, bytes: Uint8Array): Promise<Awaited<ReturnType<typeof postText>>> {
  const response = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: bytes });
  const text = await response.text();
  const json = JSON.parse(text) as unknown;
  const parsed = klp.KlpEnvelopeSchema.safeParse(json);
  return { status: response.status, text, json, ...(parsed.success ? { envelope: parsed.data } : {}) };
}

describe("specific attacks on the KLP routes", () => {
  it("arbitrary bytes get a signed 4xx error, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.constantFrom("/klp/message", "/klp/register"), async (bytes, path) => {
        const answer = await postBytes(path, bytes);
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(answer.envelope?.type).toBe("error");
        expect(klp.verifyEnvelope(answer.json as Record<string, unknown>)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it("a signed message sent with a byte that is not UTF-8 where its U+FFFD was is KLP_MALFORMED, not accepted as U+FFFD", async () => {
    // Signed over "a\ufffdb"; a lenient decoder turns the stray 0xff back into U+FFFD, and the signature holds.
    const envelope = klp.createEnvelope({ type: "task_request", to: did, payload: { taskId: "t1", capability: "chat", parameters: { prompt: "a\ufffdb" } } }, sender);
    const [head, tail] = JSON.stringify(envelope).split("\ufffd");
    const answer = await postBytes("/klp/message", Buffer.concat([Buffer.from(head!), Buffer.from([0xff]), Buffer.from(tail!)]));
    const error = expectKlpError(answer, did, "KLP_MALFORMED", 400);
    expect((error.payload as { message: string }).message).toBe("the message is not valid UTF-8");
  });

  it("a message with an unpaired surrogate in a string is KLP_MALFORMED, naming where", async () => {
    const envelope = klp.createEnvelope({ type: "task_request", to: did, payload: { taskId: "t1", capability: "chat", parameters: { prompt: "ok" } } }, sender);
    const text = JSON.stringify(envelope).replace('"prompt":"ok"', '"prompt":"o\\udc00k"');
    const error = expectKlpError(await postText(server, "/klp/message", text), did, "KLP_MALFORMED", 400);
    expect((error.payload as { message: string }).message).toBe("the message has text that is not valid Unicode at payload.parameters.prompt");
  });

  it("a message from the small-order identity key (R = identity, S = 0 verify leniently for anything) is KLP_BAD_SIGNATURE", async () => {
    // y = 1, x = 0: the encoding of the identity point, a key whose DID anyone could otherwise speak as.
    const identityPoint = new Uint8Array(32);
    identityPoint[0] = 1;
    const forged = new Uint8Array(64);
    forged.set(identityPoint, 0);
    const unsigned = klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, sender) as unknown as Record<string, unknown>;
    const envelope = { ...unsigned, from: klp.didFromPublicKey(identityPoint), signature: klp.toBase64Url(forged) };
    expectKlpError(await postText(server, "/klp/message", JSON.stringify(envelope)), did, "KLP_BAD_SIGNATURE", 401);
  });
});
