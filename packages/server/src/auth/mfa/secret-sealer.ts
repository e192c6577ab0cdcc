/**
 * @module auth/mfa/secret-sealer
 * Seals TOTP secrets before they reach the identity store: AES-256-GCM with a 32-byte key the composition root
 * derives from the node key (so a copy of the database alone does not yield anyone's TOTP secret), a fresh
 * 96-bit nonce each time and a 16-byte tag enforced on opening. The user id is the additional authenticated data:
 * a sealed secret copied onto another user's row does not open.
 * (auth/ may not import vault/, whose cipher is the same construction; this is the few lines it needs.)
 * Format: `v1.<nonce>.<ciphertext>.<tag>`, each part base64url.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const ALGORITHM = "aes-256-gcm";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretSealer {
  seal(plain: Uint8Array, context: string): string;
  /** The secret, or throws when the sealed text was altered, sealed for another context or with another key. */
  open(sealed: string, context: string): Buffer;
}

/**
 * `key`: the 32 bytes, or a function giving them when first needed — for a node whose key is sealed in a locked
 * vault at start: it throws (e.g. `vault_locked`) until the vault is unlocked, and only TOTP waits for it.
 */
export function createSecretSealer(key: Buffer | (() => Buffer)): SecretSealer {
  let cached: Buffer | undefined;
  const keyOf = (): Buffer => {
    if (cached) return cached;
    const bytes = typeof key === "function" ? key() : key;
    if (bytes.length !== 32) throw new RangeError("the MFA seal key must be 32 bytes (AES-256)");
    // A private copy: the caller may zero or reuse its buffer.
    cached = Buffer.from(bytes);
    return cached;
  };
  if (typeof key !== "function") keyOf();
  return {
    seal(plain, context) {
      const sealKey = keyOf();
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv(ALGORITHM, sealKey, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, "utf8"));
      const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
      return ["v1", nonce, ciphertext, cipher.getAuthTag()].map((part) => (typeof part === "string" ? part : part.toString("base64url"))).join(".");
    },
    open(sealed, context) {
      const sealKey = keyOf();
      const parts = sealed.split(".");
      if (parts.length !== 4 || parts[0] !== "v1") throw new Error("sealed secret has an unknown format");
      const [nonce, ciphertext, tag] = parts.slice(1).map((part) => Buffer.from(part, "base64url")) as [Buffer, Buffer, Buffer];
      if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) throw new Error("sealed secret is malformed");
      const decipher = createDecipheriv(ALGORITHM, sealKey, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(tag);
      // final() throws when the tag does not verify; the plaintext is only returned after it.
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    },
  };
}
