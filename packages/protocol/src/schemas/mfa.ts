/**
 * @module mfa
 * Second factors (issue 14): the shapes of `/api/users/me/mfa/*`, `/api/users/me/passkeys*`, the admin reset
 * `DELETE /api/users/{id}/mfa`, and the passkey sign-in routes `POST /api/auth/passkey/options` and
 * `POST /api/auth/passkey/login`. WebAuthn options and responses are the browser's JSON forms
 * (`PublicKeyCredentialCreationOptionsJSON`, `RegistrationResponseJSON`, …); the server checks their fields here
 * and their cryptography in `auth/mfa/`.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

export const MfaMethodSchema = z.enum(["totp", "passkey", "recovery_codes"]);
export type MfaMethod = z.infer<typeof MfaMethodSchema>;

/** A TOTP code as typed: 6 digits. */
export const TotpCodeSchema = z.string().regex(/^\d{6}$/, "must be 6 digits");

/** A recovery code as shown (`xxxxx-xxxxx`); case, spaces and dashes are ignored when it is checked. */
export const RecoveryCodeSchema = z.string().min(8).max(64);

const Base64UrlSchema = z.string().max(16_384).regex(/^[A-Za-z0-9_-]*={0,2}$/, "must be base64url");

/** The browser's answer to `navigator.credentials.create()` (`RegistrationResponseJSON`). */
export const WebAuthnRegistrationResponseSchema = z.looseObject({
  id: Base64UrlSchema.min(1).max(1024),
  rawId: Base64UrlSchema.min(1).max(1024),
  type: z.literal("public-key"),
  response: z.looseObject({
    clientDataJSON: Base64UrlSchema.min(1),
    attestationObject: Base64UrlSchema.min(1),
    transports: z.array(z.string().max(32)).max(16).optional(),
  }),
  authenticatorAttachment: z.string().max(32).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});
export type WebAuthnRegistrationResponse = z.output<typeof WebAuthnRegistrationResponseSchema>;

/** The browser's answer to `navigator.credentials.get()` (`AuthenticationResponseJSON`). */
export const WebAuthnAuthenticationResponseSchema = z.looseObject({
  id: Base64UrlSchema.min(1).max(1024),
  rawId: Base64UrlSchema.min(1).max(1024),
  type: z.literal("public-key"),
  response: z.looseObject({
    clientDataJSON: Base64UrlSchema.min(1),
    authenticatorData: Base64UrlSchema.min(1),
    signature: Base64UrlSchema.min(1),
    userHandle: Base64UrlSchema.max(512).optional(),
  }),
  authenticatorAttachment: z.string().max(32).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});
export type WebAuthnAuthenticationResponse = z.output<typeof WebAuthnAuthenticationResponseSchema>;

/** A passkey assertion answering a challenge from `POST /api/auth/passkey/options`. */
export const PasskeyAssertionSchema = z.strictObject({
  challengeId: z.string().min(1).max(128),
  response: z.record(z.string(), z.unknown()),
});

/**
 * Proof of a factor the user already has: one of a current TOTP code, a recovery code (used up) or a passkey
 * assertion — the same fields as the second factor of `POST /api/auth/login`. Changes to a user's factors need it
 * once they have one (a stolen session alone cannot add an attacker's passkey or remove the user's TOTP).
 */
export const SecondFactorProofSchema = z.strictObject({
  code: TotpCodeSchema.optional(),
  recoveryCode: RecoveryCodeSchema.optional(),
  passkey: PasskeyAssertionSchema.optional(),
});
export type SecondFactorProof = z.infer<typeof SecondFactorProofSchema>;

/** `GET /api/users/me/mfa`: what the signed-in user has enrolled. */
export const MfaStatusSchema = z.object({
  /** The factors that count at sign-in (TOTP only once confirmed; recovery codes while some are left). */
  enrolled: z.array(MfaMethodSchema),
  totp: z.object({
    confirmed: z.boolean(),
    /** An enrolment was started and awaits its first code. */
    pending: z.boolean(),
  }),
  passkeys: z.number().int(),
  recoveryCodesLeft: z.number().int(),
  /** One of the user's roles is in `auth.mfa.requiredRoles`. */
  required: z.boolean(),
  /** Required, and nothing enrolled yet: sign-in gives them a session for enrolling only. */
  mustEnrol: z.boolean(),
});
export type MfaStatus = z.infer<typeof MfaStatusSchema>;

/** A change that adds a factor: proof of a current factor is needed only once the user has one. */
export const OptionalProofRequestSchema = z.strictObject({
  /** Needed when the user already has a factor (TOTP, passkeys, recovery codes). */
  proof: SecondFactorProofSchema.optional(),
});
export type OptionalProofRequest = z.infer<typeof OptionalProofRequestSchema>;

