// Second factors on their own (issue 14): TOTP, recovery codes, passkeys, the SecondFactors port and the MFA
// service's rules, on the memory identity store with a controlled clock. Passkeys are answered by a software
// authenticator producing real attestations and assertions (mfa-soft-authenticator.ts). The same flows through
// the HTTP server are in mfa-sign-in.test.ts.
import { randomBytes, randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { Secret, TOTP } from "otpauth";
import { MemoryIdentityStore } from "../../src/storage/memory/memory-identity-store.js";
import type { UserRow } from "../../src/storage/contracts/identity-store.js";
import { SecurityLog } from "../../src/auth/security-log.js";
import { createMfa, type Mfa } from "../../src/auth/mfa/create-mfa.js";
import { MfaConfigSchema } from "../../src/config/mfa-config.js";
import { createSecretSealer } from "../../src/auth/mfa/secret-sealer.js";
import { ApiError } from "../../src/errors.js";
import { SoftAuthenticator } from "./mfa-soft-authenticator.js";

const ORIGIN = "http://localhost:7070";

function person(username: string, roles: string[] = ["developer"]): UserRow {
  const at = new Date().toISOString();
  return {
    id: randomUUID(), username, kind: "person", displayName: null, passwordHash: null, did: null, ssoSubject: null, state: "active",
    roles, mustChangePassword: false, preferences: {}, createdAt: at, updatedAt: at, passwordChangedAt: null, lastSignInAt: null,
  };
}

/** The code an authenticator app shows at `at` for the enrolment's base32 secret. */
const codeAt = (secret: string, at: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at });

async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

let store: MemoryIdentityStore;
let clock: number;
let logLines: string[];
let mfa: Mfa;
let alice: UserRow;
const context = { address: "127.0.0.1" };

function build(requiredRoles: string[] = []): Mfa {
  const logger = { info: (obj: object, msg?: string) => logLines.push(JSON.stringify(obj) + (msg ?? "")), warn: (obj: object, msg?: string) => logLines.push(JSON.stringify(obj) + (msg ?? "")) };
  return createMfa({
    store,
    securityLog: new SecurityLog(store, logger, () => clock),
    config: MfaConfigSchema.parse({ requiredRoles }),
    server: { host: "127.0.0.1", port: () => 7070 },
    sealKey: randomBytes(32),
    now: () => clock,
  });
}

beforeEach(async () => {
  store = new MemoryIdentityStore(() => {});
  clock = Date.UTC(2026, 0, 1, 12, 0, 10);
  logLines = [];
  mfa = build();
  alice = person("alice");
  await store.insertUser(alice);
});

async function enrolTotp(user = alice): Promise<{ secret: string; recoveryCodes: string[] }> {
  const enrolment = await mfa.service.beginTotp(user, undefined, context);
  const confirmed = await mfa.service.confirmTotp(user, codeAt(enrolment.secret, clock), context);
  clock += 30_000;
  return { secret: enrolment.secret, recoveryCodes: confirmed.recoveryCodes ?? [] };
}

