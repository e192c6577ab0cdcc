/**
 * @module agents/a2a/card-signature
 * A2A v1.0 agent card signatures (AgentCardSignature: a JWS, flattened, over the card's canonical form (JCS of the
 * card without `signatures`), done by the official SDK's `generateAgentCardSignature` / `verifyAgentCardSignature` so
 * the bytes signed are exactly the ones every A2A implementation checks).
 * - The node signs its own card with its Ed25519 identity key: `alg: EdDSA`, `kid`: the node's DID. A kAI DID carries
 *   its public key, so anyone can check the card against the DID the node is known by (KLP, federation).
 * - An external card's signatures are checked when it has any: `verified` (one verifies against the key its `kid`
 *   names), `unverified` (no signature, or only keys this node cannot resolve without fetching: a `kid` that is not
 *   a DID with its key in it), `invalid` (a signature by a resolvable key that does not verify: the card was changed
 *   or forged, and is refused).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { generateAgentCardSignature, verifyAgentCardSignature, type AgentCard } from "@a2a-js/sdk";
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

/** The `kid` of a signature's protected header, when it has a readable one. */
function kidOf(signature: AgentCard["signatures"][number]): string | undefined {
  if (typeof signature?.protected !== "string") return undefined;
  const header = parseJson(Buffer.from(signature.protected, "base64url").toString("utf8"), { maxDepth: 8 });
  if (!header.ok || typeof header.value !== "object" || header.value === null) return undefined;
  const kid = (header.value as { kid?: unknown }).kid;
  return typeof kid === "string" ? kid : undefined;
}

/** Checks an external card's signatures (see the module comment for what each status means). */
export async function checkAgentCardSignatures(card: AgentCard): Promise<CardSignatureCheck> {
  const signatures = Array.isArray(card.signatures) ? card.signatures : [];
  let sawResolvable = false;
  for (const signature of signatures) {
    const kid = kidOf(signature);
    const key = kid === undefined ? undefined : publicKeyOfDid(kid);
    if (!key) continue;
    sawResolvable = true;
    try {
      // One signature at a time: the SDK's verifier accepts a card if ANY signature verifies.
      await verifyAgentCardSignature(async () => key)({ ...card, signatures: [signature] });
      return { status: "verified", signedBy: kid! };
    } catch {
      // this one does not verify; another may
    }
  }
  return { status: sawResolvable ? "invalid" : "unverified" };
}
