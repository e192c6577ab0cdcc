/**
 * @module klp/did
 * KLP identities: `kind:did:<base64url(raw 32-byte Ed25519 public key)>#ed25519`. The DID *is* the
 * key, so a receiver needs no directory to check a signature; these helpers convert both ways.
 */
import { z } from "zod";
import { fromBase64Url, toBase64Url } from "./encoding.js";

const DID_PREFIX = "kind:did:";
const DID_SUFFIX = "#ed25519";
/** 32 bytes in unpadded base64url are exactly 43 characters. */
export const DID_PATTERN = /^kind:did:[A-Za-z0-9_-]{43}#ed25519$/;

export function didFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new TypeError("an Ed25519 public key is 32 bytes");
  return `${DID_PREFIX}${toBase64Url(publicKey)}${DID_SUFFIX}`;
}

/** The raw public key inside a DID, or `undefined` when the text is not a canonical KLP DID. */
export function publicKeyFromDid(did: string): Uint8Array | undefined {
  if (!DID_PATTERN.test(did)) return undefined;
  const key = fromBase64Url(did.slice(DID_PREFIX.length, -DID_SUFFIX.length));
  return key?.length === 32 ? key : undefined;
}

export const DidSchema = z
  .string()
  .refine((text) => publicKeyFromDid(text) !== undefined, "must be kind:did:<base64url 32-byte key>#ed25519");
export type Did = z.infer<typeof DidSchema>;