describe("TOTP", () => {
  it("enrols with a 160-bit secret, an otpauth URI and a QR code, and stores the secret sealed", async () => {
    const enrolment = await mfa.service.beginTotp(alice, undefined, context);
    expect(Secret.fromBase32(enrolment.secret).bytes.length).toBe(20);
    const uri = new URL(enrolment.uri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.searchParams.get("secret")).toBe(enrolment.secret);
    expect(uri.searchParams.get("issuer")).toBe("kAI");
    expect(enrolment.qrCode.startsWith("data:image/svg+xml;base64,")).toBe(true);
    expect(Buffer.from(enrolment.qrCode.split(",")[1]!, "base64").toString()).toContain("<svg");
    const row = await store.getTotp(alice.id);
    expect(row?.confirmed).toBe(false);
    expect(row?.sealedSecret).not.toContain(enrolment.secret);
    expect(Buffer.from(row!.sealedSecret.split(".")[2]!, "base64url").equals(Buffer.from(Secret.fromBase32(enrolment.secret).bytes))).toBe(false);
    // Not a factor until confirmed.
    expect((await mfa.secondFactors.required(alice)).enrolled).toEqual([]);
    expect(await mfa.secondFactors.verify(alice, { code: codeAt(enrolment.secret, clock) })).toBe(false);
  });

  it("is confirmed by a first code, which then cannot sign in again; issues ten recovery codes once", async () => {
    const enrolment = await mfa.service.beginTotp(alice, undefined, context);
    const wrong = await apiError(mfa.service.confirmTotp(alice, "000000" === codeAt(enrolment.secret, clock) ? "111111" : "000000", context));
    expect(wrong.code).toBe("validation_failed");
    const code = codeAt(enrolment.secret, clock);
    const confirmed = await mfa.service.confirmTotp(alice, code, context);
    expect(confirmed.recoveryCodes).toHaveLength(10);
    expect((await mfa.service.status(alice)).enrolled).toEqual(["totp", "recovery_codes"]);
    expect(await mfa.secondFactors.verify(alice, { code })).toBe(false);
  });

  it("accepts one step of drift either way, each step once, and nothing older than the last used", async () => {
    const { secret } = await enrolTotp();
    // The confirming code's step (now − 1) is spent; move on so that the step before now is fresh.
    expect(await mfa.secondFactors.verify(alice, { code: codeAt(secret, clock - 30_000) })).toBe(false);
    clock += 60_000;
    expect(await mfa.secondFactors.verify(alice, { code: codeAt(secret, clock - 30_000) })).toBe(true);
    expect(await mfa.secondFactors.verify(alice, { code: codeAt(secret, clock - 30_000) })).toBe(false);
    expect(await mfa.secondFactors.verify(alice, { code: codeAt(secret, clock + 30_000) })).toBe(true);
    // The current step is older than the one just used: refused (a step is never accepted after a later one).
    expect(await mfa.secondFactors.verify(alice, { code: codeAt(secret, clock) })).toBe(false);
    clock += 120_000;
    expect(await mfa.secondFactors.verify(alice, { code: codeAt(secret, clock - 60_000) })).toBe(false);
    expect(await mfa.secondFactors.verify(alice, { code: codeAt(secret, clock) })).toBe(true);
    const events = await store.listSecurityEvents({ limit: 50, type: "mfa_failed" });
    expect(events.map((event) => event.details.reason)).toContain("replayed");
  });

  it("a sealed secret moved to another user's row does not open", async () => {
    const sealer = createSecretSealer(randomBytes(32));
    const sealed = sealer.seal(Buffer.from("0123456789abcdefghij"), "kai-totp:a");
    expect(sealer.open(sealed, "kai-totp:a").toString()).toBe("0123456789abcdefghij");
    expect(() => sealer.open(sealed, "kai-totp:b")).toThrow();
    expect(() => createSecretSealer(randomBytes(32)).open(sealed, "kai-totp:a")).toThrow();
  });

  it("cannot be enrolled twice, and is disabled only with proof of a factor", async () => {
    const { secret, recoveryCodes } = await enrolTotp();
    expect((await apiError(mfa.service.beginTotp(alice, { code: codeAt(secret, clock) }, context))).code).toBe("conflict");
    expect((await apiError(mfa.service.disableTotp(alice, {}, context))).code).toBe("mfa_required");
    expect((await apiError(mfa.service.disableTotp(alice, { code: "123456" === codeAt(secret, clock) ? "654321" : "123456" }, context))).code).toBe("invalid_credentials");
    await mfa.service.disableTotp(alice, { recoveryCode: recoveryCodes[0]! }, context);
    expect(await mfa.service.status(alice)).toMatchObject({ enrolled: [], recoveryCodesLeft: 0, totp: { confirmed: false, pending: false } });
    const types = (await store.listSecurityEvents({ limit: 50, userId: alice.id })).map((event) => event.type);
    expect(types).toEqual(expect.arrayContaining(["mfa_enrolled", "mfa_removed", "mfa_recovery_used"]));
  });
});

describe("recovery codes", () => {
  it("are stored as hashes, each signs in once, and are ignored in case, spaces and dashes", async () => {
    const { recoveryCodes } = await enrolTotp();
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    const first = recoveryCodes[0]!;
    expect(await mfa.secondFactors.verify(alice, { recoveryCode: ` ${first.toUpperCase().replace(/-/g, " ")} ` })).toBe(true);
    expect(await mfa.secondFactors.verify(alice, { recoveryCode: first })).toBe(false);
    expect(await mfa.service.status(alice)).toMatchObject({ recoveryCodesLeft: 9 });
    expect(await mfa.secondFactors.verify(alice, { recoveryCode: "zzzz-zzzz-zzzz-zzzz" })).toBe(false);
    // Not another user's.
    const bob = person("bob");
    await store.insertUser(bob);
    expect(await mfa.secondFactors.verify(bob, { recoveryCode: recoveryCodes[1]! })).toBe(false);
  });

  it("regenerate replaces every code and needs proof", async () => {
    const { secret, recoveryCodes } = await enrolTotp();
    expect((await apiError(mfa.service.regenerateRecoveryCodes(alice, {}, context))).code).toBe("mfa_required");
    const fresh = await mfa.service.regenerateRecoveryCodes(alice, { code: codeAt(secret, clock) }, context);
    expect(fresh).toHaveLength(10);
    expect(await mfa.secondFactors.verify(alice, { recoveryCode: recoveryCodes[1]! })).toBe(false);
    expect(await mfa.secondFactors.verify(alice, { recoveryCode: fresh[0]! })).toBe(true);
  });

  it("presenting two factors at once is refused even when one is right", async () => {
    const { secret, recoveryCodes } = await enrolTotp();
    expect(await mfa.secondFactors.verify(alice, { code: codeAt(secret, clock), recoveryCode: recoveryCodes[0]! })).toBe(false);
    expect(await mfa.secondFactors.verify(alice, {})).toBe(false);
  });
});

