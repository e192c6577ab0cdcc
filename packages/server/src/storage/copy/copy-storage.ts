/**
 * @module storage/copy/copy-storage
 * `copyStorage`: moves a node's data from its SQLite data directory into another backend (PostgreSQL, for
 * `kai storage copy`), then verifies the copy kind by kind. The steps, and why in this order:
 * 1. Source checks, before anything is opened for writing: `<from>/kai.db` exists and no server has it
 *    open (sqlite-source.ts); the node key's private half is sealed in the vault, never a plain file
 *    (source-identity.ts).
 * 2. The target must be empty (inventory.ts). A non-empty target is refused, unless `force`: then it is
 *    emptied completely first (erase-target.ts) and the report says what was there.
 * 3. Copy: the node identity (the public key, into the settings), the audit key's check value
 *    (source-audit-key.ts), the vault, the settings with a NEW registry epoch, the service records, the
 *    tokens, the federation, sign-in's users, sessions, factors and security log, kCore's tasks, artifact
 *    metadata, prompts, memories, A2A push configs and the desired plugin installs with their packages (copy-*.ts). Identity and vault go first so that an instance started on a
 *    half-copied target never creates an identity, an audit key or a vault of its own.
 * 4. Verify (verify-copy.ts). A difference is reported (`ok: false`), not thrown: the caller prints the table.
 * A failure part-way leaves a target that is not empty; running the copy again with `force` repairs it.
 */
import { createPublicKey, randomUUID } from "node:crypto";
import { parseJson } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import { NODE_KEY_SECRET, NodeKey } from "../../identity/node-key.js";
import { didOfNodeKey } from "../../identity/node-identity.js";
import { vaultKeyPath } from "../../vault/key-files.js";
import type { StorageBackend } from "../contracts/storage-backend.js";
import { openStore, type OpenStoreOptions } from "../index.js";
import { copyServices, copyTokens } from "./copy-node.js";
import { copyFederation } from "./copy-federation.js";
import { copyTasks } from "./copy-tasks.js";
import { copyArtifacts } from "./copy-artifacts.js";
import { copyPrompts } from "./copy-prompts.js";
import { copyMemories } from "./copy-memories.js";
import { copyPushConfigs } from "./copy-push-configs.js";
import { copyPluginInstalls } from "./copy-plugin-installs.js";
import { copyVault } from "./copy-vault.js";
import { copyIdentity } from "./copy-identity.js";
import { readSourceRecoveryCodes, type SourceRecoveryCodes } from "./source-recovery-codes.js";
import { eraseTarget } from "./erase-target.js";
import { contentsOf, takeInventory, type Inventory } from "./inventory.js";
import { REGISTRY_EPOCH_META } from "../../registry/registry-epoch.js";
import { maskUrl, scrubPassword } from "./mask-url.js";
import { readSourceAuditKey, type SourceAuditKey } from "./source-audit-key.js";
import { IDENTITY_PUBLIC_KEY_META, readSourceIdentity } from "./source-identity.js";
import { inspectSqliteSource } from "./sqlite-source.js";
import { verifyCopy, type VerificationRow } from "./verify-copy.js";

/** The registry's epoch setting: never copied, the target gets a new one. */
export { REGISTRY_EPOCH_META };

export interface CopyStorageOptions {
  /** The source node's data directory (holds `kai.db`, `node-key.pub.pem`, `audit.key`). */
  from: string;
  /** Where the source keeps `audit.key` and `vault.key` when not in `from` (its `vault.keyDir`). */
  keyDir?: string;
  /** The target backend, as `openStore` takes it. */
  to: OpenStoreOptions;
  /** Empty a target that is not empty instead of refusing it (everything in it is lost). */
  force?: boolean;
  /** One line per step, for humans (the CLI prints them on stderr). */
  onProgress?: (message: string) => void;
}

export interface CopyReport {
  /** True when every verification row agrees. */
  ok: boolean;
  from: string;
  /** The target, password masked. */
  to: string;
  /** The node's DID (the same on both sides). */
  did: string;
  epoch: { source: string | null; target: string };
  /** What the target held before `force` emptied it (empty when it was empty). */
  overwritten: string[];
  rows: VerificationRow[];
  /** What the operator still has to do by hand (key files to carry to the instances). */
  notes: string[];
}

/** The target as messages name it: never with its password. */
export function describeTarget(to: OpenStoreOptions): string {
  switch (to.kind) {
    case "postgres":
      return maskUrl(to.url);
    case "sqlite":
      return `sqlite ${to.path}`;
    case "memory":
      return "memory";
  }
}

