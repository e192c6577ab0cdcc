/**
 * @module accept.test
 * The acceptance pipeline rule by rule: each rule's code, the first failing rule winning, the clock and
 * ttl boundaries, replay memory and its bounds, trust, recipients, rate limits, internal errors, and the
 * signed error reply.
 */
import { describe, expect, it } from "vitest";
import {
  KlpError,
  ReplayCache,
  accept,
  acceptText,
  createEnvelope,
  createErrorReply,
  generateKeyPair,
  peerTrustPolicy,
  verifyEnvelope,
  type AcceptContext,
  type KlpEnvelope,
} from "../../src/klp/index.js";

const alice = generateKeyPair();
const bob = generateKeyPair();
const T0 = Date.parse("2026-11-21T10:00:00.000Z");

const request = (overrides: { ttl?: number; type?: "state_sync" } = {}): KlpEnvelope =>
  overrides.type === "state_sync"
    ? createEnvelope({ type: "state_sync", to: bob.did, payload: { sinceRevision: 0 }, timestamp: new Date(T0) }, alice)
    : createEnvelope(
        {
          type: "task_request",
          to: "klp://svc-a",
          payload: { taskId: "t1", capability: "chat", parameters: {} },
          timestamp: new Date(T0),
          ...(overrides.ttl ? { metadata: { ttl: overrides.ttl } } : {}),
        },
        alice,
      );

const context = (extra: Partial<AcceptContext> = {}, nowMs = T0): AcceptContext => ({
  now: () => nowMs,
  replayCache: new ReplayCache(),
  ...extra,
});

async function codeOf(input: unknown, ctx: AcceptContext): Promise<string> {
  const result = await accept(input, ctx);
  return result.ok ? "ok" : result.error.code;
}

const badSig = (envelope: KlpEnvelope): KlpEnvelope => ({ ...envelope, payload: { ...envelope.payload, taskId: "t2" } });

describe("accept: each rule", () => {
  it("accepts a good envelope and returns it parsed", async () => {
    const envelope = request();
    const result = await accept(envelope, context());
    expect(result).toEqual({ ok: true, envelope });
  });
  it("rule 1 KLP_MALFORMED with field details", async () => {
    const result = await accept({ ...request(), id: "nope" }, context());
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe("KLP_MALFORMED");
      expect(result.error.details).toEqual([expect.objectContaining({ path: "id" })]);
    }
    expect(await codeOf(null, context())).toBe("KLP_MALFORMED");
    expect(await codeOf([request()], context())).toBe("KLP_MALFORMED");
  });
  it("rule 2 KLP_UNSUPPORTED_VERSION", async () => {
    expect(await codeOf({ ...request(), protocol: "klp/1.1" }, context())).toBe("KLP_UNSUPPORTED_VERSION");
  });
  it("rule 3 KLP_BAD_SIGNATURE for a tampered field, a forged sender and a signature from another key", async () => {
    const envelope = request();
    expect(await codeOf(badSig(envelope), context())).toBe("KLP_BAD_SIGNATURE");
    expect(await codeOf({ ...envelope, from: bob.did }, context())).toBe("KLP_BAD_SIGNATURE");
    const bobs = createEnvelope({ type: "heartbeat", to: alice.did, payload: { status: "ok" }, timestamp: new Date(T0) }, bob);
    expect(await codeOf({ ...bobs, from: alice.did }, context())).toBe("KLP_BAD_SIGNATURE");
  });
  it("rule 4 KLP_STALE at ±window, inclusive bounds, configurable window", async () => {
    expect(await codeOf(request(), context({}, T0 + 300_000))).toBe("ok");
    expect(await codeOf(request(), context({}, T0 - 300_000))).toBe("ok");
    expect(await codeOf(request(), context({}, T0 + 300_001))).toBe("KLP_STALE");
    expect(await codeOf(request(), context({}, T0 - 300_001))).toBe("KLP_STALE");
    expect(await codeOf(request(), context({ stalenessWindowSeconds: 10 }, T0 + 11_000))).toBe("KLP_STALE");
  });
  it("rule 4 KLP_STALE past metadata.ttl", async () => {
    expect(await codeOf(request({ ttl: 5 }), context({}, T0 + 5_000))).toBe("ok");
    expect(await codeOf(request({ ttl: 5 }), context({}, T0 + 5_001))).toBe("KLP_STALE");
  });
  it("rule 5 KLP_REPLAY for the same id from the same sender, not for another sender", async () => {
    const ctx = context();
    const envelope = request();
    expect(await codeOf(envelope, ctx)).toBe("ok");
    expect(await codeOf(envelope, ctx)).toBe("KLP_REPLAY");
    const sameIdOtherSender = createEnvelope({ type: "heartbeat", to: alice.did, id: envelope.id, payload: { status: "ok" }, timestamp: new Date(T0) }, bob);
    expect(await codeOf(sameIdOtherSender, ctx)).toBe("ok");
  });
  it("rule 6 peer-only types need a trusted peer; custom policies pick their code", async () => {
    expect(await codeOf(request({ type: "state_sync" }), context())).toBe("KLP_UNKNOWN_SENDER");
    expect(await codeOf(request({ type: "state_sync" }), context({ trust: peerTrustPolicy((did) => did === alice.did) }))).toBe("ok");
    expect(await codeOf(request(), context({ trust: () => ({ ok: false, code: "KLP_TRUST_INSUFFICIENT", message: "level 1 < 3" }) }))).toBe(
      "KLP_TRUST_INSUFFICIENT",
    );
    expect(await codeOf(request(), context({ trust: async () => ({ ok: false, code: "KLP_UNAUTHORIZED", message: "no grant" }) }))).toBe(
      "KLP_UNAUTHORIZED",
    );
  });
  it("rule 7 KLP_NOT_FOUND, then KLP_RATE_LIMITED", async () => {
    const seen: unknown[] = [];
    const exists = (address: unknown) => {
      seen.push(address);
      return false;
    };
    expect(await codeOf(request(), context({ recipientExists: exists }))).toBe("KLP_NOT_FOUND");
    expect(seen).toEqual([{ kind: "service", serviceId: "svc-a" }]);
    expect(await codeOf(request(), context({ recipientExists: () => true, allowRate: () => false }))).toBe("KLP_RATE_LIMITED");
  });
  it("KLP_INTERNAL without internals when a callback throws", async () => {
    const result = await accept(request(), context({ trust: () => { throw new Error("db password=hunter2"); } }));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe("KLP_INTERNAL");
      expect(result.error.message).not.toContain("hunter2");
    }
  });
});

