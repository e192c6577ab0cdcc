/**
 * @module auth/mfa/passkey-factor
 * Passkeys (WebAuthn) with `@simplewebauthn/server` 13: registration (options → the browser's response → a stored
 * credential) and sign-in assertions, used both as the second factor after a password and passwordless.
 * Rules:
 * - Every challenge is one-time and short-lived in the identity store (`putChallenge`/`takeChallenge`, kinds
 *   `webauthn_register` and `webauthn_sign_in`): taken before it is checked, so a response cannot be replayed,
 *   not even on another instance.
 * - Attestation `none` (we trust the user's choice of authenticator, not a vendor list); residentKey and
 *   userVerification `preferred`, so passkeys are discoverable where possible (passwordless needs that).
 * - The signature counter is checked only once an authenticator counts: synced passkeys always send 0, and a hard
 *   check would lock them out. A counter that goes backwards after it was counting is refused (a cloned key).
 * - Sign-in options list no credentials: the options route is public, and listing a user's credentials would tell
 *   anyone which usernames exist.
 */
import { randomUUID } from "node:crypto";
import type * as SimpleWebAuthn from "@simplewebauthn/server";
import type { AuthenticatorTransportFuture, verifyAuthenticationResponse, verifyRegistrationResponse } from "@simplewebauthn/server";
import { parseJson, WebAuthnAuthenticationResponseSchema, WebAuthnRegistrationResponseSchema, type WebAuthnOptionsResponse } from "@kai/protocol";
import { z } from "zod";
import { IdentityConflict, type ChallengeKind, type IdentityStore, type PasskeyRow, type UserRow } from "../../storage/contracts/identity-store.js";
import { ApiError, conflict } from "../../errors.js";
import type { WebAuthnSettings } from "./webauthn-settings.js";

type PasskeyStore = Pick<IdentityStore, "insertPasskey" | "getPasskey" | "listPasskeys" | "touchPasskey" | "deletePasskey" | "putChallenge" | "takeChallenge">;

/**
 * The WebAuthn library and its ASN.1/CBOR parsers (~230 ms of module loading) load with the first passkey
 * ceremony, not with the node: most nodes never see one, and every start (and test) would pay for them.
 */
