/**
 * @module identity/node-identity
 * The node's KLP identity (DID and key pair). It is the node key (identity/node-key.ts) that also signs the node's access tokens:
 * one key per node means one identity to pin, back up and rotate, and a DID that a peer can match against
 * the tokens the node issues. The DID comes from the public key, so it is known even while the private key
 * is sealed in a locked vault; signing is refused (`vault_locked`) until the vault is unlocked.
 */
import { klp } from "@kai/protocol";
import type { NodeKey } from "./node-key.js";

/** Where the KLP node gets its key pair: always its DID, the secret half only while it is available. */
export interface KlpKeySource {
  readonly did: string;
  readonly available: boolean;
  /** The key pair; throws ApiError `vault_locked` while the node key is sealed. */
  identity(): klp.KlpKeyPair;
  onChange(listener: (available: boolean) => void): () => void;
}

/** The DID of a node key's public half. */
export function didOfNodeKey(key: NodeKey): string {
  const x = key.publicKey.export({ format: "jwk" }).x;
  const raw = typeof x === "string" ? klp.fromBase64Url(x) : undefined;
  if (raw?.length !== 32) throw new Error("the node key is not an Ed25519 key");
  return klp.didFromPublicKey(raw);
}

/** The KLP key pair (32-byte seed + DID) of a node key's private half. */
export function klpIdentityFromNodeKey(key: NodeKey): klp.KlpKeyPair {
  // Node exports an Ed25519 private key as a JWK whose `d` is the RFC 8032 seed, exactly what KLP signs with.
  const jwk = key.privateKey.export({ format: "jwk" });
  const seed = typeof jwk.d === "string" ? klp.fromBase64Url(jwk.d) : undefined;
  if (seed?.length !== 32) throw new Error("the node key is not an Ed25519 private key");
  const identity = klp.keyPairFromSeed(seed);
  seed.fill(0);
  return identity;
}

/** A key source over the node key: the key pair is derived once per unlock and its seed zeroed on lock. */
export function nodeKeySource(key: NodeKey): KlpKeySource {
  const did = didOfNodeKey(key);
  let cached: klp.KlpKeyPair | null = null;
  key.onChange((available) => {
    if (!available && cached) {
      cached.secretKey.fill(0);
      cached = null;
    }
  });
  return {
    did,
    get available() {
      return key.available;
    },
    identity() {
      cached ??= klpIdentityFromNodeKey(key);
      return cached;
    },
    onChange: (listener) => key.onChange(listener),
  };
}
