/**
 * @module klp/keys
 * Ed25519 key pairs for KLP identities. Signing and verifying use the platform's native crypto where there
 * is one (ed25519-native.ts) and @noble/curves (audited, pure JS) elsewhere, so the same code runs in Node
 * and browsers and signing stays synchronous. Signatures are RFC 8032 deterministic, which is
 * what makes the golden vectors reproducible. Verification is strict on both paths (strict-ed25519.ts).
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { didFromPublicKey } from "./did.js";
import { loadNativeEd25519, type Ed25519Backend } from "./ed25519-native.js";
import { passesStrictChecks } from "./strict-ed25519.js";

const pureJs: Ed25519Backend = {
  sign: (secretKey, message) => ed25519.sign(message, secretKey),
  verify: (publicKey, message, signature) => {
    // @noble with zip215: false refuses non-canonical encodings and small-order keys but not a small-order R.
    if (!passesStrictChecks(publicKey, signature)) return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

/** Native crypto where the platform has it (Node), pure JS elsewhere; both accept exactly the same signatures. */
let backend: Ed25519Backend = loadNativeEd25519() ?? pureJs;

/** Which implementation signs and verifies: `native` (node:crypto) or `pure-js` (@noble/curves). */
export function ed25519Implementation(): "native" | "pure-js" {
  return backend === pureJs ? "pure-js" : "native";
}

/** Forces one implementation (tests check that both agree on every vector). */
export function useEd25519Implementation(kind: "native" | "pure-js"): void {
  const native = kind === "native" ? loadNativeEd25519() : undefined;
  if (kind === "native" && !native) throw new Error("this platform has no native Ed25519");
  backend = native ?? pureJs;
}

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
  return backend.sign(secretKey, message);
}

/** False (never a throw) for malformed keys, malformed signatures and non-canonical encodings. */
export function verifyBytes(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return backend.verify(publicKey, message, signature);
}
