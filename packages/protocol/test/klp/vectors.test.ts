/**
 * @module vectors.test
 * Checks the implementation against the golden vector files (the same files docs/protocol/klp.md
 * describes): key derivation, canonical bytes, signatures, acceptance, and every must-reject input.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  accept,
  canonicalJson,
  didFromPublicKey,
  fromHex,
  keyPairFromSeed,
  publicKeyFromDid,
  signBytes,
  signingInput,
  toBase64Url,
  toHex,
  verifyEnvelope,
  verifyGrant,
  KlpTokenGrantSchema,
} from "../../src/klp/index.js";
import { receiverFor } from "./vector-context.js";

const load = <T extends z.ZodType>(name: string, schema: T): z.infer<T> =>
  schema.parse(JSON.parse(readFileSync(new URL(`./vectors/${name}.json`, import.meta.url), "utf8")));

const keys = load(
  "keys",
  z.object({ keys: z.array(z.object({ name: z.string(), seedHex: z.string(), publicKeyHex: z.string(), publicKeyBase64Url: z.string(), did: z.string() })) }),
).keys;
const envelopes = load(
  "envelopes",
  z.object({
    envelopes: z.array(
      z.object({
        name: z.string(),
        acceptAt: z.string(),
        trustedPeers: z.array(z.string()),
        envelope: z.record(z.string(), z.unknown()),
        canonical: z.string(),
        canonicalHex: z.string(),
        signature: z.string(),
      }),
    ),
  }),
).envelopes;
const rejections = load(
  "rejections",
  z.object({
    rejections: z.array(
      z.object({
        name: z.string(),
        now: z.string(),
        input: z.unknown(),
        deliverFirst: z.array(z.unknown()).optional(),
        trustedPeers: z.array(z.string()).optional(),
        recipients: z.array(z.string()).optional(),
        expectedCode: z.string(),
      }),
    ),
  }),
).rejections;

// RFC 8032 §7.1 publishes these public keys for the seeds used by the vectors.
const RFC8032_PUBLIC_KEYS = new Set([
  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
]);
const seedOf = (did: string) => keys.find((key) => key.did === did)?.seedHex;

describe("golden vectors: keys", () => {
  it("has the three RFC 8032 keys", () => {
    expect(keys).toHaveLength(3);
    expect(new Set(keys.map((key) => key.publicKeyHex))).toEqual(RFC8032_PUBLIC_KEYS);
  });
  it.each(keys)("$name: seed → public key → DID and back", (key) => {
    const pair = keyPairFromSeed(fromHex(key.seedHex));
    expect(toHex(pair.publicKey)).toBe(key.publicKeyHex);
    expect(toBase64Url(pair.publicKey)).toBe(key.publicKeyBase64Url);
    expect(pair.did).toBe(key.did);
    expect(didFromPublicKey(pair.publicKey)).toBe(key.did);
    expect(toHex(publicKeyFromDid(key.did) ?? new Uint8Array())).toBe(key.publicKeyHex);
  });
});

describe("golden vectors: envelopes", () => {
  it("has vectors", () => expect(envelopes.length).toBeGreaterThanOrEqual(4));
  it.each(envelopes)("$name: canonical text, bytes, signature, acceptance", async (vector) => {
    const { signature: _signature, ...unsigned } = vector.envelope;
    expect(canonicalJson(unsigned)).toBe(vector.canonical);
    expect(toHex(signingInput(vector.envelope))).toBe(vector.canonicalHex);
    expect(toHex(new TextEncoder().encode(vector.canonical))).toBe(vector.canonicalHex);
    expect(vector.envelope.signature).toBe(vector.signature);
    const seed = seedOf(String(vector.envelope.from));
    expect(seed).toBeDefined();
    // Ed25519 is deterministic: re-signing the canonical bytes must give the same signature.
    expect(toBase64Url(signBytes(fromHex(seed ?? ""), fromHex(vector.canonicalHex)))).toBe(vector.signature);
    expect(verifyEnvelope(vector.envelope)).toBe(true);
    const result = await accept(vector.envelope, receiverFor({ now: vector.acceptAt, trustedPeers: vector.trustedPeers }));
    expect(result).toMatchObject({ ok: true });
    if (vector.envelope.auth !== undefined) {
      const grant = KlpTokenGrantSchema.parse(vector.envelope.auth);
      const check = verifyGrant(grant, { sender: String(vector.envelope.from), nowMs: Date.parse(vector.acceptAt), isTrustedIssuer: () => true });
      expect(check.ok).toBe(true);
    }
  });
  it("includes a grant vector", () => expect(envelopes.some((vector) => vector.envelope.auth !== undefined)).toBe(true));
});

describe("golden vectors: rejections", () => {
  it("has vectors for every rule", () => {
    const codes = new Set(rejections.map((vector) => vector.expectedCode));
    for (const code of ["KLP_MALFORMED", "KLP_UNSUPPORTED_VERSION", "KLP_BAD_SIGNATURE", "KLP_STALE", "KLP_REPLAY", "KLP_UNKNOWN_SENDER", "KLP_NOT_FOUND"]) {
      expect(codes).toContain(code);
    }
  });
  it.each(rejections)("$name → $expectedCode", async (vector) => {
    const context = receiverFor(vector);
    for (const earlier of vector.deliverFirst ?? []) expect(await accept(earlier, context)).toMatchObject({ ok: true });
    const result = await accept(vector.input, context);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe(vector.expectedCode);
  });
});

describe("the spec quotes the vectors", () => {
  const spec = readFileSync(new URL("../../../../docs/protocol/klp.md", import.meta.url), "utf8");
  it("lists every key's DID", () => {
    for (const key of keys) expect(spec).toContain(`| ${key.name} | \`${key.did}\` |`);
  });
  it("lists every envelope with its signature, and the worked example's canonical text and seed", () => {
    for (const vector of envelopes) {
      expect(spec).toContain(`| ${vector.name} |`);
      expect(spec).toContain(vector.signature);
    }
    const [first] = envelopes;
    expect(spec).toContain(first?.canonical ?? "missing");
    expect(spec).toContain(seedOf(String(first?.envelope.from)) ?? "missing");
  });
  it("lists every rejection with its expected code", () => {
    for (const vector of rejections) expect(spec).toMatch(new RegExp(`\\| ${vector.name} \\|[^\\n]*\\| \`${vector.expectedCode}\` \\|`));
  });
});
