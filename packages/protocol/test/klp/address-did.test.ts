/**
 * @module address-did.test
 * DIDs (both directions, canonical spelling only), `klp://` addresses and recipient forms, and the
 * envelope schema's rejection of unknown top-level fields and wrong payloads.
 */
import { describe, expect, it } from "vitest";
import {
  KlpEnvelopeSchema,
  createEnvelope,
  didFromPublicKey,
  formatKlpAddress,
  generateKeyPair,
  parseKlpAddress,
  parseRecipient,
  publicKeyFromDid,
} from "../../src/klp/index.js";

const key = generateKeyPair();

describe("DIDs", () => {
  it("round-trip a public key", () => {
    expect(key.did).toMatch(/^kind:did:[A-Za-z0-9_-]{43}#ed25519$/);
    expect(publicKeyFromDid(key.did)).toEqual(key.publicKey);
    expect(didFromPublicKey(key.publicKey)).toBe(key.did);
  });
  it("reject other spellings and sizes", () => {
    const b64 = key.did.slice("kind:did:".length, -"#ed25519".length);
    for (const bad of [
      `did:key:${b64}`,
      `kind:did:${b64}`,
      `kind:did:${b64}=#ed25519`,
      `kind:did:${b64.slice(1)}#ed25519`,
      `kind:did:${b64.replace(/[A-Za-z0-9]/, "+")}#ed25519`,
      "kind:did:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB#ed25519", // stray low bits: non-canonical base64url
    ]) {
      expect(publicKeyFromDid(bad), bad).toBeUndefined();
    }
    expect(() => didFromPublicKey(new Uint8Array(31))).toThrow();
  });
});

describe("klp:// addresses", () => {
  it("parse local and cross-node service addresses", () => {
    expect(parseKlpAddress("klp://llm-chat")).toEqual({ kind: "service", serviceId: "llm-chat" });
    expect(parseKlpAddress(`klp://${key.did}/llm.chat`)).toEqual({ kind: "service", serviceId: "llm.chat", nodeDid: key.did });
    expect(parseKlpAddress(formatKlpAddress("svc", key.did))).toEqual({ kind: "service", serviceId: "svc", nodeDid: key.did });
  });
  it("reject malformed addresses", () => {
    for (const bad of ["http://x", "klp://", "klp://a/b", "klp:// x", `klp://${key.did}/`, `klp://${key.did}`, "klp://-x", `klp://${key.did}/a/b`]) {
      expect(parseKlpAddress(bad), bad).toBeUndefined();
    }
  });
  it("recipients are a DID, a topic or a klp:// address", () => {
    expect(parseRecipient(key.did)).toEqual({ kind: "did", did: key.did });
    expect(parseRecipient("topic:registry.changes")).toEqual({ kind: "topic", topic: "registry.changes" });
    expect(parseRecipient("klp://svc")).toEqual({ kind: "service", serviceId: "svc" });
    for (const bad of ["topic:", "topic:a b", "svc", ""]) expect(parseRecipient(bad), bad).toBeUndefined();
  });
});

describe("envelope schema", () => {
  const envelope = createEnvelope({ type: "heartbeat", to: "topic:health", payload: { status: "ok", extra: 1 } }, key);
  it("keeps extra payload fields (they are signed) and rejects extra top-level fields", () => {
    expect(KlpEnvelopeSchema.parse(envelope).payload).toEqual({ status: "ok", extra: 1 });
    expect(KlpEnvelopeSchema.safeParse({ ...envelope, extra: 1 }).success).toBe(false);
  });
  it("accepts only real instants in the one timestamp spelling", () => {
    for (const bad of ["2026-02-30T00:00:00.000Z", "2026-01-01T24:00:00.000Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000+00:00", "2026-13-01T00:00:00.000Z"]) {
      expect(KlpEnvelopeSchema.safeParse({ ...envelope, timestamp: bad }).success, bad).toBe(false);
    }
    expect(KlpEnvelopeSchema.safeParse({ ...envelope, timestamp: "2028-02-29T23:59:59.999Z" }).success).toBe(true);
  });
  it("checks the payload against its type", () => {
    expect(KlpEnvelopeSchema.safeParse({ ...envelope, payload: { status: "bad" } }).success).toBe(false);
    expect(KlpEnvelopeSchema.safeParse({ ...envelope, type: "state_sync" }).success).toBe(false);
    expect(KlpEnvelopeSchema.safeParse({ ...envelope, type: "nonsense" }).success).toBe(false);
  });
});
