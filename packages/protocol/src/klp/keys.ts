/**
 * @module klp/keys
 * Ed25519 key pairs for KLP identities, via @noble/curves (audited, pure JS, so the same code runs in
 * Node and browsers and signing stays synchronous). Signatures are RFC 8032 deterministic, which is
 * what makes the golden vectors reproducible.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { didFromPublicKey } from "./did.js";

/** A signing identity. `secretKey` is the 32-byte RFC 8032 seed; keep it out of logs. */
export interface KlpKeyPair {
  readonly did: string;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export function keyPairFromSeed(seed: Uint8Array): KlpKeyPair {
  if (seed.length !== 32) throw new TypeError("an Ed25519 seed is 32 bytes");
  const publicKey = ed25519.getPublicKey(seed);
  return { did: didFromPublicKey(publicKey), publicKey, secretKey: Uint8Array.from(seed) };
}

/** A fresh key pair from the platform's CSPRNG. */
export function generateKeyPair(): KlpKeyPair {
  return keyPairFromSeed(ed25519.utils.randomSecretKey());
}

export function signBytes(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

/** False (never a throw) for malformed keys, malformed signatures and non-canonical encodings. */
export function verifyBytes(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