export async function copyStorage(options: CopyStorageOptions): Promise<CopyReport> {
  const progress = options.onProgress ?? (() => undefined);
  const targetName = describeTarget(options.to);
  const source = inspectSqliteSource(options.from);
  const identity = readSourceIdentity(options.from);
  const auditKey = readSourceAuditKey(options.keyDir ?? options.from);
  progress(`source: ${source.path} (node ${identity.did})`);

  const sourceStore = await openStore({ kind: "sqlite", path: source.path, checkpointIntervalMs: 0 });
  let targetStore: StorageBackend | null = null;
  try {
    const header = await sourceStore.vaultStore().getHeader();
    if (!header || !(await sourceStore.vaultStore().getSecret(NODE_KEY_SECRET))) {
      throw new ApiError(
        "conflict",
        `the node key is not sealed in the source's vault: start the node once with its vault unlocked, stop it, then copy again`,
      );
    }
    const copiedMeta = new Map([...source.meta].filter(([key]) => key !== REGISTRY_EPOCH_META && key !== IDENTITY_PUBLIC_KEY_META));
    const metaKeys = [...copiedMeta.keys(), REGISTRY_EPOCH_META, IDENTITY_PUBLIC_KEY_META];

    progress(`target: ${targetName}`);
    targetStore = await openTarget(options.to, targetName);
    const before = await takeInventory(targetStore, metaKeys);
    const overwritten = contentsOf(before);
    if (overwritten.length > 0) {
      if (!options.force) {
        throw new ApiError("conflict", `the target ${targetName} is not empty (${overwritten.join(", ")}): use --force to empty it and copy anyway`);
      }
      progress(`target holds ${overwritten.join(", ")}: emptying it (--force)`);
      await targetStore.close();
      targetStore = null;
      await eraseTarget(options.to);
      targetStore = await openTarget(options.to, targetName);
      const left = contentsOf(await takeInventory(targetStore, metaKeys));
      if (left.length > 0) throw new ApiError("internal", `the target ${targetName} still holds ${left.join(", ")} after it was emptied`);
    }

    // 1. Identity and vault first (see the module header).
    await targetStore.setMeta(IDENTITY_PUBLIC_KEY_META, identity.publicKeyPem);
    progress(`identity: public key of ${identity.did} stored as ${IDENTITY_PUBLIC_KEY_META}`);
    await claimAuditKey(targetStore, auditKey, targetName);
    const vault = await copyVault(sourceStore.vaultStore(), targetStore.vaultStore(), progress);
    // 2. Settings; the registry epoch is new, because the target's revisions are its own (copy-node.ts).
    for (const [key, value] of copiedMeta) await targetStore.setMeta(key, value);
    const targetEpoch = randomUUID();
    await targetStore.setMeta(REGISTRY_EPOCH_META, targetEpoch);
    progress(`settings: ${copiedMeta.size} copied, new registry epoch ${targetEpoch}`);
    // 3. Registry, tokens, federation, sign-in, the data services.
    await copyRecords(sourceStore, targetStore, readSourceRecoveryCodes(source.path), progress);

    progress("verifying");
    const [sourceInventory, targetInventory] = await Promise.all([takeInventory(sourceStore, metaKeys), takeInventory(targetStore, metaKeys)]);
    const rows = verifyCopy(sourceInventory, targetInventory, {
      copied: copiedMeta,
      epochKey: REGISTRY_EPOCH_META,
      sourceEpoch: source.meta.get(REGISTRY_EPOCH_META) ?? null,
      identityKey: IDENTITY_PUBLIC_KEY_META,
      sourceDid: identity.did,
      didOf,
    });
    if (auditKey.check !== null) {
      // Claiming again answers what the target recorded (or, for a store that records nothing, our own).
      const recorded = await targetStore.vaultStore().claimAuditKey(auditKey.check);
      rows.push({ kind: "audit key (check)", source: auditKey.check.slice(0, 16), target: recorded.slice(0, 16), ok: recorded === auditKey.check });
    }
    return {
      ok: rows.every((row) => row.ok),
      from: options.from,
      to: targetName,
      did: identity.did,
      epoch: { source: source.meta.get(REGISTRY_EPOCH_META) ?? null, target: targetEpoch },
      overwritten,
      rows,
      notes: notesFor(options.keyDir ?? options.from, auditKey, header.kdf, vault.auditEntries, sourceInventory),
    };
  } finally {
    await Promise.allSettled([sourceStore.close(), targetStore?.close()]);
  }
}

