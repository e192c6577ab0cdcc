/**
 * @module storage/copy/source-identity
 * The node identity `kai storage copy` carries over: the public half of the node key, from
 * `<data-dir>/node-key.pub.pem` (identity/node-key.ts), which the copy writes into the target's settings
 * as PEM under `identity.publicKey` (a cluster instance has no data directory of the node to read it from).
 * The private half is never written anywhere by the copy: it travels sealed in the vault (the secret
 * `#system/node-key`), whose bytes the copy moves unchanged. A node whose private key is still the plain file
 * `node-key.pem` (its vault was never unlocked since) is refused: its key would have to be stored in clear
 * in the database, and the database is exactly what many machines can read.
 */
import { createPublicKey } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiError } from "../../errors.js";
import { NodeKey, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, PUBLIC_KEY_META } from "../../identity/node-key.js";
import { didOfNodeKey } from "../../identity/node-identity.js";

/** The settings key a target keeps the node's public key under (PEM, SPKI): where a cluster instance reads it (identity/node-key.ts). */
export const IDENTITY_PUBLIC_KEY_META = PUBLIC_KEY_META;

export interface SourceIdentity {
  /** PEM (SPKI) of the node's Ed25519 public key. */
  publicKeyPem: string;
  did: string;
}

/** Reads the node's public key; refuses a node whose private key is not sealed in its vault yet. */
export function readSourceIdentity(dataDir: string): SourceIdentity {
  if (existsSync(join(dataDir, PRIVATE_KEY_FILE))) {
    throw new ApiError(
      "conflict",
      `the node key is still the plain file ${join(dataDir, PRIVATE_KEY_FILE)}: it moves into the vault the first time the vault is unlocked. ` +
        `Start the node once with its vault unlocked (kai serve, then kai vault unlock, or KAI_VAULT_PASSPHRASE), stop it, then copy again`,
    );
  }
  const path = join(dataDir, PUBLIC_KEY_FILE);
  if (!existsSync(path)) {
    throw new ApiError("not_found", `${path} does not exist: the source has no node identity (was the node ever started?)`);
  }
  const publicKey = createPublicKey(readFileSync(path));
  if (publicKey.asymmetricKeyType !== "ed25519") throw new ApiError("validation_failed", `${path} is not an Ed25519 public key`);
  return {
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    did: didOfNodeKey(new NodeKey(publicKey)),
  };
}
