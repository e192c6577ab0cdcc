/**
 * @module klp/signed-document
 * Detached signatures over plain JSON documents that are not messages: the node document at
 * `/.well-known/klp.json` and the answers of `GET /klp/discover` and `GET /klp/verify`. A GET has no
 * sender and no replay semantics, so wrapping its answer in an envelope would invent both; a detached
 * `signature` member over the same JCS signing input as envelopes (spec §3.1) proves who vouches for it.
 */
import { fromBase64Url, toBase64Url } from "./encoding.js";
import { publicKeyFromDid } from "./did.js";
import { signBytes, verifyBytes, type KlpKeyPair } from "./keys.js";
import { signingInput } from "./sign.js";

/** Adds `signature`: Ed25519 by `keyPair` over the UTF-8 JCS text of `document` without `signature`. */
export function signDocument<T extends Record<string, unknown>>(document: T, keyPair: KlpKeyPair): T & { signature: string } {
  const { signature: _old, ...rest } = document;
  return { ...(rest as T), signature: toBase64Url(signBytes(keyPair.secretKey, signingInput(rest))) };
}

/**
 * True when `document.signature` is a valid signature by the key in `signerDid` over the document as
 * received (minus `signature`). Never throws: malformed input is simply not verified.
 */
export function verifyDocument(document: Record<string, unknown>, signerDid: string): boolean {
  const { signature } = document;
  const publicKey = publicKeyFromDid(signerDid);
  if (typeof signature !== "string" || !publicKey) return false;
  const sig = fromBase64Url(signature);
  if (sig?.length !== 64) return false;
  let input: Uint8Array;
  try {
    input = signingInput(document);
  } catch {
    return false;
  }
  return verifyBytes(publicKey, input, sig);
}
