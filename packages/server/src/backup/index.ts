/**
 * @module backup
 * Backups of a node (issue 19, docs/operations/backup.md): encrypted, verified snapshots taken while the node
 * serves (backup-service.ts), scheduled with retention (backup-schedule.ts), verified by a scratch restore
 * (backup-verify.ts), copied to an S3-compatible bucket when `backup.offsite` is on (offsite-store.ts), and restored
 * offline onto an empty node, SQLite or PostgreSQL (backup-restore.ts).
 */
import { join, resolve } from "node:path";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import { ApiError } from "../errors.js";
import { openBlobBackend } from "../artifacts/open-artifacts.js";
import { BackupService } from "./backup-service.js";
import { OffsiteStore } from "./offsite-store.js";
import { backupScheduleJob } from "./backup-schedule.js";
import type { SingletonJob } from "../cluster/singleton-jobs.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";

export { BackupService, BACKUP_SUFFIX } from "./backup-service.js";
export { restoreBackup, type RestoreOptions, type RestoreReport } from "./backup-restore.js";
export { verifyBackup } from "./backup-verify.js";
export { readBackupHeader } from "./backup-envelope.js";
export { OffsiteStore } from "./offsite-store.js";

/** The offsite store `backup.offsite` names, or undefined when it is off. */
export function openOffsiteStore(config: Config): OffsiteStore | undefined {
  const offsite = config.backup.offsite;
  return offsite.store === "s3" && offsite.s3.bucket !== undefined ? new OffsiteStore({ ...offsite.s3, bucket: offsite.s3.bucket }) : undefined;
}

/**
 * The backup passphrase from the vault secret `backup.passphraseSecret` names. The vault's own refusals ("secret not
 * found", "vault is locked") say nothing of backups: an operator reading them after `kai backup create` needs the
 * setting named, and what to do. They name the setting, never the secret's path: a failed scheduled backup logs the
 * message, and the path is the operator's to read in the configuration. Codes stay the vault's (404, 503).
 */
async function passphraseFromVault(name: string, readVaultSecret: (name: string) => Promise<string>): Promise<string> {
  try {
    return await readVaultSecret(name);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.code === "not_found") {
      throw new ApiError("not_found", "the vault secret backup.passphraseSecret names is missing: the vault does not hold it. Set it (kai vault set, under the name that setting gives), or give a passphrase");
    }
    if (error.code === "vault_locked") {
      throw new ApiError("vault_locked", "the vault secret backup.passphraseSecret names cannot be read: the vault is locked. Unlock it (kai vault unlock), or give a passphrase");
    }
    throw error;
  }
}

/** The node's backup service and, when `backup.schedule` is on, its singleton job (server.ts adds it). */
export function openBackups(
  config: Config,
  store: StorageBackend,
  logger: Logger,
  readVaultSecret: (name: string) => Promise<string>,
): { service: BackupService; job: SingletonJob | null } {
  const backup = config.backup;
  const offsite = openOffsiteStore(config);
  const service = new BackupService({
    dataDir: config.dataDir,
    keyDir: config.vault.keyDir ? resolve(config.vault.keyDir) : config.dataDir,
    dir: backup.dir !== undefined ? resolve(backup.dir) : join(config.dataDir, "backups"),
    storage: config.storage.kind,
    store,
    blobs: () => openBlobBackend(config),
    ...(backup.passphrase !== undefined ? { passphrase: backup.passphrase } : {}),
    ...(backup.passphraseSecret !== undefined ? { readPassphrase: () => passphraseFromVault(backup.passphraseSecret!, readVaultSecret) } : {}),
    kdfIterations: backup.kdfIterations,
    ...(offsite ? { offsite } : {}),
    logger: logger.child({ part: "backup" }),
  });
  // What a backup killed mid-way left behind goes at start (and before each backup).
  void service.sweepLeftovers();
  const job = backup.schedule === "off"
    ? null
    : backupScheduleJob({ service, intervalSeconds: backup.schedule, retain: backup.retain, withArtifacts: backup.withArtifacts, logger: logger.child({ part: "backup" }) });
  return { service, job };
}
