/**
 * signAgentManifest / verifyAgentManifest: what the agent signs is what the node verifies, through JSON and in any
 * key order; any change after signing, another key, or a malformed document is not verified (never a throw).
 */
import { describe, expect, it } from "vitest";
import { klp, signAgentManifest, verifyAgentManifest, SignedAgentManifestSchema } from "@kai/protocol";

const key = klp.keyPairFromSeed(new Uint8Array(32).fill(7));
const manifest = { id: "kExecutor:webscraper", name: "Scraper", skills: [{ id: "s", name: "s", capability: "web_scrape" }], endpoint: { transport: "http" as const, url: "http://127.0.0.1:9/" } };

describe("agent manifest signatures", () => {
  it("fills did and issuedAt, and the result is a valid signed manifest that verifies after a JSON round trip", () => {
    const signed = signAgentManifest(manifest, key, new Date("2026-01-02T03:04:05.000Z"));
    expect(signed).toMatchObject({ did: key.did, issuedAt: "2026-01-02T03:04:05.000Z" });
    expect(SignedAgentManifestSchema.safeParse(signed).success).toBe(true);
    const received = JSON.parse(JSON.stringify(signed)) as Record<string, unknown>;
    expect(verifyAgentManifest(received)).toBe(true);
    // JCS: the order of members does not matter.
    expect(verifyAgentManifest(Object.fromEntries(Object.entries(received).reverse()))).toBe(true);
  });

  it("does not verify a changed manifest, another key's did, or malformed input", () => {
    const signed = signAgentManifest(manifest, key) as unknown as Record<string, unknown>;
    expect(verifyAgentManifest({ ...signed, name: "changed" })).toBe(false);
    expect(verifyAgentManifest({ ...signed, did: klp.generateKeyPair().did })).toBe(false);
    expect(verifyAgentManifest({ ...signed, signature: "not base64url!" })).toBe(false);
    for (const bad of [null, "text", 1, [signed], { ...signed, did: 5 }]) expect(verifyAgentManifest(bad)).toBe(false);
  });

  it("refuses to sign a manifest that names another key", () => {
    expect(() => signAgentManifest({ ...manifest, did: klp.generateKeyPair().did }, key)).toThrow(/but the key is/);
  });
});
