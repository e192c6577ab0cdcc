/**
 * @module grant.test
 * TokenGrants: issue, verify, and each way a grant must be refused (forged, altered readable fields,
 * wrong holder, expired, untrusted issuer, missing capability); and a grant-checking trust policy in
 * the acceptance pipeline answering KLP_UNAUTHORIZED.
 */
import { describe, expect, it } from "vitest";
import {
  ReplayCache,
  accept,
  createEnvelope,
  createGrant,
  generateKeyPair,
  verifyGrant,
  type KlpEnvelope,
  type KlpTokenGrant,
  type TrustDecision,
} from "../../src/klp/index.js";

const node = generateKeyPair();
const agent = generateKeyPair();
const stranger = generateKeyPair();
const T0 = Date.parse("2026-11-21T10:00:00.000Z");
const grant = createGrant({ for: agent.did, capabilities: ["memory:write", "task:run"], ttlSeconds: 600, now: new Date(T0) }, node);
const options = { sender: agent.did, nowMs: T0 + 1_000, isTrustedIssuer: (did: string) => did === node.did };
const reasonOf = (g: KlpTokenGrant, extra: Partial<typeof options> & { requiredCapability?: string } = {}) => {
  const result = verifyGrant(g, { ...options, ...extra });
  return result.ok ? "ok" : result.reason;
};

describe("TokenGrant", () => {
  it("verifies a fresh grant and returns its claims", () => {
    const result = verifyGrant(grant, { ...options, requiredCapability: "task:run" });
    expect(result).toEqual({ ok: true, claims: { iss: node.did, sub: agent.did, cap: ["memory:write", "task:run"], iat: T0 / 1000, exp: T0 / 1000 + 600 } });
  });
  it("refuses forged and altered grants", () => {
    const forged = createGrant({ for: agent.did, capabilities: ["task:run"], ttlSeconds: 600, now: new Date(T0) }, stranger);
    expect(reasonOf({ ...forged, issuedBy: node.did })).toMatch(/signature/);
    expect(reasonOf({ ...grant, capabilities: ["memory:write", "task:run", "admin"] })).toMatch(/differ/);
    expect(reasonOf({ ...grant, ttl: 6000 })).toMatch(/differ/);
    expect(reasonOf({ ...grant, token: grant.token.replace(/\.[^.]+$/, ".AAAA") })).toMatch(/malformed/);
  });
  it("refuses the wrong holder, an expired grant, an untrusted issuer and a missing capability", () => {
    expect(reasonOf(grant, { sender: stranger.did })).toMatch(/another identity/);
    expect(reasonOf(grant, { nowMs: T0 + 601_000 })).toMatch(/time/);
    expect(reasonOf(grant, { nowMs: T0 + 600_000 })).toBe("ok");
    expect(reasonOf(grant, { isTrustedIssuer: () => false })).toMatch(/not trusted/);
    expect(reasonOf(grant, { requiredCapability: "admin" })).toMatch(/capability/);
  });
  it("drives KLP_UNAUTHORIZED in the acceptance pipeline", async () => {
    const requireGrant = (envelope: KlpEnvelope): TrustDecision => {
      if (!envelope.auth) return { ok: false, code: "KLP_UNAUTHORIZED", message: "a grant is required" };
      const check = verifyGrant(envelope.auth, { ...options, sender: envelope.from, nowMs: T0, requiredCapability: "memory:write" });
      return check.ok ? { ok: true } : { ok: false, code: "KLP_UNAUTHORIZED", message: check.reason };
    };
    const write = (auth?: KlpTokenGrant) =>
      createEnvelope({ type: "memory_write", to: node.did, payload: { key: "k", value: 1 }, timestamp: new Date(T0), ...(auth ? { auth } : {}) }, agent);
    const context = () => ({ now: () => T0, replayCache: new ReplayCache(), trust: requireGrant });
    expect(await accept(write(grant), context())).toMatchObject({ ok: true });
    const without = await accept(write(), context());
    expect(without.ok ? "ok" : without.error.code).toBe("KLP_UNAUTHORIZED");
  });
});
