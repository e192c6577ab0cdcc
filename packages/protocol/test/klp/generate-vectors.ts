/**
 * @module generate-vectors
 * Writes the golden vector files in ./vectors from fixed seeds, fixed ids and fixed timestamps.
 * Run once when the spec changes (`npx tsx packages/protocol/test/klp/generate-vectors.ts`); the files are
 * then reviewed and committed, and the tests check the code against them, never the other way round.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  canonicalJson,
  createEnvelope,
  createGrant,
  didFromPublicKey,
  fromHex,
  keyPairFromSeed,
  signBytes,
  signingInput,
  toBase64Url,
  toHex,
  type KlpEnvelope,
  type KlpKeyPair,
} from "../../src/klp/index.js";

// RFC 8032 §7.1 tests 1–3: their public keys are published, so the key vectors are checked twice.
const SEEDS = {
  alice: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
  bob: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
  mallory: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
} as const;
const keys = Object.fromEntries(Object.entries(SEEDS).map(([name, seed]) => [name, keyPairFromSeed(fromHex(seed))])) as Record<
  keyof typeof SEEDS,
  KlpKeyPair
>;
const { alice, bob, mallory } = keys;
const T0 = "2026-11-21T10:00:00.000Z";
const at = (offsetSeconds: number) => new Date(Date.parse(T0) + offsetSeconds * 1000).toISOString();
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

const out = (name: string, value: unknown) =>
  writeFileSync(fileURLToPath(new URL(`./vectors/${name}.json`, import.meta.url)), `${JSON.stringify(value, null, 2)}\n`);

out("keys", {
  description: "Ed25519 key pairs from fixed seeds (RFC 8032 §7.1 tests 1-3) and their KLP DIDs",
  keys: Object.entries(SEEDS).map(([name, seed]) => {
    const pair = keys[name as keyof typeof SEEDS];
    return { name, seedHex: seed, publicKeyHex: toHex(pair.publicKey), publicKeyBase64Url: toBase64Url(pair.publicKey), did: pair.did };
  }),
});

const taskRequest = createEnvelope(
  {
    type: "task_request",
    to: "klp://llm-chat",
    id: id(1),
    timestamp: new Date(T0),
    payload: { taskId: "task-1", capability: "chat", parameters: { prompt: "héllo €", temperature: 0.7, maxTokens: 256, stop: ["\n"] } },
    metadata: { priority: "high", ttl: 60 },
  },
  alice,
);
const taskResult = createEnvelope(
  {
    type: "task_result",
    to: alice.did,
    id: id(2),
    timestamp: new Date(at(2)),
    payload: { taskId: "task-1", status: "success", result: { text: "hi" } },
    metadata: { correlationId: taskRequest.id },
  },
  bob,
);
const stateSync = createEnvelope(
  { type: "state_sync", to: alice.did, id: id(3), timestamp: new Date(T0), payload: { sinceRevision: 42 } },
  bob,
);
const announce = createEnvelope(
  {
    type: "capability_announce",
    to: `klp://${bob.did}/registry`,
    id: id(4),
    timestamp: new Date(T0),
    payload: {
      serviceId: "embedder",
      version: "1.2.0",
      capabilities: ["embeddings"],
      ttl: 3600,
      // JCS corner cases: ECMAScript number spelling and UTF-16 key order.
      metadata: { big: 1e21, tiny: 1e-7, ratio: 0.1, int: 100, "€": "euro", "\r": "cr", ö: "o-umlaut", a: "ascii" },
    },
    route: [{ relay: bob.did, via: "ws", latency: 12 }],
  },
  alice,
);

const withGrant = createEnvelope(
  {
    type: "memory_write",
    to: bob.did,
    id: id(5),
    timestamp: new Date(T0),
    payload: { key: "notes/today", value: { text: "buy milk" } },
    auth: createGrant({ for: alice.did, capabilities: ["memory:write"], ttlSeconds: 3600, now: new Date(T0) }, bob),
  },
  alice,
);

const ACCEPT_AT = at(1);
const described = (name: string, envelope: KlpEnvelope, note: string) => {
  const canonical = canonicalJson(Object.fromEntries(Object.entries(envelope).filter(([k]) => k !== "signature")));
  return { name, note, acceptAt: at(Math.max(1, (Date.parse(envelope.timestamp) - Date.parse(T0)) / 1000 + 1)), trustedPeers: [bob.did], envelope, canonical, canonicalHex: toHex(signingInput(envelope)), signature: envelope.signature };
};
out("envelopes", {
  description: "Valid signed envelopes: `canonical` is the JCS text of the envelope without `signature`, `canonicalHex` its UTF-8 bytes, `signature` Ed25519 over those bytes by the key in `from`. Each must be accepted at `acceptAt` by a receiver that trusts `trustedPeers`.",
  envelopes: [
    described("task-request", taskRequest, "alice asks the local service llm-chat; non-ASCII text, a newline, metadata ttl"),
    described("task-result-reply", taskResult, "bob answers alice, correlated to task-request"),
    described("state-sync-from-trusted-peer", stateSync, "a peer-only type from a trusted peer"),
    described("capability-announce-jcs-corners", announce, "numbers 1e21, 1e-7, 0.1 and keys sorted by UTF-16 code units; cross-node klp:// address; a route hop"),
    described("memory-write-with-grant", withGrant, "alice writes to bob's memory with a TokenGrant bob issued to her (auth member, compact JWS)"),
  ],
});

/** Re-signs an arbitrary object (possibly not schema-valid) with `signer`, as a hostile or buggy sender might. */
const resign = (value: Record<string, unknown>, signer: KlpKeyPair) => {
  const { signature: _s, ...rest } = value;
  return { ...rest, signature: toBase64Url(signBytes(signer.secretKey, signingInput(rest))) };
};
const flipLastChar = (sig: string) => `${sig.slice(0, -2)}${sig.at(-2) === "A" ? "B" : "A"}${sig.at(-1)}`;
const base = taskRequest as unknown as Record<string, unknown>;
/**
 * Speaking as the identity point: its "key" is small-order, so R = identity and S = 0 satisfy the cofactored
 * equation for every message. Re-signed in the sense that matters: a lenient verifier accepts it.
 */
