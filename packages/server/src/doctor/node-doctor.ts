/**
 * @module doctor/node-doctor
 * `GET /api/doctor` (`kai doctor`): gathers this instance's facts from the parts that hold them (the TLS files it
 * serves, the backup directory and the last offsite copy, free space where it writes, its log files, the trace export,
 * the vault, the first admin's file, the rate limits) and runs the rules of node-checks.ts on them. Each instance
 * checks itself: disks, files and exports are its own; on a node of several, the one answering asks the others for
 * theirs (cluster-doctor-relay.ts) and `doctorAnswer` puts them together.
 *
 * Cheap enough to call at will: no request leaves the node (the offsite store is not listed; its last copy's outcome
 * is remembered), the backup directory is read once, `statfs` once per file system.
 */
import { existsSync } from "node:fs";
import { stat, statfs } from "node:fs/promises";
import { join } from "node:path";
import { worseState, type DoctorCheck, type DoctorReport, type DoctorResponse, type DoctorState } from "@kai/protocol";
import type { OtherReports } from "./cluster-doctor-relay.js";
import type { Config } from "../config/config-schema.js";
import type { BackupService } from "../backup/backup-service.js";
import type { TlsCertificates } from "../http/tls-certificates.js";
import type { NodeTracing } from "../tracing/node-tracing.js";
import { endpointForLog } from "../tracing/reporting-exporter.js";
import type { Vault } from "../vault/vault.js";
import { FIRST_ADMIN_FILE } from "../auth/users/first-admin.js";
import { backupChecks, diskChecks, logChecks, signInChecks, tlsChecks, tracingChecks, vaultChecks, type DiskFacts } from "./node-checks.js";

export interface DoctorSources {
  config: Config;
  startedAt: Date;
  /** This instance's name (`GET /api/cluster`'s). */
  instanceName: () => Promise<string>;
  tlsCertificates: TlsCertificates;
  backups: BackupService | undefined;
  vault: Pick<Vault, "status">;
  tracing: NodeTracing | undefined;
  /** The log files whose last write failed (logging/log-files.ts). */
  failingLogFiles: () => string[];
  now?: () => number;
}

/** Free space of each folder the node writes to, once per file system (the backup directory is often the data's). */
async function disks(folders: ReadonlyArray<[string, string]>): Promise<DiskFacts[]> {
  const seen = new Set<number>();
  const found: DiskFacts[] = [];
  for (const [what, path] of folders) {
    try {
      const device = (await stat(path)).dev;
      if (seen.has(device)) continue;
      seen.add(device);
      const space = await statfs(path);
      found.push({ what, path, freeBytes: space.bavail * space.bsize, totalBytes: space.blocks * space.bsize });
    } catch {
      // A folder not made yet (no backup taken) has no space of its own to report.
    }
  }
  return found;
}

/**
 * The answer of `GET /api/doctor`: this instance's report and, when the other instances were asked
 * (cluster-doctor-relay.ts), theirs and who did not answer; the state is the worst of all, an unanswered instance `warn`.
 */
export function doctorAnswer(own: DoctorReport, others?: OtherReports): DoctorResponse {
  if (!others) return own;
  let state = others.reports.reduce<DoctorState>((worst, report) => worseState(worst, report.state), own.state);
  if (others.unanswered.length > 0) state = worseState(state, "warn");
  return { ...own, state, others: others.reports, unanswered: others.unanswered };
}

export async function runDoctor(sources: DoctorSources): Promise<DoctorReport> {
  const now = (sources.now ?? Date.now)();
  const { config, backups } = sources;
  const [instance, vault, newest, space] = await Promise.all([
    sources.instanceName(),
    sources.vault.status(),
    backups ? backups.listLocal().then((local) => local[0]) : Promise.resolve(undefined),
    disks([["data directory", config.dataDir], ...(backups ? [["backup directory", backups.dir] as [string, string]] : [])]),
  ]);
  const trouble = sources.tracing?.exportTrouble();
  const checks: DoctorCheck[] = [
    ...tlsChecks({ status: sources.tlsCertificates.status(), host: config.server.host, behindProxy: config.server.trustProxy !== false }, now),
    ...backupChecks({
      available: backups !== undefined,
      scheduleSeconds: config.backup.schedule === "off" ? undefined : config.backup.schedule,
      newest: newest ? { id: newest.id, createdAt: newest.createdAt } : undefined,
      offsite: backups?.copiesOffsite ?? false,
      lastOffsiteCopy: backups?.lastOffsiteCopy,
      startedAt: sources.startedAt.getTime(),
    }, now),
    ...diskChecks(space),
    ...logChecks({ files: config.logging.file, failing: sources.failingLogFiles() }),
    ...tracingChecks({
      enabled: sources.tracing !== undefined,
      endpoint: sources.tracing?.endpoint === undefined ? undefined : endpointForLog(sources.tracing.endpoint),
      sampleRatio: sources.tracing?.sampleRatio ?? config.tracing.sampleRatio,
      trouble,
    }),
    ...vaultChecks({ initialized: vault.initialized, locked: vault.locked, autoUnlock: vault.autoUnlock }),
    ...signInChecks({ firstAdminPending: existsSync(join(config.dataDir, FIRST_ADMIN_FILE)), rateLimited: config.rateLimit.enabled }),
  ];
  const state = checks.reduce<DoctorState>((worst, check) => worseState(worst, check.state), "ok");
  return { checkedAt: new Date(now).toISOString(), instance, state, checks };
}
