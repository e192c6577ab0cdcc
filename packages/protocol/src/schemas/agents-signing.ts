/**
 * @module agents-signing
 * Signing and checking an agent manifest (issue 16). The signature is a detached Ed25519 signature by the key in
 * the manifest's `did`, over the UTF-8 JCS text of the manifest exactly as sent minus `signature` (the same
 * signing input as KLP documents, klp/signed-document.ts). "As sent" matters: the node verifies the JSON it
 * received before applying any defaults, so a client may leave optional fields out and still sign correctly.
 * `issuedAt` is part of what is signed, which is what lets the node refuse an old manifest replayed later.
 */
import type { KlpKeyPair } from "../klp/keys.js";
import { signDocument, verifyDocument } from "../klp/signed-document.js";
import type { AgentManifestInput, SignedAgentManifestInput } from "./agents.js";

/** A manifest to sign: `did` and `issuedAt` may be left out (they are filled from the key and the clock). */
export type UnsignedAgentManifest = Omit<AgentManifestInput, "did" | "issuedAt"> & { did?: string; issuedAt?: string; signature?: never };

/**
 * Signs `manifest` with `keyPair`: fills `did` (the key's) and `issuedAt` (now) when absent and adds `signature`.
 * Throws when `manifest.did` names another key (the node would refuse the signature anyway).
 */
export function signAgentManifest(manifest: UnsignedAgentManifest, keyPair: KlpKeyPair, now: Date = new Date()): SignedAgentManifestInput {
  if (manifest.did !== undefined && manifest.did !== keyPair.did) {
    throw new Error(`the manifest names ${manifest.did}, but the key is ${keyPair.did}`);
  }
  const filled = { ...manifest, did: keyPair.did, issuedAt: manifest.issuedAt ?? now.toISOString() } as Record<string, unknown>;
  return signDocument(filled, keyPair) as unknown as SignedAgentManifestInput;
}

/**
 * True when `document` (a manifest as received, before any parsing) carries a valid `signature` by the key its own
 * `did` names. Never throws: anything malformed is simply not verified. It does not check the manifest's shape or
 * age; the node does both (schema, then `issuedAt`).
 */
export function verifyAgentManifest(document: unknown): boolean {
  if (document === null || typeof document !== "object" || Array.isArray(document)) return false;
  const did = (document as { did?: unknown }).did;
  return typeof did === "string" && verifyDocument(document as Record<string, unknown>, did);
}