const identityPoint = ed25519.Point.ZERO.toBytes();
const asIdentityPoint = (() => {
  const signature = new Uint8Array(64);
  signature.set(identityPoint, 0);
  return { ...base, from: didFromPublicKey(identityPoint), signature: toBase64Url(signature) };
})();

out("rejections", {
  description: "Inputs that must be rejected. Deliver each `deliverFirst` input (they must be accepted), then `input`, at receiver time `now`, with `trustedPeers` trusted and, when `recipients` is given, only those recipients existing; the answer must be `expectedCode`.",
  rejections: [
    { name: "not-an-object", now: ACCEPT_AT, input: "hello", expectedCode: "KLP_MALFORMED" },
    { name: "missing-signature", now: ACCEPT_AT, input: (({ signature: _s, ...rest }) => rest)(base), expectedCode: "KLP_MALFORMED" },
    { name: "unknown-top-level-field", now: ACCEPT_AT, input: resign({ ...base, extra: true }, alice), expectedCode: "KLP_MALFORMED" },
    { name: "payload-wrong-for-type", now: ACCEPT_AT, input: resign({ ...base, payload: { capability: "chat", parameters: {} } }, alice), expectedCode: "KLP_MALFORMED" },
    { name: "uppercase-id", now: ACCEPT_AT, input: resign({ ...base, id: id(10).toUpperCase() }, alice), expectedCode: "KLP_MALFORMED" },
    { name: "timestamp-without-millis", now: ACCEPT_AT, input: resign({ ...base, timestamp: "2026-11-21T10:00:00Z" }, alice), expectedCode: "KLP_MALFORMED" },
    { name: "wrong-version", now: ACCEPT_AT, input: resign({ ...base, protocol: "klp/2.0" }, alice), expectedCode: "KLP_UNSUPPORTED_VERSION" },
    { name: "wrong-version-and-bad-signature", now: ACCEPT_AT, input: { ...base, protocol: "klp/2.0" }, expectedCode: "KLP_UNSUPPORTED_VERSION" },
    { name: "forged-by-other-key", now: ACCEPT_AT, input: { ...resign(base, mallory), from: alice.did }, expectedCode: "KLP_BAD_SIGNATURE" },
    { name: "small-order-key", now: ACCEPT_AT, input: asIdentityPoint, expectedCode: "KLP_BAD_SIGNATURE" },
    { name: "signature-bit-flipped", now: ACCEPT_AT, input: { ...base, signature: flipLastChar(taskRequest.signature) }, expectedCode: "KLP_BAD_SIGNATURE" },
    { name: "payload-tampered", now: ACCEPT_AT, input: { ...base, payload: { ...taskRequest.payload, capability: "admin" } }, expectedCode: "KLP_BAD_SIGNATURE" },
    { name: "stale-and-bad-signature", now: at(3600), input: { ...base, signature: flipLastChar(taskRequest.signature) }, expectedCode: "KLP_BAD_SIGNATURE" },
    { name: "stale-past", now: at(301), input: stateSync, trustedPeers: [bob.did], expectedCode: "KLP_STALE" },
    { name: "stale-future", now: at(-301), input: stateSync, trustedPeers: [bob.did], expectedCode: "KLP_STALE" },
    { name: "ttl-expired", now: at(61), input: taskRequest, expectedCode: "KLP_STALE" },
    { name: "replay", now: ACCEPT_AT, deliverFirst: [taskRequest], input: taskRequest, expectedCode: "KLP_REPLAY" },
    { name: "state-sync-from-untrusted", now: ACCEPT_AT, input: stateSync, trustedPeers: [], expectedCode: "KLP_UNKNOWN_SENDER" },
    { name: "state-sync-trust-is-per-sender", now: ACCEPT_AT, input: stateSync, trustedPeers: [alice.did], expectedCode: "KLP_UNKNOWN_SENDER" },
    { name: "recipient-not-found", now: ACCEPT_AT, input: taskRequest, recipients: ["klp://other-service"], expectedCode: "KLP_NOT_FOUND" },
  ],
});