let webauthn: Promise<typeof SimpleWebAuthn> | undefined;
const loadWebAuthn = () => (webauthn ??= import("@simplewebauthn/server"));
/** WebAuthn's base64url (RFC 4648 §5, unpadded) is Node's own "base64url". */
const base64url = {
  fromBytes: (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url"),
  fromUtf8: (text: string) => Buffer.from(text, "utf8").toString("base64url"),
  toBytes: (text: string) => new Uint8Array(Buffer.from(text, "base64url")),
};

const ChallengeDataSchema = z.object({ challenge: z.string().min(1) });

/** Why an assertion was refused (for the security log; the client only hears `invalid_credentials`). */
export type PasskeyRefusal = "malformed" | "challenge" | "unknown_credential" | "other_user" | "user_handle" | "signature";

export type PasskeyAssertionResult = { ok: true; passkey: PasskeyRow } | { ok: false; reason: PasskeyRefusal };

export class PasskeyFactor {
  constructor(
    private readonly store: PasskeyStore,
    private readonly settings: () => WebAuthnSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Options for `navigator.credentials.create()`, excluding the user's existing passkeys. */
  async registrationOptions(user: Pick<UserRow, "id" | "username" | "displayName">): Promise<WebAuthnOptionsResponse> {
    const { rpId, rpName, challengeTtlMs } = this.settings();
    const existing = await this.store.listPasskeys(user.id);
    const { generateRegistrationOptions } = await loadWebAuthn();
    const options = await generateRegistrationOptions({
      rpName,
      rpID: rpId,
      userName: user.username,
      userDisplayName: user.displayName ?? user.username,
      // The user handle is the stable user id (never the username, which may change); the assertion's userHandle is checked against it.
      userID: new TextEncoder().encode(user.id),
      attestationType: "none",
      excludeCredentials: existing.map((passkey) => ({ id: passkey.id, transports: passkey.transports as AuthenticatorTransportFuture[] })),
      authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
      timeout: challengeTtlMs,
    });
    return this.issue("webauthn_register", user.id, options.challenge, options);
  }

  /** Verifies the browser's registration response and stores the credential. Throws `validation_failed` when it does not verify. */
  async register(userId: string, challengeId: string, raw: Record<string, unknown>, name: string | null): Promise<PasskeyRow> {
    const parsed = WebAuthnRegistrationResponseSchema.safeParse(raw);
    if (!parsed.success) throw refused("the passkey registration response is malformed");
    const challenge = await this.take(challengeId, "webauthn_register");
    if (!challenge || challenge.subject !== userId) throw refused("the registration challenge is unknown, used or expired: ask for new options");
    const { rpId, origins } = this.settings();
    let verification;
    try {
      verification = await (await loadWebAuthn()).verifyRegistrationResponse({
        response: parsed.data as Parameters<typeof verifyRegistrationResponse>[0]["response"],
        expectedChallenge: challenge.challenge,
        expectedOrigin: origins,
        expectedRPID: rpId,
        requireUserVerification: false,
      });
    } catch {
      // The library's message can quote response fields; it is not passed on.
      throw refused("the passkey registration did not verify");
    }
    if (!verification.verified) throw refused("the passkey registration did not verify");
    const info = verification.registrationInfo;
    const row: PasskeyRow = {
      id: info.credential.id,
      userId,
      publicKey: base64url.fromBytes(info.credential.publicKey),
      counter: info.credential.counter,
      transports: parsed.data.response.transports ?? [],
      name,
      backedUp: info.credentialBackedUp,
      createdAt: new Date(this.now()).toISOString(),
      lastUsedAt: null,
    };
    try {
      await this.store.insertPasskey(row);
    } catch (error) {
      if (error instanceof IdentityConflict) throw conflict("this passkey is already registered");
      throw error;
    }
    return row;
  }

  /** Options for `navigator.credentials.get()` (no credentials listed: see the module header). */
  async signInOptions(): Promise<WebAuthnOptionsResponse> {
    const { rpId, challengeTtlMs } = this.settings();
    const { generateAuthenticationOptions } = await loadWebAuthn();
    const options = await generateAuthenticationOptions({ rpID: rpId, userVerification: "preferred", timeout: challengeTtlMs });
    return this.issue("webauthn_sign_in", null, options.challenge, options);
  }

  /**
   * Checks an assertion, consuming its challenge, and records the use. `userId`: the user it must belong to (second
   * factor, step-up); absent for passwordless sign-in, where the credential names its user.
   * `requireUserVerification`: passwordless sign-in demands it, so the passkey alone is two factors (the device and
   * its PIN or biometric); after a password, presence is enough.
   */
  async authenticate(challengeId: string, raw: Record<string, unknown>, expect: { userId?: string; requireUserVerification: boolean }): Promise<PasskeyAssertionResult> {
    const parsed = WebAuthnAuthenticationResponseSchema.safeParse(raw);
    // The challenge is consumed even when the response is unusable: one challenge, one try.
    const challenge = await this.take(challengeId, "webauthn_sign_in");
    if (!parsed.success) return { ok: false, reason: "malformed" };
    if (!challenge) return { ok: false, reason: "challenge" };
    const passkey = await this.store.getPasskey(parsed.data.id);
    if (!passkey) return { ok: false, reason: "unknown_credential" };
    if (expect.userId !== undefined && passkey.userId !== expect.userId) return { ok: false, reason: "other_user" };
    const userHandle = parsed.data.response.userHandle;
    if (userHandle && userHandle !== base64url.fromUtf8(passkey.userId)) return { ok: false, reason: "user_handle" };
    const { rpId, origins } = this.settings();
    try {
      const verification = await (await loadWebAuthn()).verifyAuthenticationResponse({
        response: parsed.data as Parameters<typeof verifyAuthenticationResponse>[0]["response"],
        expectedChallenge: challenge.challenge,
        expectedOrigin: origins,
        expectedRPID: rpId,
        credential: { id: passkey.id, publicKey: base64url.toBytes(passkey.publicKey), counter: passkey.counter, transports: passkey.transports as AuthenticatorTransportFuture[] },
        requireUserVerification: expect.requireUserVerification,
      });
      if (!verification.verified) return { ok: false, reason: "signature" };
      const at = new Date(this.now()).toISOString();
      await this.store.touchPasskey(passkey.id, verification.authenticationInfo.newCounter, at);
      return { ok: true, passkey: { ...passkey, counter: verification.authenticationInfo.newCounter, lastUsedAt: at } };
    } catch {
      return { ok: false, reason: "signature" };
    }
  }

  list(userId: string): Promise<PasskeyRow[]> {
    return this.store.listPasskeys(userId);
  }

  remove(userId: string, id: string): Promise<boolean> {
    return this.store.deletePasskey(userId, id);
  }

  private async issue(kind: ChallengeKind, subject: string | null, challenge: string, options: object): Promise<WebAuthnOptionsResponse> {
    const now = this.now();
    const expiresAt = new Date(now + this.settings().challengeTtlMs).toISOString();
    const id = randomUUID();
    await this.store.putChallenge({ id, kind, subject, data: JSON.stringify({ challenge }), expiresAt, createdAt: new Date(now).toISOString() });
    return { challengeId: id, options: { ...options }, expiresAt };
  }

  private async take(challengeId: string, kind: ChallengeKind): Promise<{ challenge: string; subject: string | null } | null> {
    const row = await this.store.takeChallenge(challengeId, kind, new Date(this.now()).toISOString());
    if (!row) return null;
    const data = parseJson(row.data);
    const parsed = data.ok ? ChallengeDataSchema.safeParse(data.value) : null;
    return parsed?.success ? { challenge: parsed.data.challenge, subject: row.subject } : null;
  }
}

const refused = (message: string) => new ApiError("validation_failed", message, [{ path: "response", message }]);
