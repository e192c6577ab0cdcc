/**
 * @module backup/backup-metrics
 * Backup series on the node's Prometheus registry (docs/operations/metrics.md), read at scrape time, for the alerts an
 * operator sets on backups (deploy/prometheus/kai-alerts.yml): when the newest backup in the backup directory was
 * taken (read from the files themselves, so it survives a restart and counts backups taken by any instance into a
 * shared directory), how often backups are scheduled, how many failed once begun since the node started, and how many
 * could not be copied to the offsite store.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { BackupService } from "./backup-service.js";

/**
 * How long the newest backup's time is kept between scrapes when this instance changed nothing: listing reads every
 * file's header (`retain` may keep thousands), and another instance writing into a shared directory is seen this late.
 */
export const NEWEST_BACKUP_REREAD_MS = 60_000;

/** `scheduleSeconds`: `backup.schedule`'s interval, or null when it is off. */
export function registerBackupMetrics(registry: Registry, service: BackupService, scheduleSeconds: number | null, now: () => number = Date.now): void {
  const registers = [registry];
  /** What the last listing found, and when and after which of this instance's changes it was read. */
  let read: { at: number; changes: number } | null = null;
  new Gauge({
    name: "kai_backup_newest_timestamp_seconds",
    help: "When the newest backup in the backup directory was taken (Unix seconds); 0 when it holds none",
    registers,
    async collect() {
      if (read !== null && read.changes === service.changes && now() - read.at < NEWEST_BACKUP_REREAD_MS) return;
      const changes = service.changes;
      // A directory that cannot be read leaves the figure as it was (and is read again next time): the listing logs
      // why, the scrape goes on.
      const newest = await service.listLocal().then((backups) => backups[0], () => null);
      if (newest === null) return;
      this.set(newest === undefined ? 0 : Date.parse(newest.createdAt) / 1000);
      read = { at: now(), changes };
    },
  });
  new Gauge({
    name: "kai_backup_schedule_interval_seconds",
    help: "Seconds between scheduled backups (backup.schedule); 0 when they are off",
    registers,
    collect() {
      this.set(scheduleSeconds ?? 0);
    },
  });
  new Counter({
    name: "kai_backup_failures_total",
    help: "Backups that failed once begun (scheduled or asked for) since the node started",
    registers,
    collect() {
      this.reset();
      this.inc(service.failures);
    },
  });
  new Counter({
    name: "kai_backup_offsite_failures_total",
    help: "Backups whose copy to the offsite store (backup.offsite) failed since the node started: they are kept in the backup directory only",
    registers,
    collect() {
      this.reset();
      this.inc(service.offsiteFailures);
    },
  });
}
