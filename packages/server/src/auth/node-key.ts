/**
 * @module auth/node-key
 * The node's Ed25519 identity key, kept in `<dataDir>/node-key.pem` (mode 0600). It signs the node's
 * access tokens (JWT, EdDSA) and, later, its KLP messages.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, createHash, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";

export interface NodeKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Short stable identifier of the key (first 16 hex chars of SHA-256 of the raw public key). */
  keyId: string;
}

export function loadOrCreateNodeKey(dataDir: string): NodeKey {
  const file = join(dataDir, "node-key.pem");
  let privateKey: KeyObject;
  if (existsSync(file)) {
    privateKey = createPrivateKey(readFileSync(file));
    if (privateKey.asymmetricKeyType !== "ed25519") throw new Error(`${file} is not an Ed25519 private key`);
  } else {
    privateKey = generateKeyPairSync("ed25519").privateKey;
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
  }
  const publicKey = createPublicKey(privateKey);
  const raw = publicKey.export({ format: "jwk" }).x ?? "";
  const keyId = createHash("sha256").update(raw).digest("hex").slice(0, 16);
  return { privateKey, publicKey, keyId };
}
