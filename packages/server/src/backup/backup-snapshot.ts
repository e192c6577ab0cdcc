/**
 * @module backup/backup-snapshot
 * The folder a backup archives, taken from a node while it serves:
 * - `kai.db`: SQLite's `VACUUM INTO` on a read-only connection of its own, in a worker thread (vacuum-into-worker.ts). It reads inside one read transaction,
 *   so the copy is the database at one instant (WAL included) however busy the server is, and writers are never
 *   blocked (WAL readers do not block them). The copy is compact and has no WAL of its own.
 * - `node-key.pub.pem`: the node's public key (the private half is in the vault, inside `kai.db`, still sealed).
 * - `audit.key`: the vault audit log's MAC key (vault/key-files.ts), without which no restored instance can verify
 *   or continue the copied audit chain; it is inside the encrypted archive only.
 * - `blobs/<sha256>` with `withArtifacts`: the bytes of every artifact the snapshot's metadata names, as the blob
 *   store keeps them (encrypted at rest stays encrypted). Blobs never change once stored, so reading them after the
 *   database snapshot is consistent with it; a blob deleted in between fails the backup (take it again).
 * A node on PostgreSQL gets the same folder, its `kai.db` copied through the store contracts (postgres-snapshot.ts).
 * Then the snapshot is opened as a store and counted kind by kind (storage/copy/inventory.ts) for the manifest, and its
 * vault header says how the vault is unsealed (a passphrase, or the node's `vault.key`, which no backup carries).
 */
import { copyFile, mkdir, rm } from "node:fs/promises";
import { createWriteStream, existsSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { BackupCounts, BackupVaultUnseal } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { BlobStore } from "../artifacts/blob-store.js";
import { NODE_KEY_SECRET, PUBLIC_KEY_FILE } from "../identity/node-key.js";
import { auditKeyPath } from "../vault/key-files.js";
import { parseStoredKdf } from "../vault/crypto/kdf.js";
import { openStore } from "../storage/index.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import { serviceTotal, takeInventory, type Inventory } from "../storage/copy/inventory.js";
import { SQLITE_FILE } from "../storage/copy/sqlite-source.js";
import { snapshotPostgres } from "./postgres-snapshot.js";
import { vacuumInto } from "./vacuum-into-worker.js";

const PAGE = 500;

export interface SnapshotOptions {
  /** The node's data directory (holds `kai.db` and `node-key.pub.pem`). */
  dataDir: string;
  /** Where the node keeps `audit.key` (its `vault.keyDir`; default the data directory). */
  keyDir: string;
  /** An empty folder to fill. */
  into: string;
  /** The blob store's backend (not the encrypting wrapper): set to carry the artifacts' bytes. */
  blobs?: BlobStore;
  /** The node's store when it runs on PostgreSQL: copied through the store contracts (postgres-snapshot.ts). */
  postgres?: StorageBackend;
}

export interface Snapshot {
  counts: BackupCounts;
  vaultUnseal: BackupVaultUnseal;
}

/** Fills `into` with the node's snapshot; answers its counts and how its vault is unsealed. */
export async function takeSnapshot(options: SnapshotOptions): Promise<Snapshot> {
  if (options.postgres) {
    await snapshotPostgres(options.postgres, options.into);
  } else {
    const source = join(options.dataDir, SQLITE_FILE);
    if (!existsSync(source)) throw new ApiError("not_found", `${source} does not exist`);
    await vacuumInto(source, join(options.into, SQLITE_FILE));
    await copyFile(join(options.dataDir, PUBLIC_KEY_FILE), join(options.into, PUBLIC_KEY_FILE));
  }
  const auditKey = auditKeyPath(options.keyDir);
  if (existsSync(auditKey)) await copyFile(auditKey, join(options.into, "audit.key"));

  const store = await openStore({ kind: "sqlite", path: join(options.into, SQLITE_FILE), checkpointIntervalMs: 0 });
  try {
    // A backup that cannot be restored is refused now rather than found out at the worst time (copy-storage.ts).
    const header = await store.vaultStore().getHeader();
    if (!header || !(await store.vaultStore().getSecret(NODE_KEY_SECRET))) {
      throw new ApiError("conflict", "the node key is not sealed in the vault yet: unlock the vault once (kai vault unlock), then take the backup");
    }
    const inventory = await takeInventory(store, []);
    const blobs = options.blobs ? await copyBlobs(store, options.blobs, join(options.into, "blobs")) : 0;
    // A KDF row this code cannot read is not a key file's: the vault then asks for its passphrase (vault-header.ts).
    return { counts: countsOf(inventory, blobs), vaultUnseal: parseStoredKdf(header.kdf)?.name === "key-file" ? "key-file" : "passphrase" };
  } finally {
    await store.close();
    // Closing the last connection checkpoints and removes these; never archive them if one stayed.
    await Promise.all(["-wal", "-shm"].map((suffix) => rm(join(options.into, `${SQLITE_FILE}${suffix}`), { force: true })));
  }
}

/** Writes every artifact's blob (once per digest) into `dir`; answers how many. */
async function copyBlobs(store: StorageBackend, blobs: BlobStore, dir: string): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const done = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await store.artifactStore().listArtifacts({ limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    for (const artifact of page.artifacts) {
      if (done.has(artifact.sha256)) continue;
      const bytes = await blobs.read(artifact.sha256);
      if (!bytes) throw new ApiError("conflict", `the bytes of artifact ${artifact.id} were deleted while the backup was taken: take it again`);
      await pipeline(bytes, createWriteStream(join(dir, artifact.sha256), { mode: 0o600 }));
      done.add(artifact.sha256);
    }
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  return done.size;
}

/** The manifest's counts from a store's inventory. */
export function countsOf(inventory: Inventory, blobs: number): BackupCounts {
  return {
    services: serviceTotal(inventory),
    tokens: inventory.tokens,
    secrets: inventory.secrets,
    secretVersions: inventory.secretVersions,
    auditEntries: inventory.auditEntries,
    peers: inventory.peers,
    imports: inventory.imports,
    users: inventory.identity.users,
    roles: inventory.identity.roles,
    totpFactors: inventory.identity.totpFactors,
    recoveryCodes: inventory.identity.recoveryCodes,
    passkeys: inventory.identity.passkeys,
    sessions: inventory.identity.sessions,
    securityEvents: inventory.identity.securityEvents,
    tasks: inventory.tasks,
    taskEvents: inventory.taskEvents,
    artifacts: inventory.data.artifacts,
    prompts: inventory.data.prompts,
    promptVersions: inventory.data.promptVersions,
    memories: inventory.data.memories,
    pushConfigs: inventory.data.pushConfigs,
    pluginInstalls: inventory.data.pluginInstalls,
    blobs,
  };
}
