/**
 * @module klp/node-identity
 * The node's KLP identity. It is the same Ed25519 key that signs the node's access tokens
 * (`<data-dir>/node-key.pem`, mode 0600, see auth/node-key.ts): one key per node means one identity to
 * pin, back up and rotate, and a DID that a peer can match against the tokens the node issues.
 * The PEM stays where it is, as it is; it is not (yet) wrapped by the vault, because tokens must be
 * verifiable before anyone unlocks the vault (see docs/architecture/klp.md, "Node identity").
 */
import { klp } from "@kai/protocol";
import type { NodeKey } from "../auth/node-key.js";

/** The KLP key pair (32-byte seed + DID) of a node key. */
export function klpIdentityFromNodeKey(key: NodeKey): klp.KlpKeyPair {
  // Node exports an Ed25519 private key as a JWK whose `d` is the RFC 8032 seed, exactly what KLP signs with.
  const jwk = key.privateKey.export({ format: "jwk" });
  const seed = typeof jwk.d === "string" ? klp.fromBase64Url(jwk.d) : undefined;
  if (seed?.length !== 32) throw new Error("the node key is not an Ed25519 private key");
  const identity = klp.keyPairFromSeed(seed);
  seed.fill(0);
  return identity;
}