/** `POST /api/users/me/mfa/totp`: start (or restart) a TOTP enrolment. */
export const TotpEnrolRequestSchema = OptionalProofRequestSchema;
export type TotpEnrolRequest = z.infer<typeof TotpEnrolRequestSchema>;

export const TotpEnrolResponseSchema = z.object({
  /** The shared secret, base32, for typing into an authenticator app (shown once, never again). */
  secret: z.string(),
  /** `otpauth://totp/…` with issuer, account, secret, SHA1, 6 digits, 30 s. */
  uri: z.string(),
  /** The URI as a QR code: `data:image/svg+xml;base64,…` (use as an `<img src>`). */
  qrCode: z.string(),
  algorithm: z.literal("SHA1"),
  digits: z.literal(6),
  period: z.literal(30),
});
export type TotpEnrolResponse = z.infer<typeof TotpEnrolResponseSchema>;

/** `POST /api/users/me/mfa/totp/confirm`: the first code from the authenticator app. */
export const TotpConfirmRequestSchema = z.strictObject({ code: TotpCodeSchema });
export type TotpConfirmRequest = z.infer<typeof TotpConfirmRequestSchema>;

/** A confirmed TOTP; `recoveryCodes` when the user had none yet (shown once; a set they already keep stays valid). */
export const TotpConfirmResponseSchema = z.object({ recoveryCodes: z.array(z.string()).optional() });
export type TotpConfirmResponse = z.infer<typeof TotpConfirmResponseSchema>;

/** New recovery codes: shown once; only their hashes are kept. Each signs in once. */
export const RecoveryCodesResponseSchema = z.object({ recoveryCodes: z.array(z.string()) });
export type RecoveryCodesResponse = z.infer<typeof RecoveryCodesResponseSchema>;

/** A change that needs proof of a current factor (disable TOTP, regenerate recovery codes, remove a passkey). */
export const MfaProofRequestSchema = z.strictObject({ proof: SecondFactorProofSchema });
export type MfaProofRequest = z.infer<typeof MfaProofRequestSchema>;

/** `POST /api/users/me/passkeys/options`: start registering a passkey. */
export const PasskeyRegistrationOptionsRequestSchema = OptionalProofRequestSchema;
export type PasskeyRegistrationOptionsRequest = z.infer<typeof PasskeyRegistrationOptionsRequestSchema>;

/** WebAuthn options for the browser (`PublicKeyCredentialCreationOptionsJSON` / `…RequestOptionsJSON`), with the challenge's id. */
export const WebAuthnOptionsResponseSchema = z.object({
  challengeId: z.string(),
  options: z.record(z.string(), z.unknown()),
  expiresAt: TimestampSchema,
});
export type WebAuthnOptionsResponse = z.infer<typeof WebAuthnOptionsResponseSchema>;

/** `POST /api/users/me/passkeys`: the browser's registration response. */
export const RegisterPasskeyRequestSchema = z.strictObject({
  challengeId: z.string().min(1).max(128),
  response: z.record(z.string(), z.unknown()),
  /** A name the user recognises ("laptop", "phone"). */
  name: z.string().min(1).max(100).optional(),
});
export type RegisterPasskeyRequest = z.infer<typeof RegisterPasskeyRequestSchema>;

export const PasskeySchema = z.object({
  /** The credential id, base64url. */
  id: z.string(),
  name: z.string().nullable(),
  transports: z.array(z.string()),
  /** The authenticator says the credential is synced (a passkey provider), not bound to one device. */
  backedUp: z.boolean(),
  createdAt: TimestampSchema,
  lastUsedAt: TimestampSchema.nullable(),
});
export type Passkey = z.infer<typeof PasskeySchema>;

export const RegisterPasskeyResponseSchema = z.object({
  passkey: PasskeySchema,
  /** Present when the user had no recovery codes yet: shown once. */
  recoveryCodes: z.array(z.string()).optional(),
});
export type RegisterPasskeyResponse = z.infer<typeof RegisterPasskeyResponseSchema>;

export const ListPasskeysResponseSchema = z.object({ passkeys: z.array(PasskeySchema) });
export type ListPasskeysResponse = z.infer<typeof ListPasskeysResponseSchema>;

/** `POST /api/auth/passkey/options` (public): a sign-in challenge, for passwordless sign-in or as the second factor. */
export const PasskeySignInOptionsRequestSchema = z.strictObject({});
export type PasskeySignInOptionsRequest = z.infer<typeof PasskeySignInOptionsRequestSchema>;

/** `POST /api/auth/passkey/login` (public): passwordless sign-in with a discoverable passkey. */
export const PasskeyLoginRequestSchema = z.strictObject({
  challengeId: z.string().min(1).max(128),
  response: z.record(z.string(), z.unknown()),
  mode: z.enum(["token", "cookie"]).default("token"),
});
export type PasskeyLoginRequestInput = z.input<typeof PasskeyLoginRequestSchema>;
export type PasskeyLoginRequest = z.output<typeof PasskeyLoginRequestSchema>;
