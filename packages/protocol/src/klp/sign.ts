/**
 * @module klp/sign
 * Building, signing and verifying envelopes. The signed bytes are the UTF-8 JCS text of the envelope
 * without its `signature` member, so every field (nested ones included) is covered and any honest
 * re-serialisation (key order, whitespace, number spelling) keeps the signature valid.
 */
import { randomBytes } from "@noble/curves/utils.js";
import { canonicalBytes } from "./jcs.js";
import { fromBase64Url, toBase64Url } from "./encoding.js";
import { publicKeyFromDid } from "./did.js";
import { signBytes, verifyBytes, type KlpKeyPair } from "./keys.js";
import { KLP_PROTOCOL, type KlpEnvelope, type KlpMetadata, type KlpRouteHop, type KlpTokenGrant, type UnsignedKlpEnvelope } from "./envelope.js";
import type { KlpMessageType, KlpPayload } from "./payloads.js";

/** A random UUID v4 (RFC 9562 §5.4), from the runtime's CSPRNG via @noble. */
export function newMessageId(): string {
  const bytes = randomBytes(16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The exact bytes a signature covers: JCS of the envelope minus `signature`. */
export function signingInput(envelope: Record<string, unknown>): Uint8Array {
  const { signature: _signature, ...rest } = envelope;
  return canonicalBytes(rest);
}

export function signEnvelope(unsigned: UnsignedKlpEnvelope, keyPair: KlpKeyPair): KlpEnvelope {
  if (unsigned.from !== keyPair.did) throw new TypeError("envelope.from must be the signer's DID");
  const signature = toBase64Url(signBytes(keyPair.secretKey, signingInput(unsigned)));
  return { ...unsigned, signature };
}

/**
 * True when `signature` is a valid Ed25519 signature by the key in `from` over the signing input.
 * Takes the envelope as received (not a schema-parsed copy) so that nothing the sender signed is
 * dropped before checking.
 */
export function verifyEnvelope(envelope: Record<string, unknown>): boolean {
  const { from, signature } = envelope;
  if (typeof from !== "string" || typeof signature !== "string") return false;
  const publicKey = publicKeyFromDid(from);
  const sig = fromBase64Url(signature);
  if (!publicKey || sig?.length !== 64) return false;
  let input: Uint8Array;
  try {
    input = signingInput(envelope);
  } catch {
    return false;
  }
  return verifyBytes(publicKey, input, sig);
}

export interface CreateEnvelopeInput<T extends KlpMessageType> {
  type: T;
  to: string;
  payload: KlpPayload<T>;
  metadata?: KlpMetadata;
  route?: KlpRouteHop[];
  auth?: KlpTokenGrant;
  /** Defaults to a fresh UUID v4. */
  id?: string;
  /** Defaults to now. */
  timestamp?: Date;
}

/** Builds and signs an envelope from `keyPair`; optional members are left out, never set to undefined. */
export function createEnvelope<T extends KlpMessageType>(input: CreateEnvelopeInput<T>, keyPair: KlpKeyPair): KlpEnvelope {
  const unsigned: UnsignedKlpEnvelope = {
    protocol: KLP_PROTOCOL,
    id: input.id ?? newMessageId(),
    type: input.type,
    from: keyPair.did,
    to: input.to,
    timestamp: (input.timestamp ?? new Date()).toISOString(),
    payload: input.payload as Record<string, unknown>,
    ...(input.metadata ? { metadata: input.metadata } : {}),
    ...(input.route ? { route: input.route } : {}),
    ...(input.auth ? { auth: input.auth } : {}),
  };
  return signEnvelope(unsigned, keyPair);
}
