/**
 * @module backup/backup-schedule
 * Scheduled backups (`backup.schedule`, `backup.retain`): a singleton job (cluster/singleton-jobs.ts), so that a
 * node of several instances takes one backup per interval, not one per instance. Each run takes a backup with
 * `backup.passphrase`, marked as scheduled in its header, and then keeps the newest `retain` scheduled backups (in the
 * backup directory and offsite): a backup someone asked for is not the schedule's to delete. A failed run is logged
 * and the next interval tries again; runs never overlap (the service takes one backup at a time).
 */
import type { SingletonJob } from "../cluster/singleton-jobs.js";
import type { Logger } from "../logging/logger.js";
import type { BackupService } from "./backup-service.js";

export interface BackupScheduleOptions {
  service: BackupService;
  /** Seconds between backups. */
  intervalSeconds: number;
  retain: number;
  withArtifacts: boolean;
  logger: Logger;
}

export function backupScheduleJob(options: BackupScheduleOptions): SingletonJob & { runOnce(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  const runOnce = async (): Promise<void> => {
    try {
      const taken = await options.service.create({ withArtifacts: options.withArtifacts, scheduled: true });
      const pruned = await options.service.prune(options.retain);
      options.logger.info({ backup: taken.id, pruned: pruned.length }, "scheduled backup taken");
    } catch (error) {
      options.logger.error({ err: error }, "the scheduled backup failed");
    }
  };
  return {
    name: "backups",
    start: () => {
      timer = setInterval(() => void runOnce(), options.intervalSeconds * 1000);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
      timer = null;
    },
    runOnce,
  };
}