describe("passkeys", () => {
  async function registerPasskey(authenticator: SoftAuthenticator, user = alice, proof?: Parameters<Mfa["service"]["passkeyRegistrationOptions"]>[1]) {
    const options = await mfa.service.passkeyRegistrationOptions(user, proof, context);
    expect(options.options).toMatchObject({ rp: { id: "localhost" }, attestation: "none", authenticatorSelection: { userVerification: "preferred" } });
    return mfa.service.registerPasskey(user, options.challengeId, authenticator.register(options.options), "laptop", context);
  }

  async function assertion(authenticator: SoftAuthenticator, overrides?: { origin?: string; counter?: number }) {
    const options = await mfa.service.passkeySignInOptions();
    expect(options.options).toMatchObject({ rpId: "localhost", userVerification: "preferred" });
    return { challengeId: options.challengeId, response: authenticator.assert(options.options, 0, overrides) };
  }

  it("registers, then signs in passwordless and as the second factor; each challenge answers once", async () => {
    const authenticator = new SoftAuthenticator({ origin: ORIGIN });
    const registered = await registerPasskey(authenticator);
    expect(registered.passkey).toMatchObject({ name: "laptop", backedUp: false, transports: ["internal"] });
    expect(registered.recoveryCodes).toHaveLength(10);
    expect((await mfa.secondFactors.required(alice)).enrolled).toEqual(["passkey", "recovery_codes"]);

    const first = await assertion(authenticator);
    expect((await mfa.service.passkeySignIn(first.challengeId, first.response, context)).id).toBe(alice.id);
    expect((await apiError(mfa.service.passkeySignIn(first.challengeId, first.response, context))).code).toBe("invalid_credentials");

    const second = await assertion(authenticator);
    expect(await mfa.secondFactors.verify(alice, { passkey: second })).toBe(true);
    expect(await mfa.secondFactors.verify(alice, { passkey: second })).toBe(false);
    expect((await mfa.service.listPasskeys(alice))[0]?.lastUsedAt).not.toBeNull();
  });

  it("refuses another origin, another user's passkey, a counter that goes back, and passwordless without user verification", async () => {
    const authenticator = new SoftAuthenticator({ origin: ORIGIN });
    await registerPasskey(authenticator);
    const foreign = await assertion(authenticator, { origin: "https://evil.example" });
    expect((await apiError(mfa.service.passkeySignIn(foreign.challengeId, foreign.response, context))).code).toBe("invalid_credentials");

    const bob = person("bob");
    await store.insertUser(bob);
    expect(await mfa.secondFactors.verify(bob, { passkey: await assertion(authenticator) })).toBe(false);

    expect(await mfa.secondFactors.verify(alice, { passkey: await assertion(authenticator) })).toBe(true);
    expect(await mfa.secondFactors.verify(alice, { passkey: await assertion(authenticator, { counter: 1 }) })).toBe(false);

    const noPin = new SoftAuthenticator({ origin: ORIGIN, userVerified: false });
    await registerPasskey(noPin, bob);
    const presenceOnly = await assertion(noPin);
    expect((await apiError(mfa.service.passkeySignIn(presenceOnly.challengeId, presenceOnly.response, context))).code).toBe("invalid_credentials");
    expect(await mfa.secondFactors.verify(bob, { passkey: await assertion(noPin) })).toBe(true);

    const reasons = (await store.listSecurityEvents({ limit: 50 })).filter((event) => event.outcome === "failure").map((event) => event.details.reason);
    expect(reasons).toEqual(expect.arrayContaining(["signature", "other_user"]));
  });

  it("accepts a synced passkey whose counter stays 0", async () => {
    const synced = new SoftAuthenticator({ origin: ORIGIN, synced: true });
    const registered = await registerPasskey(synced);
    expect(registered.passkey.backedUp).toBe(true);
    for (let i = 0; i < 3; i++) {
      const answer = await assertion(synced);
      expect((await mfa.service.passkeySignIn(answer.challengeId, answer.response, context)).id).toBe(alice.id);
    }
  });

  it("a second passkey needs proof of the first; the last one cannot go while the role requires a factor", async () => {
    mfa = build(["developer"]);
    const phone = new SoftAuthenticator({ origin: ORIGIN });
    expect((await mfa.secondFactors.required(alice)).mustEnrol).toBe(true);
    await registerPasskey(phone);
    expect((await mfa.secondFactors.required(alice)).mustEnrol).toBe(false);
    const laptop = new SoftAuthenticator({ origin: ORIGIN });
    expect((await apiError(registerPasskey(laptop))).code).toBe("mfa_required");
    const second = await registerPasskey(laptop, alice, { passkey: await assertion(phone) });
    expect(second.recoveryCodes).toBeUndefined();
    await mfa.service.deletePasskey(alice, second.passkey.id, { passkey: await assertion(phone) }, context);
    const [last] = await mfa.service.listPasskeys(alice);
    expect((await apiError(mfa.service.deletePasskey(alice, last!.id, { passkey: await assertion(phone) }, context))).code).toBe("forbidden");
  });

  it("an admin reset removes every factor and is recorded with the admin as actor", async () => {
    await registerPasskey(new SoftAuthenticator({ origin: ORIGIN }));
    await mfa.service.reset(alice.id, { address: null, actor: "root" });
    expect(await mfa.service.status(alice)).toMatchObject({ enrolled: [], passkeys: 0, recoveryCodesLeft: 0 });
    const [reset] = await store.listSecurityEvents({ limit: 1, type: "mfa_reset" });
    expect(reset).toMatchObject({ actor: "root", userId: alice.id });
  });
});