describe("acceptText", () => {
  it("treats invalid JSON and over-deep nesting as KLP_MALFORMED and accepts a good text", async () => {
    const bad = await acceptText("{not json", context());
    expect(bad.ok ? "ok" : bad.error.code).toBe("KLP_MALFORMED");
    const deep = await acceptText(`${"[".repeat(100)}${"]".repeat(100)}`, context());
    expect(deep.ok ? "ok" : deep.error.code).toBe("KLP_MALFORMED");
    expect(await acceptText(JSON.stringify(request()), context())).toMatchObject({ ok: true });
  });

  it("takes bytes, and refuses invalid UTF-8 as KLP_MALFORMED instead of reading U+FFFD into a signed message", async () => {
    // Signed over a U+FFFD, then sent with a stray byte where its UTF-8 was: a lenient decoder would make it verify.
    const signed = createEnvelope({ type: "task_request", to: "klp://svc-a", payload: { taskId: "t1", capability: "chat", parameters: { prompt: "a\ufffdb" } }, timestamp: new Date(T0) }, alice);
    const bytes = new TextEncoder().encode(JSON.stringify(signed));
    expect(await acceptText(bytes, context())).toMatchObject({ ok: true });
    const at = bytes.findIndex((byte, i) => byte === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd);
    const broken = Uint8Array.from([...bytes.subarray(0, at), 0xff, ...bytes.subarray(at + 3)]);
    const result = await acceptText(broken, context());
    expect(result.ok ? "ok" : [result.error.code, result.error.message]).toEqual(["KLP_MALFORMED", "the message is not valid UTF-8"]);
  });

  it("refuses a string with an unpaired surrogate as KLP_MALFORMED, naming where it is", async () => {
    const text = JSON.stringify(request()).replace('"capability":"chat"', '"capability":"ch\\ud800at"');
    expect(text).toContain("\\ud800");
    const result = await acceptText(text, context());
    expect(result.ok ? "ok" : [result.error.code, result.error.message]).toEqual(["KLP_MALFORMED", "the message has text that is not valid Unicode at payload.capability"]);
  });
});

