/**
 * @module vault
 * The credential vault's API shapes: status, lock/unlock/rekey/rotate, named secrets with versions and
 * expiry, transit encryption (`/vault/encrypt`, `/vault/decrypt`, rewrap), and the audit log.
 * Secret values travel only in `PutSecretRequest.value` and `SecretValueResponse.value`.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

/** Secret names are paths: `openai/prod`, `services/my-llm/token`. */
export const SecretNameSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/, "must be path segments of letters, digits, _ . - separated by /");

/** A pattern over secret names: `*` matches within one segment, `**` across segments (`openai/*`, `services/**`). */
export const SecretPatternSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.*/-]+$/, "may use letters, digits, _ . - / and the wildcards * and **");

export const KdfParamsSchema = z.object({
  name: z.string(),
  iterations: z.int().optional(),
  hash: z.string().optional(),
});

export const VaultStatusSchema = z.object({
  initialized: z.boolean(),
  locked: z.boolean(),
  /** True when the vault unlocks itself from `<data-dir>/vault.key` (the development default, no passphrase). */
  autoUnlock: z.boolean(),
  kdf: KdfParamsSchema.nullable(),
  /** Current data-key version; ciphertexts carry it as `kai:v<N>:`. */
  keyVersion: z.int().nullable(),
  secrets: z.int().nullable(),
  /** Encryptions under the current data key; rotation happens well before 2^32. */
  encryptionsUnderCurrentKey: z.int().nullable(),
  /** Seconds a caller must wait before the next unlock attempt (after wrong passphrases). */
  unlockBackoffSeconds: z.number(),
});
export type VaultStatus = z.infer<typeof VaultStatusSchema>;

/** Without `passphrase` (or with no body at all), a key-file vault is unlocked from `<data-dir>/vault.key`. */
export const UnlockRequestSchema = z.strictObject({ passphrase: z.string().min(1).max(1024).optional() });
export const InitRequestSchema = z.strictObject({ passphrase: z.string().min(12, "use at least 12 characters").max(1024).optional() });
export const RekeyRequestSchema = z.strictObject({
  /** The new passphrase. Omit to go back to the development default (random key in vault.key). */
  newPassphrase: z.string().min(12, "use at least 12 characters").max(1024).optional(),
});

export const PutSecretRequestSchema = z.strictObject({
  value: z.string().min(1).max(64 * 1024),
  expiresAt: TimestampSchema.optional(),
  /** Free-form, non-secret notes (never encrypted, never a credential). */
  description: z.string().max(1000).optional(),
});
export type PutSecretRequest = z.infer<typeof PutSecretRequestSchema>;

/** What is known about a secret without its value. */
export const SecretInfoSchema = z.object({
  name: z.string(),
  version: z.int(),
  /** Versions still kept (newest first); older ones are dropped beyond the retention count. */
  versions: z.array(z.int()),
  description: z.string().optional(),
  createdAt: TimestampSchema,
  createdBy: z.string(),
  updatedAt: TimestampSchema,
  updatedBy: z.string(),
  lastUsedAt: TimestampSchema.nullable(),
  lastUsedBy: z.string().nullable(),
  expiresAt: TimestampSchema.nullable(),
  expired: z.boolean(),
});
export type SecretInfo = z.infer<typeof SecretInfoSchema>;

export const SecretValueResponseSchema = SecretInfoSchema.extend({ value: z.string() });
export type SecretValueResponse = z.infer<typeof SecretValueResponseSchema>;

export const ListSecretsResponseSchema = z.object({ secrets: z.array(SecretInfoSchema) });

export const RotateResponseSchema = z.object({
  keyVersion: z.int(),
  reencrypted: z.int(),
  retiredVersions: z.array(z.int()),
  /** Secrets that failed their integrity check: left as they were (and logged), while the rest rotated. */
  skipped: z.array(z.string()),
});

/** Transit: encrypt arbitrary UTF-8 text; the ciphertext is `kai:v<keyVersion>:<base64url>`. */
export const EncryptRequestSchema = z.strictObject({
  plaintext: z.string().max(1024 * 1024),
  /** Bound to the ciphertext: decrypt must present the same value. */
  associatedData: z.string().max(4096).optional(),
});
export const CiphertextSchema = z.string().max(2 * 1024 * 1024).regex(/^kai:v\d+:[A-Za-z0-9_-]+$/, "must be a kai:v<N>: ciphertext");
export const EncryptResponseSchema = z.object({ ciphertext: z.string(), keyVersion: z.int() });
export const DecryptRequestSchema = z.strictObject({ ciphertext: CiphertextSchema, associatedData: z.string().max(4096).optional() });
export const DecryptResponseSchema = z.object({ plaintext: z.string() });
export const RewrapRequestSchema = DecryptRequestSchema;

export const AUDIT_OUTCOMES = ["allowed", "denied", "failed"] as const;
export const AuditEntrySchema = z.object({
  seq: z.int(),
  at: TimestampSchema,
  /** Who: the token id and owner (owners are not secret). */
  tokenId: z.string().nullable(),
  actor: z.string().nullable(),
  operation: z.string(),
  /** The secret's name as a keyed HMAC (`hmac-sha256:…`), never in clear. */
  secret: z.string().nullable(),
  outcome: z.enum(AUDIT_OUTCOMES),
  reason: z.string().nullable(),
  requestId: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  operation: z.string().max(64).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  actor: z.string().max(128).optional(),
  /** Entries with seq greater than this (paging forward). */
  afterSeq: z.coerce.number().int().min(0).optional(),
  /** `asc` (default): the oldest `limit` entries first; `desc`: the newest first (what `kai vault audit` shows). */
  order: z.enum(["asc", "desc"]).optional(),
});
export const AuditListResponseSchema = z.object({ entries: z.array(AuditEntrySchema) });
export const AuditVerifyResponseSchema = z.object({
  ok: z.boolean(),
  entries: z.int(),
  /** The first entry whose chain MAC does not verify (edited, inserted or deleted before it). */
  brokenAt: z.int().nullable(),
});