describe("requiredRoles", () => {
  it("marks users of a required role without a factor as mustEnrol, and never agents", async () => {
    mfa = build(["admin"]);
    const admin = person("root", ["admin"]);
    const agent = { ...person("kind:bot", ["admin"]), kind: "agent" as const };
    expect(await mfa.secondFactors.required(admin)).toEqual({ enrolled: [], mustEnrol: true });
    expect(await mfa.secondFactors.required(alice)).toEqual({ enrolled: [], mustEnrol: false });
    expect(await mfa.secondFactors.required(agent)).toEqual({ enrolled: [], mustEnrol: false });
    expect(await mfa.service.status(admin)).toMatchObject({ required: true, mustEnrol: true });
  });
});

describe("logs", () => {
  it("never carry a secret, a code or a recovery code", async () => {
    const enrolment = await mfa.service.beginTotp(alice, undefined, context);
    const code = codeAt(enrolment.secret, clock);
    const { recoveryCodes = [] } = await mfa.service.confirmTotp(alice, code, context);
    await mfa.secondFactors.verify(alice, { recoveryCode: recoveryCodes[0]! });
    await mfa.secondFactors.verify(alice, { code: "999999" });
    expect(logLines.length).toBeGreaterThan(2);
    const all = logLines.join("\n");
    for (const secret of [enrolment.secret, code, ...recoveryCodes, "999999"]) expect(all).not.toContain(secret);
  });
});

describe("WebAuthn settings", () => {
  it("default to localhost (or the host name) on the listening port, and normalise configured origins", async () => {
    const { resolveWebAuthnSettings } = await import("../../src/auth/mfa/webauthn-settings.js");
    const defaults = MfaConfigSchema.parse({}).webauthn;
    let port = 0;
    const local = resolveWebAuthnSettings(defaults, { host: "0.0.0.0", port: () => port });
    port = 7070;
    expect(local()).toMatchObject({ rpId: "localhost", rpName: "kAI Service Stack", origins: ["http://localhost:7070", "https://localhost:7070"], challengeTtlMs: 300_000 });
    expect(resolveWebAuthnSettings(defaults, { host: "kai.example.com", port: () => 443 })()).toMatchObject({ rpId: "kai.example.com", origins: ["https://kai.example.com"] });
    const configured = MfaConfigSchema.parse({ webauthn: { rpId: "example.com", origins: ["https://kai.example.com/sign-in"] } }).webauthn;
    expect(resolveWebAuthnSettings(configured, { host: "127.0.0.1", port: () => 7070 })()).toMatchObject({ rpId: "example.com", origins: ["https://kai.example.com"] });
  });
});