describe("accept: the first failing rule wins", () => {
  it("malformed beats everything", async () => {
    expect(await codeOf({ ...badSig(request()), protocol: "klp/2.0", id: "x" }, context({}, T0 + 10_000_000))).toBe("KLP_MALFORMED");
  });
  it("version beats a bad signature", async () => {
    expect(await codeOf({ ...badSig(request()), protocol: "klp/2.0" }, context())).toBe("KLP_UNSUPPORTED_VERSION");
  });
  it("a stale envelope with a bad signature is KLP_BAD_SIGNATURE", async () => {
    expect(await codeOf(badSig(request()), context({}, T0 + 10_000_000))).toBe("KLP_BAD_SIGNATURE");
  });
  it("a stale replay is KLP_STALE", async () => {
    const ctx: AcceptContext = { replayCache: new ReplayCache(), now: () => T0 };
    const envelope = request();
    expect(await codeOf(envelope, ctx)).toBe("ok");
    ctx.now = () => T0 + 400_000;
    expect(await codeOf(envelope, ctx)).toBe("KLP_STALE");
  });
  it("a replay from an untrusted sender is KLP_REPLAY (the id is burned by the first attempt)", async () => {
    const ctx = context();
    expect(await codeOf(request({ type: "state_sync" }), ctx)).toBe("KLP_UNKNOWN_SENDER");
    const envelope = request({ type: "state_sync" });
    await accept(envelope, ctx);
    expect(await codeOf(envelope, ctx)).toBe("KLP_REPLAY");
  });
  it("an untrusted sender to a missing recipient is KLP_UNKNOWN_SENDER", async () => {
    expect(await codeOf(request({ type: "state_sync" }), context({ recipientExists: () => false }))).toBe("KLP_UNKNOWN_SENDER");
  });
});

describe("ReplayCache bounds", () => {
  it("forgets ids once they could no longer pass the staleness rule", () => {
    const cache = new ReplayCache();
    expect(cache.checkAndRecord("a", "1", 1_000, 0)).toBe("fresh");
    expect(cache.checkAndRecord("a", "1", 1_000, 1_000)).toBe("replay");
    expect(cache.checkAndRecord("a", "1", 5_000, 1_001)).toBe("fresh");
  });
  it("refuses (fails closed) when a sender's bound is reached, and recovers after expiry", () => {
    const cache = new ReplayCache({ maxIdsPerSender: 2, maxSenders: 1 });
    expect(cache.checkAndRecord("a", "1", 100, 0)).toBe("fresh");
    expect(cache.checkAndRecord("a", "2", 100, 0)).toBe("fresh");
    expect(cache.checkAndRecord("a", "3", 100, 0)).toBe("full");
    expect(cache.checkAndRecord("b", "1", 100, 0)).toBe("full");
    expect(cache.checkAndRecord("a", "3", 300, 200)).toBe("fresh");
    expect(cache.size).toBe(1);
    expect(cache.checkAndRecord("b", "1", 300, 400)).toBe("fresh");
  });
  it("a full cache answers KLP_RATE_LIMITED through accept", async () => {
    const ctx = context({ replayCache: new ReplayCache({ maxIdsPerSender: 1 }) });
    expect(await codeOf(request(), ctx)).toBe("ok");
    expect(await codeOf(request(), ctx)).toBe("KLP_RATE_LIMITED");
  });
});

describe("error replies", () => {
  it("are signed error envelopes correlated to the rejected message", async () => {
    const rejected = badSig(request());
    const result = await accept(rejected, context());
    expect(result.ok).toBe(false);
    const reply = createErrorReply(result.ok ? new KlpError("KLP_INTERNAL", "x") : result.error, rejected, bob, undefined, new Date(T0));
    expect(reply).toMatchObject({ type: "error", from: bob.did, to: alice.did, metadata: { correlationId: rejected.id }, payload: { code: "KLP_BAD_SIGNATURE" } });
    expect(verifyEnvelope(reply)).toBe(true);
    expect(await codeOf(reply, context())).toBe("ok");
  });
  it("go to the fallback address when the input had no usable sender", () => {
    const reply = createErrorReply(new KlpError("KLP_MALFORMED", "bad"), "garbage", bob, alice.did);
    expect(reply.to).toBe(alice.did);
    expect(reply.metadata).toBeUndefined();
  });
});
