/**
 * @module identity/node-key
 * The node's Ed25519 key: it signs the node's access tokens (JWT, EdDSA) and every KLP message and
 * statement, and its public half is the node's DID (identity/node-identity.ts). This is who the node is,
 * not who is calling it (auth/ holds request principals): so identity/ may read the vault, and auth/ never
 * does, which keeps vault/ → auth/ one way. The private key is sealed in the vault (the secret
 * `#system/node-key`, which no token can address) whenever the vault is unlocked; only the public key is a
 * plain file (`<data-dir>/node-key.pub.pem`), which is all that verifying tokens needs. So a node whose vault
 * is locked still authenticates requests (and can be unlocked), but mints no token and speaks no KLP until
 * it is unlocked; locking the vault drops the private key from memory again.
 *
 * Before the vault was ever unlocked (or on a node created by an earlier version) the private key is
 * `<data-dir>/node-key.pem`, mode 0600; it is moved into the vault, and the file deleted, on the first
 * unlock. In the development default the vault unlocks itself at start, so that happens on first start.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config/layers/config-error.js";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import type { NodeSettingsStore } from "../storage/contracts/node-store.js";
import { SERVER_ACTOR, SYSTEM_SECRET_PREFIX, type VaultService } from "../vault/vault-service.js";

export const NODE_KEY_SECRET = `${SYSTEM_SECRET_PREFIX}node-key`;
export const PRIVATE_KEY_FILE = "node-key.pem";
export const PUBLIC_KEY_FILE = "node-key.pub.pem";
/** On shared storage (a cluster), the public key lives in the database: every instance is the same node. */
export const PUBLIC_KEY_META = "identity.publicKey";
const CANDIDATE_PREFIX = `${NODE_KEY_SECRET}-candidate/`;

export class NodeKey {
  readonly keyId: string;
  private current: KeyObject | null = null;
  private readonly listeners = new Set<(available: boolean) => void>();

  constructor(readonly publicKey: KeyObject) {
    const raw = publicKey.export({ format: "jwk" }).x ?? "";
    // Short stable identifier of the key (first 16 hex chars of SHA-256 of the raw public key).
    this.keyId = createHash("sha256").update(raw).digest("hex").slice(0, 16);
  }

  /** The private key; refused with `vault_locked` while it is sealed in a locked vault. */
  get privateKey(): KeyObject {
    if (!this.current) throw new ApiError("vault_locked", "the node key is sealed in the vault: unlock the vault first (kai vault unlock)");
    return this.current;
  }

  get available(): boolean {
    return this.current !== null;
  }

  /** Tells `listener` when the private key becomes available (true) or is dropped (false). */
  onChange(listener: (available: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal the key holder's */
  set(privateKey: KeyObject | null): void {
    const was = this.available;
    this.current = privateKey;
    if (was !== this.available) for (const listener of this.listeners) listener(this.available);
  }
}

function readPrivate(pem: string | Buffer, where: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`${where} is not an Ed25519 private key`);
  return key;
}

function writePublic(path: string, publicKey: KeyObject): void {
  writeFileSync(path, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644 });
}

/**
 * Opens the node key: from the vault when it is unlocked, else from the plain file if there still is one,
 * else only its public half (the private one follows the vault's next unlock). Creates it on first start.
 */
