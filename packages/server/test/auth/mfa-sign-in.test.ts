/**
 * Second factors through the real server (issue 14): TOTP enrolment and confirmation, the password login then
 * needing a code (`mfa_required` without one, `invalid_credentials` for a wrong or replayed one), recovery codes
 * working once, passkeys registered and used passwordless and as the second factor (answered by a software
 * authenticator that produces real WebAuthn responses), step-up on factor changes, the admin reset, a role that
 * requires a factor, and no secret or code in any log line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret, TOTP } from "otpauth";
import { ListPasskeysResponseSchema, MfaStatusSchema, TotpEnrolResponseSchema, WebAuthnOptionsResponseSchema } from "@kai/protocol";
import type { TestServer } from "../helpers/test-server.js";
import { createUser, login, signIn, startSignInServer } from "./sign-in-support.js";
import { SoftAuthenticator } from "./mfa-soft-authenticator.js";

const ORIGIN = "https://kai.test";
const PASSWORD = "correct horse battery";
let server: TestServer;
/** Everything secret the tests saw: none of it may appear in a log line. */
const secrets: string[] = [];

beforeAll(async () => {
  server = await startSignInServer({
    config: {
      auth: { mfa: { requiredRoles: ["operator"], webauthn: { rpId: "kai.test", origins: [ORIGIN] } } },
      // Many sign-ins from one address, wrong codes on purpose: the throttle and the auth tier are tested elsewhere.
      rateLimit: { auth: { max: 10_000, windowSeconds: 60 }, signIn: { enabled: false } },
    },
  });
});
afterAll(async () => server.dispose());

const codeAt = (secret: string, at: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at });

async function call(path: string, token: string, method = "GET", json?: unknown): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string } } }> {
  const response = await server.request(path, { method, token, ...(json !== undefined ? { json } : {}) });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Enrols and confirms TOTP for the signed-in user; the secret and the recovery codes. */
async function enrolTotp(token: string, proof?: unknown): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = await call("/api/users/me/mfa/totp", token, "POST", proof ? { proof } : {});
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const enrolment = TotpEnrolResponseSchema.parse(started.body);
  secrets.push(enrolment.secret);
  const confirmed = await call("/api/users/me/mfa/totp/confirm", token, "POST", { code: codeAt(enrolment.secret, Date.now()) });
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
  const recoveryCodes = (confirmed.body.recoveryCodes as string[] | undefined) ?? [];
  secrets.push(...recoveryCodes);
  return { secret: enrolment.secret, recoveryCodes };
}

async function registerPasskey(token: string, authenticator: SoftAuthenticator, proof?: unknown): Promise<{ id: string; recoveryCodes?: string[] }> {
  const options = await call("/api/users/me/passkeys/options", token, "POST", proof ? { proof } : {});
  expect(options.status, JSON.stringify(options.body)).toBe(200);
  const { challengeId, options: creation } = WebAuthnOptionsResponseSchema.parse(options.body);
  const registered = await call("/api/users/me/passkeys", token, "POST", { challengeId, response: authenticator.register(creation), name: "soft key" });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  return { id: (registered.body.passkey as { id: string }).id, recoveryCodes: registered.body.recoveryCodes as string[] | undefined };
}

/** A passkey assertion for a fresh public sign-in challenge. */
async function passkeyAssertion(authenticator: SoftAuthenticator): Promise<{ challengeId: string; response: Record<string, unknown> }> {
  const response = await server.request("/api/auth/passkey/options", { method: "POST", token: null, json: {} });
  expect(response.status).toBe(200);
  const { challengeId, options } = WebAuthnOptionsResponseSchema.parse(await response.json());
  return { challengeId, response: authenticator.assert(options) };
}