/**
 * Step 3 on its own: every kind after the identity, the vault and the settings, store to store. Also used by backup/
 * to snapshot a node on PostgreSQL into a SQLite file (the source is then any backend; its unused recovery codes are
 * read by the caller, as the contract cannot list them).
 */
export async function copyRecords(
  sourceStore: StorageBackend,
  targetStore: StorageBackend,
  recoveryCodes: Map<string, SourceRecoveryCodes>,
  progress: (message: string) => void,
): Promise<void> {
  await copyServices(sourceStore, targetStore, progress);
  await copyTokens(sourceStore, targetStore, progress);
  await copyFederation(sourceStore.federationStore(), targetStore.federationStore(), progress);
  await copyIdentity(sourceStore.identityStore(), targetStore.identityStore(), recoveryCodes, progress);
  await copyTasks(sourceStore.taskStore(), targetStore.taskStore(), progress);
  await copyArtifacts(sourceStore.artifactStore(), targetStore.artifactStore(), progress);
  await copyPrompts(sourceStore.promptStore(), targetStore.promptStore(), progress);
  await copyMemories(sourceStore.semanticMemoryStore(), targetStore.semanticMemoryStore(), progress);
  // After the tasks: a push config belongs to a task.
  await copyPushConfigs(sourceStore.a2aPushStore(), targetStore.a2aPushStore(), progress);
  await copyPluginInstalls(sourceStore.pluginInstallStore(), targetStore.pluginInstallStore(), progress);
}

async function openTarget(to: OpenStoreOptions, name: string): Promise<StorageBackend> {
  try {
    return await openStore(to);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ApiError("storage_unavailable", `cannot open the target ${name}: ${to.kind === "postgres" ? scrubPassword(message, to.url) : message}`);
  }
}

function didOf(pem: string): string | null {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === "ed25519" ? didOfNodeKey(new NodeKey(key)) : null;
  } catch {
    return null;
  }
}

/**
 * Records the source's audit key (its check value) as the one the target's audit log is written with, before
 * any entry is copied (source-audit-key.ts). A target that records another one was not emptied: refused.
 */
async function claimAuditKey(target: StorageBackend, auditKey: SourceAuditKey, name: string): Promise<void> {
  if (auditKey.check === null) return;
  const recorded = await target.vaultStore().claimAuditKey(auditKey.check);
  if (recorded !== auditKey.check) {
    throw new ApiError("conflict", `the target ${name} records another node's audit key: use --force to empty it and copy anyway`);
  }
}

/** The files that stay with the source and that every instance of the node needs. */
function notesFor(keyDir: string, auditKey: SourceAuditKey, kdfText: string, auditEntries: number, inventory: Inventory): string[] {
  const notes: string[] = [];
  if (auditKey.check !== null) {
    notes.push(
      `copy ${auditKey.path} into the key directory of every instance (vault.keyDir or KAI_VAULT_KEY_DIR; default its data directory), mode 0600: ` +
        `the vault's audit log is MAC-chained with it${auditEntries > 0 ? ` (${auditEntries} entries)` : ""}, and the target now accepts only this key`,
    );
  } else if (auditEntries > 0) {
    notes.push(`${auditKey.path} is missing: the ${auditEntries} copied audit entries cannot be verified by any instance (pass --key-dir if the node kept its keys elsewhere)`);
  }
  const kdf = parseJson(kdfText);
  const kdfName = kdf.ok && typeof kdf.value === "object" && kdf.value !== null ? (kdf.value as { name?: unknown }).name : undefined;
  if (kdfName === "key-file") {
    notes.push(
      `the vault opens with ${vaultKeyPath(keyDir)} (development default): every instance needs a copy of it too; ` +
        "better move the source to a passphrase first (kai vault rekey) and start the instances with KAI_VAULT_PASSPHRASE",
    );
  } else {
    notes.push("the vault opens with the same passphrase as before (KAI_VAULT_PASSPHRASE on every instance, or kai vault unlock)");
  }
  if (inventory.tokens > 0) notes.push("tokens issued by the node (admin.token included) stay valid: the node key and the token rows were copied");
  if (inventory.identity.sessions > 0) {
    notes.push("sign-in sessions were copied: people and agents stay signed in; sign-ins that were half-way (one-time challenges) must start again");
  }
  return notes;
}