export async function openNodeKey(dataDir: string, vault: VaultService, logger: Logger): Promise<NodeKey> {
  const privatePath = join(dataDir, PRIVATE_KEY_FILE);
  const publicPath = join(dataDir, PUBLIC_KEY_FILE);
  let plain: KeyObject | null = existsSync(privatePath) ? readPrivate(readFileSync(privatePath), privatePath) : null;
  let publicKey: KeyObject;
  if (plain) {
    publicKey = createPublicKey(plain);
    if (!existsSync(publicPath)) writePublic(publicPath, publicKey);
  } else if (existsSync(publicPath)) {
    publicKey = createPublicKey(readFileSync(publicPath));
    if (publicKey.asymmetricKeyType !== "ed25519") throw new Error(`${publicPath} is not an Ed25519 public key`);
  } else {
    // First start: a new key. It goes straight into the vault when the vault is open, else to a 0600 file.
    // The public file is written only once the private key is kept somewhere (file now, or vault below).
    plain = generateKeyPairSync("ed25519").privateKey;
    publicKey = createPublicKey(plain);
    if (!vault.isUnlocked) {
      writeFileSync(privatePath, plain.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
      chmodSync(privatePath, 0o600);
    }
  }
  const key = new NodeKey(publicKey);
  const expected = publicKey.export({ type: "spki", format: "der" });

  /** With the vault open: seal a plain key into it (then delete the file), or take the sealed one out. */
  const load = async (): Promise<void> => {
    if (plain) {
      await vault.putSecret(NODE_KEY_SECRET, { value: plain.export({ type: "pkcs8", format: "pem" }).toString(), description: "the node key (tokens, KLP)" }, SERVER_ACTOR);
      rmSync(privatePath, { force: true });
      key.set(plain);
      plain = null;
      logger.info("node key sealed in the vault");
      return;
    }
    const stored = await readSecret(vault, NODE_KEY_SECRET);
    // The data directory names a node the database does not hold: said as what to do, not as `secret not found`.
    if (stored === null) throw notThisNodesDatabase(publicPath, key.keyId, "this node's database holds no node key");
    const sealed = readPrivate(stored, "the vault's node key");
    // A vault from another node (a restored backup, a copied data dir) must not lend us its identity.
    if (!createPublicKey(sealed).export({ type: "spki", format: "der" }).equals(expected)) {
      throw new Error("the node key in the vault does not match node-key.pub.pem");
    }
    key.set(sealed);
  };

  if (plain) key.set(plain);
  if (vault.isUnlocked) await load();
  if (!existsSync(publicPath)) writePublic(publicPath, publicKey);
  vault.onLockChange((unlocked) => {
    if (!unlocked) {
      // The vault locked: forget the private key with it (unless it still lives in a plain file, never sealed).
      if (!plain) key.set(null);
      return;
    }
    load().catch((error: unknown) => logger.error({ err: error }, "the node key could not be taken from the vault"));
  });
  return key;
}

/**
 * The start refused when the data directory's public key file names a node (`keyId`) that the database does not hold
 * (`what`): a node restored or copied into PostgreSQL started without its database (so on an empty SQLite file, or
 * on another, empty database), or a data directory whose database was removed. A configuration error: which database
 * the node opens is a setting (`kai serve` exits 2 with this sentence).
 */
function notThisNodesDatabase(publicPath: string, keyId: string, what: string): ConfigError {
  return new ConfigError(
    `${publicPath} is the public key of node ${keyId}, but ${what}: this is not that node's database. Start it with the database it was ` +
      "restored or copied into (KAI_DATABASE_URL, or storage.kind: postgres and storage.postgres.url in its config); to start a new node here " +
      `instead, move ${PUBLIC_KEY_FILE} away`,
  );
}

function keyIdOf(publicKey: KeyObject): string {
  return new NodeKey(publicKey).keyId;
}

function publicPem(key: KeyObject): string {
  return createPublicKey(key).export({ type: "spki", format: "pem" }).toString();
}

async function readSecret(vault: VaultService, name: string): Promise<string | null> {
  try {
    return (await vault.getSecret(name, SERVER_ACTOR)).value;
  } catch (error) {
    if (error instanceof ApiError && error.code === "not_found") return null;
    throw error;
  }
}

/**
 * The node key on shared storage (several instances, one node): the public key is the database's
 * (`identity.publicKey` in the node settings), the private key the shared vault's. The first instance to start
 * on an empty database creates it; instances starting at the same moment agree through `claimMeta`, and each
 * contender's key is sealed in the vault (as a candidate) BEFORE it claims, so a crash between the claim and the
 * final seal never leaves a public key whose private half is nowhere: the next start promotes the candidate.
 * Needs the vault unlocked on the very first start (a private key is never written to a plain file here: the
 * other instances could not read it).
 */
export async function openSharedNodeKey(settings: NodeSettingsStore, vault: VaultService, logger: Logger, dataDir?: string): Promise<NodeKey> {
  let pem = await settings.getMeta(PUBLIC_KEY_META);
  if (!pem) {
    // An empty database under a data directory that names a node (a restore's or a copy's public key file): a new
    // identity here would silently start an empty node beside that node's files, not the node restored.
    const publicPath = dataDir === undefined ? undefined : join(dataDir, PUBLIC_KEY_FILE);
    if (publicPath !== undefined && existsSync(publicPath)) {
      throw notThisNodesDatabase(publicPath, new NodeKey(createPublicKey(readFileSync(publicPath))).keyId, "the database holds no node");
    }
    if (!vault.isUnlocked) {
      throw new Error("the first start on shared storage creates the node key in the vault: start with the vault unlocked (KAI_VAULT_PASSPHRASE), or copy an existing node with `kai storage copy`");
    }
    const mine = generateKeyPairSync("ed25519").privateKey;
    const minePem = publicPem(mine);
    const pkcs8 = mine.export({ type: "pkcs8", format: "pem" }).toString();
    const candidate = `${CANDIDATE_PREFIX}${keyIdOf(createPublicKey(mine))}`;
    await vault.putSecret(candidate, { value: pkcs8, description: "a node key offered at first start (cluster)" }, SERVER_ACTOR);
    pem = await settings.claimMeta(PUBLIC_KEY_META, minePem);
    if (pem === minePem) {
      await vault.putSecret(NODE_KEY_SECRET, { value: pkcs8, description: "the node key (tokens, KLP)" }, SERVER_ACTOR);
      logger.info("node key created and sealed in the shared vault");
    }
    await vault.deleteSecret(candidate, SERVER_ACTOR).catch(() => undefined);
  }
  const publicKey = createPublicKey(pem);
  if (publicKey.asymmetricKeyType !== "ed25519") throw new Error(`the node settings' ${PUBLIC_KEY_META} is not an Ed25519 public key`);
  const key = new NodeKey(publicKey);
  const expected = publicKey.export({ type: "spki", format: "der" });

  const load = async (): Promise<void> => {
    // The instance that won the first start may still be sealing it: wait a little for it.
    for (let attempt = 0; ; attempt++) {
      let stored = await readSecret(vault, NODE_KEY_SECRET);
      if (stored === null) {
        const offered = await readSecret(vault, `${CANDIDATE_PREFIX}${key.keyId}`);
        if (offered !== null) {
          await vault.putSecret(NODE_KEY_SECRET, { value: offered, description: "the node key (tokens, KLP)" }, SERVER_ACTOR);
          stored = offered;
        }
      }
      if (stored !== null) {
        const sealed = readPrivate(stored, "the vault's node key");
        if (!createPublicKey(sealed).export({ type: "spki", format: "der" }).equals(expected)) {
          throw new Error(`the node key in the vault does not match the node settings' ${PUBLIC_KEY_META}`);
        }
        key.set(sealed);
        return;
      }
      if (attempt >= 50) throw new Error("the node key is not in the shared vault (was the first start interrupted?)");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  if (vault.isUnlocked) await load();
  vault.onLockChange((unlocked) => {
    if (!unlocked) {
      key.set(null);
      return;
    }
    load().catch((error: unknown) => logger.error({ err: error }, "the node key could not be taken from the vault"));
  });
  return key;
}