describe("TOTP at sign-in", () => {
  it("enrol → confirm → the login needs the code; wrong and replayed codes fail; a recovery code works once", async () => {
    await createUser(server, "tess", PASSWORD, ["developer"]);
    const session = await signIn(server, "tess", PASSWORD);
    const { secret, recoveryCodes } = await enrolTotp(session.accessToken);
    expect(recoveryCodes).toHaveLength(10);
    const status = MfaStatusSchema.parse((await call("/api/users/me/mfa", session.accessToken)).body);
    expect(status).toMatchObject({ enrolled: ["totp", "recovery_codes"], recoveryCodesLeft: 10, required: false, mustEnrol: false });

    const without = await login(server, { username: "tess", password: PASSWORD });
    expect(without.status).toBe(401);
    expect(without.body.error?.code).toBe("mfa_required");

    // The confirming code's step is spent: the next step's code (one step ahead is accepted) signs in.
    const next = codeAt(secret, Date.now() + 30_000);
    const wrong = next === "000000" ? "111111" : "000000";
    expect((await login(server, { username: "tess", password: PASSWORD, code: wrong })).body.error?.code).toBe("invalid_credentials");
    const withCode = await login(server, { username: "tess", password: PASSWORD, code: next });
    expect(withCode.status, JSON.stringify(withCode.body)).toBe(200);
    const replay = await login(server, { username: "tess", password: PASSWORD, code: next });
    expect(replay.status).toBe(401);
    expect(replay.body.error?.code).toBe("invalid_credentials");
    // A right code with a wrong password is still just a wrong password.
    expect((await login(server, { username: "tess", password: "not the password", code: codeAt(secret, Date.now()) })).body.error?.code).toBe("invalid_credentials");

    const withRecovery = await login(server, { username: "tess", password: PASSWORD, recoveryCode: recoveryCodes[0] });
    expect(withRecovery.status).toBe(200);
    expect((await login(server, { username: "tess", password: PASSWORD, recoveryCode: recoveryCodes[0] })).body.error?.code).toBe("invalid_credentials");
    expect(MfaStatusSchema.parse((await call("/api/users/me/mfa", session.accessToken)).body).recoveryCodesLeft).toBe(9);
  });

  it("changes to factors need a current factor; regenerated codes replace the old ones; disabling ends the need", async () => {
    await createUser(server, "uma", PASSWORD, ["developer"]);
    const session = await signIn(server, "uma", PASSWORD);
    const { recoveryCodes } = await enrolTotp(session.accessToken);
    expect((await call("/api/users/me/mfa/recovery-codes", session.accessToken, "POST", { proof: {} })).body.error?.code).toBe("mfa_required");
    expect((await call("/api/users/me/mfa/recovery-codes", session.accessToken, "POST", { proof: { recoveryCode: "zzzz-zzzz-zzzz-zzzz" } })).body.error?.code).toBe("invalid_credentials");
    const fresh = await call("/api/users/me/mfa/recovery-codes", session.accessToken, "POST", { proof: { recoveryCode: recoveryCodes[0] } });
    expect(fresh.status).toBe(200);
    const codes = fresh.body.recoveryCodes as string[];
    secrets.push(...codes);
    expect((await login(server, { username: "uma", password: PASSWORD, recoveryCode: recoveryCodes[1] })).status).toBe(401);
    expect((await call("/api/users/me/mfa/totp", session.accessToken, "POST", {})).status).toBe(409);

    expect((await call("/api/users/me/mfa/totp", session.accessToken, "DELETE", { proof: { recoveryCode: codes[0] } })).status).toBe(204);
    expect(MfaStatusSchema.parse((await call("/api/users/me/mfa", session.accessToken)).body)).toMatchObject({ enrolled: [], recoveryCodesLeft: 0 });
    expect((await login(server, { username: "uma", password: PASSWORD })).status).toBe(200);
  });

  it("the MFA routes are for users: a token without a user finds no 'me' (404)", async () => {
    const answer = await call("/api/users/me/mfa", server.adminToken);
    expect(answer.status).toBe(404);
    expect(answer.body.error?.code).toBe("not_found");
  });
});

