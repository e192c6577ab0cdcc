/**
 * @module vault/crypto/kdf
 * Key-encryption keys. Two kinds, named in the vault header so a vault always says how to open it:
 * - `pbkdf2-sha256`: PBKDF2-HMAC-SHA256 over the passphrase with a 16-byte random salt and the stored
 *   iteration count (OWASP: ≥ 600,000). Runs on libuv's thread pool, so the event loop keeps serving.
 * - `key-file`: the development default; a random 256-bit key in `<data-dir>/vault.key` IS the KEK.
 * Argon2id (not in Node 20's crypto) can be added as a third name later; headers with older parameters
 * are re-wrapped with the configured ones after a successful unlock.
 */
import { pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { z } from "zod";
import { KdfParamsSchema, parseJson } from "@kai/protocol";
import { KEY_BYTES } from "./aead.js";

const pbkdf2Async = promisify(pbkdf2);

export const SALT_BYTES = 16;
/** Below this a header is refused: no legitimate configuration writes fewer (the config schema's minimum). */
export const MIN_PBKDF2_ITERATIONS = 10_000;

const Base64Salt = z.string().regex(/^[A-Za-z0-9_-]{22}$/, "16-byte base64url salt");
/** The KEK's check value (vault-header.ts), in every format-2 header; absent in format 1. */
const Base64Check = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "32-byte base64url check value").optional();

export const StoredKdfSchema = z.discriminatedUnion("name", [
  KdfParamsSchema.extend({
    name: z.literal("pbkdf2-sha256"),
    iterations: z.int().min(MIN_PBKDF2_ITERATIONS).max(100_000_000),
    hash: z.literal("sha256"),
    salt: Base64Salt,
    check: Base64Check,
  }),
  KdfParamsSchema.extend({ name: z.literal("key-file"), check: Base64Check }),
]);
export type StoredKdf = z.infer<typeof StoredKdfSchema>;
export type Pbkdf2Kdf = Extract<StoredKdf, { name: "pbkdf2-sha256" }>;

export function newPbkdf2Params(iterations: number): Pbkdf2Kdf {
  if (!Number.isInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS) throw new RangeError(`PBKDF2 needs at least ${MIN_PBKDF2_ITERATIONS} iterations`);
  return { name: "pbkdf2-sha256", iterations, hash: "sha256", salt: randomBytes(SALT_BYTES).toString("base64url") };
}

/** Parses the header's KDF text; null when it is not a KDF this code knows (the vault then refuses to open). */
export function parseStoredKdf(text: string): StoredKdf | null {
  const json = parseJson(text);
  if (!json.ok) return null;
  const parsed = StoredKdfSchema.safeParse(json.value);
  return parsed.success ? parsed.data : null;
}

/** The KEK for a passphrase under pbkdf2 params. The passphrase bytes are zeroed after use. */
export async function derivePassphraseKek(passphrase: string, kdf: Pbkdf2Kdf): Promise<Buffer> {
  const bytes = Buffer.from(passphrase.normalize("NFC"), "utf8");
  try {
    return await pbkdf2Async(bytes, Buffer.from(kdf.salt, "base64url"), kdf.iterations, KEY_BYTES, "sha256");
  } finally {
    bytes.fill(0);
  }
}

/** What status shows: name and parameters, never the salt. */
export function publicKdf(kdf: StoredKdf): { name: string; iterations?: number; hash?: string } {
  return kdf.name === "pbkdf2-sha256" ? { name: kdf.name, iterations: kdf.iterations, hash: kdf.hash } : { name: kdf.name };
}
