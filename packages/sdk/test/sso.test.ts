/**
 * The SDK's half of single sign-on for programs: the verifier and challenge (checked against node:crypto, an
 * implementation independent of the platform's Web Crypto the SDK uses, and against RFC 7636's own example), and
 * the start URL the server's token mode expects. The whole flow against a real provider is the CLI's test
 * (packages/cli/test/sso-sign-in.test.ts).
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SsoExchangeRequestSchema, SsoStartQuerySchema } from "@kai/protocol";
import { createClient, createSsoVerifier, ssoChallengeOf } from "../src/index.js";

describe("SSO verifier and start URL", () => {
  it("the challenge is the base64url SHA-256 of the verifier (RFC 7636 appendix B)", async () => {
    expect(await ssoChallengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("makes a fresh verifier each time that the server's schemas accept, with its challenge", async () => {
    const first = await createSsoVerifier();
    const second = await createSsoVerifier();
    expect(first.verifier).not.toBe(second.verifier);
    expect(SsoExchangeRequestSchema.safeParse({ code: "c", verifier: first.verifier }).success).toBe(true);
    expect(first.challenge).toBe(createHash("sha256").update(first.verifier).digest("base64url"));
  });

  it("builds the start URL for token mode and for a browser's own sign-in", async () => {
    const client = createClient({ url: "https://kai.example.com/" });
    const { challenge } = await createSsoVerifier();
    const cli = new URL(client.auth.ssoStartUrl("corp id", { redirect: "http://127.0.0.1:4711/callback", challenge }));
    expect(`${cli.origin}${cli.pathname}`).toBe("https://kai.example.com/api/auth/sso/corp%20id/start");
    expect(SsoStartQuerySchema.parse(Object.fromEntries(cli.searchParams))).toEqual({ mode: "token", redirect: "http://127.0.0.1:4711/callback", challenge });
    const browser = new URL(client.auth.ssoStartUrl("corp", { returnTo: "/services?tag=a" }));
    expect(browser.searchParams.get("return")).toBe("/services?tag=a");
    expect(browser.searchParams.has("mode")).toBe(false);
    expect(client.auth.ssoStartUrl("corp")).toBe("https://kai.example.com/api/auth/sso/corp/start");
  });
});