describe("passkeys", () => {
  it("register, then sign in without a password and as the second factor; each challenge answers once", async () => {
    const userId = await createUser(server, "pia", PASSWORD, ["developer"]);
    const session = await signIn(server, "pia", PASSWORD);
    const authenticator = new SoftAuthenticator({ origin: ORIGIN, synced: true });
    const { recoveryCodes } = await registerPasskey(session.accessToken, authenticator);
    expect(recoveryCodes).toHaveLength(10);
    secrets.push(...(recoveryCodes ?? []));
    const listed = ListPasskeysResponseSchema.parse((await call("/api/users/me/passkeys", session.accessToken)).body);
    expect(listed.passkeys).toHaveLength(1);
    expect(listed.passkeys[0]).toMatchObject({ name: "soft key", backedUp: true });

    const assertion = await passkeyAssertion(authenticator);
    const passwordless = await server.request("/api/auth/passkey/login", { method: "POST", token: null, json: assertion });
    expect(passwordless.status, await passwordless.clone().text()).toBe(200);
    const signedIn = (await passwordless.json()) as { accessToken: string; user: { id: string } };
    expect(signedIn.user.id).toBe(userId);
    const who = (await (await server.request("/api/auth/validate", { token: signedIn.accessToken })).json()) as { user: { username: string } };
    expect(who.user.username).toBe("pia");
    const again = await server.request("/api/auth/passkey/login", { method: "POST", token: null, json: assertion });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("invalid_credentials");

    expect((await login(server, { username: "pia", password: PASSWORD })).body.error?.code).toBe("mfa_required");
    const second = await login(server, { username: "pia", password: PASSWORD, passkey: await passkeyAssertion(authenticator) });
    expect(second.status, JSON.stringify(second.body)).toBe(200);

    // Another authenticator's assertion (a credential this node never registered) is refused.
    const stranger = new SoftAuthenticator({ origin: ORIGIN });
    stranger.register({ rp: { id: "kai.test" }, user: { id: "c3RyYW5nZXI" }, challenge: "AAAA" });
    const refused = await server.request("/api/auth/passkey/login", { method: "POST", token: null, json: await passkeyAssertion(stranger) });
    expect(refused.status).toBe(401);
  });

  it("a second passkey needs proof of the first; removing one needs proof too", async () => {
    await createUser(server, "quin", PASSWORD, ["developer"]);
    const session = await signIn(server, "quin", PASSWORD);
    const phone = new SoftAuthenticator({ origin: ORIGIN });
    await registerPasskey(session.accessToken, phone);
    const laptop = new SoftAuthenticator({ origin: ORIGIN });
    expect((await call("/api/users/me/passkeys/options", session.accessToken, "POST", {})).body.error?.code).toBe("mfa_required");
    const added = await registerPasskey(session.accessToken, laptop, { passkey: await passkeyAssertion(phone) });
    expect(added.recoveryCodes).toBeUndefined();
    const path = `/api/users/me/passkeys/${encodeURIComponent(added.id)}`;
    expect((await call(path, session.accessToken, "DELETE", { proof: {} })).body.error?.code).toBe("mfa_required");
    expect((await call(path, session.accessToken, "DELETE", { proof: { passkey: await passkeyAssertion(phone) } })).status).toBe(204);
    expect(ListPasskeysResponseSchema.parse((await call("/api/users/me/passkeys", session.accessToken)).body).passkeys).toHaveLength(1);
  });
});

describe("required roles and the admin reset", () => {
  it("a user whose role requires a factor is told to enrol; an admin reset removes every factor", async () => {
    const userId = await createUser(server, "otto", PASSWORD, ["operator"]);
    const session = await signIn(server, "otto", PASSWORD);
    expect(MfaStatusSchema.parse((await call("/api/users/me/mfa", session.accessToken)).body)).toMatchObject({ required: true, mustEnrol: true });
    // Until a factor is enrolled the session holds no scope: enrolling is all it can do.
    const limited = (await call("/api/auth/validate", session.accessToken)).body as { scopes: string[] };
    expect(limited.scopes).toEqual([]);
    expect((await call("/api/services", session.accessToken)).status).toBe(403);
    const { secret } = await enrolTotp(session.accessToken);
    expect(MfaStatusSchema.parse((await call("/api/users/me/mfa", session.accessToken)).body)).toMatchObject({ mustEnrol: false });
    expect((await login(server, { username: "otto", password: PASSWORD })).body.error?.code).toBe("mfa_required");
    // The only factor of a required role cannot be removed by its user.
    const removal = await call("/api/users/me/mfa/totp", session.accessToken, "DELETE", { proof: { code: codeAt(secret, Date.now() + 30_000) } });
    expect(removal.status).toBe(403);

    expect((await call(`/api/users/${userId}/mfa`, session.accessToken, "DELETE")).status).toBe(403);
    expect((await call(`/api/users/${userId}/mfa`, server.adminToken, "DELETE")).status).toBe(204);
    expect(MfaStatusSchema.parse((await call("/api/users/me/mfa", session.accessToken)).body)).toMatchObject({ enrolled: [], mustEnrol: true });
    const events = (await (await server.request(`/api/security/events?type=mfa_reset`)).json()) as { events: Array<{ userId: string }> };
    expect(events.events.some((event) => event.userId === userId)).toBe(true);
  });
});

describe("logs", () => {
  it("carry no TOTP secret, code or recovery code, and MFA changes are security events", async () => {
    expect(secrets.length).toBeGreaterThan(20);
    const all = server.logs.join("\n");
    for (const secret of secrets) expect(all).not.toContain(secret);
    expect(all).toContain("mfa_enrolled");
  });
});
