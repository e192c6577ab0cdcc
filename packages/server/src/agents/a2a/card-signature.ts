/**
 * @module agents/a2a/card-signature
 * A2A v1.0 agent card signatures (AgentCardSignature: a JWS, flattened, over the card's canonical form (JCS of the
 * card without `signatures`), done by the official SDK's `generateAgentCardSignature` / `verifyAgentCardSignature` so
 * the bytes signed are exactly the ones every A2A implementation checks; a check is the JWS's Ed25519 verification
 * over the SDK's canonical payload, done here with node:crypto because the SDK's verifier prints every failed entry
 * to the console, outside the node's logger).
 * - The node signs its own card with its Ed25519 identity key: `alg: EdDSA`, `kid`: the node's DID. A kAI DID carries
 *   its public key, so anyone can check the card against the DID the node is known by (KLP, federation).
 * - An external card's signatures are checked when it has any: `verified` (one verifies against the key its `kid`
 *   names), `unverified` (no signature, or only keys this node cannot resolve without fetching: a `kid` that is not
 *   a DID with its key in it), `invalid` (a signature by a resolvable key that does not verify: the card was changed
 *   or forged, and is refused).
 */
import { createPrivateKey, createPublicKey, verify, type KeyObject } from "node:crypto";
import { canonicalizeAgentCard, generateAgentCardSignature, type AgentCard } from "@a2a-js/sdk";
import { klp, parseJson } from "@kai/protocol";

export type CardSignatureStatus = "verified" | "unverified" | "invalid";

export interface CardSignatureCheck {
  status: CardSignatureStatus;
  /** The key id of the signature that verified (a DID). */
  signedBy?: string;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

function privateKeyOf(key: klp.KlpKeyPair): KeyObject {
  return createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: b64url(key.secretKey), x: b64url(key.publicKey) }, format: "jwk" });
}

function publicKeyOfDid(did: string): KeyObject | undefined {
  const raw = klp.DID_PATTERN.test(did) ? klp.publicKeyFromDid(did) : undefined;
  return raw ? createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(raw) }, format: "jwk" }) : undefined;
}

/** `card` with one signature by the node's key (any signatures it had are replaced). */
export async function signAgentCard(card: AgentCard, key: klp.KlpKeyPair): Promise<AgentCard> {
  const sign = generateAgentCardSignature(privateKeyOf(key), { alg: "EdDSA", kid: key.did, typ: "JOSE" });
  return sign({ ...card, signatures: [] });
}

/** A signature's protected header (`alg`, `kid`), when it has a readable one. */
function headerOf(signature: AgentCard["signatures"][number]): { alg?: unknown; kid?: unknown } | undefined {
  if (typeof signature?.protected !== "string" || typeof signature.signature !== "string") return undefined;
  const header = parseJson(Buffer.from(signature.protected, "base64url").toString("utf8"), { maxDepth: 8 });
  return header.ok && typeof header.value === "object" && header.value !== null ? (header.value as { alg?: unknown; kid?: unknown }) : undefined;
}

/** Checks an external card's signatures (see the module comment for what each status means). */
export function checkAgentCardSignatures(card: AgentCard): CardSignatureCheck {
  const signatures = Array.isArray(card.signatures) ? card.signatures : [];
  if (signatures.length === 0) return { status: "unverified" };
  // The JWS payload: base64url of the canonical card (JCS, without `signatures`), as the SDKs sign it.
  const payload = Buffer.from(canonicalizeAgentCard(card), "utf8").toString("base64url");
  let sawResolvable = false;
  for (const signature of signatures) {
    const header = headerOf(signature);
    const kid = typeof header?.kid === "string" ? header.kid : undefined;
    const key = kid === undefined ? undefined : publicKeyOfDid(kid);
    if (!key) continue;
    sawResolvable = true;
    // A DID's key is Ed25519: only EdDSA can verify against it (anything else claiming that key does not verify).
    if (header?.alg !== "EdDSA") continue;
    const input = Buffer.from(`${signature.protected}.${payload}`, "ascii");
    if (verify(null, input, key, Buffer.from(signature.signature, "base64url"))) return { status: "verified", signedBy: kid! };
  }
  return { status: sawResolvable ? "invalid" : "unverified" };
}
