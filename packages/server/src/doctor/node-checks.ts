/**
 * @module doctor/node-checks
 * What `kai doctor` says (`GET /api/doctor`), from facts gathered by node-doctor.ts: one function per area, each
 * turning plain facts into checks. Pure (the time is a fact too), so each rule is tested on its own. The thresholds
 * are the alerts' where an alert exists (deploy/prometheus/kai-alerts.yml: a certificate warns under 14 days and is
 * critical under 3, a backup is overdue at twice its schedule), so both views agree.
 */
import { certificateTimeLeft, type DoctorCheck, type TlsStatus } from "@kai/protocol";
import { isLoopbackHost } from "../config/listen-host.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const GIB = 1024 ** 3;

export interface TlsFacts {
  status: TlsStatus | undefined;
  /** The address the node listens on (`server.host`). */
  host: string;
  /** `server.trustProxy` is set: a proxy in front is declared, which is where TLS usually ends. */
  behindProxy: boolean;
}

export function tlsChecks(facts: TlsFacts, now: number): DoctorCheck[] {
  const { status } = facts;
  if (status === undefined || status.certificates.length === 0) {
    if (isLoopbackHost(facts.host)) return [{ area: "tls", state: "ok", summary: `off: plain HTTP on ${facts.host}, this machine only` }];
    if (facts.behindProxy) return [{ area: "tls", state: "ok", summary: `off here: plain HTTP on ${facts.host} behind a proxy (server.trustProxy), which terminates TLS` }];
    return [{
      area: "tls",
      state: "warn",
      summary: `off: plain HTTP on ${facts.host}`,
      hint: "terminate TLS here (server.tls.certFile and keyFile) or in a proxy in front of the node (docs/deployment.md); tokens and secrets cross the network in the clear otherwise",
    }];
  }
  const checks: DoctorCheck[] = status.certificates.map((certificate) => {
    const left = certificateTimeLeft(certificate.notAfter, now);
    if (left.expired) return { area: "tls", state: "fail", summary: `${certificate.setting} (${certificate.subject}) EXPIRED ${left.words} ago`, hint: "write a renewed certificate and key over the files: the node loads them without a restart" };
    const summary = `${certificate.setting} (${certificate.subject}) expires ${certificate.notAfter} (in ${left.words})`;
    if (left.days < 3) return { area: "tls", state: "fail", summary, hint: "renew it now: write the new certificate and key over the files (loaded without a restart)" };
    if (left.days < 14) return { area: "tls", state: "warn", summary, hint: "renew it soon (is the renewal job running?); the node loads renewed files without a restart" };
    return { area: "tls", state: "ok", summary };
  });
  for (const section of status.notReloaded) {
    checks.push({ area: "tls", state: "fail", summary: `${section}: the files changed on disk but did not load; the previous certificate is still served`, hint: "kai logs tail --grep tls says why (a key that is not the certificate's, a half-written file, a certificate expired or not valid yet)" });
  }
  return checks;
}

export interface BackupFacts {
  /** Backups are served by this node (`/api/backups`); false on a node built without them. */
  available: boolean;
  /** `backup.schedule` in seconds; undefined when `off`. */
  scheduleSeconds: number | undefined;
  /** The newest backup in the backup directory. */
  newest: { id: string; createdAt: string } | undefined;
  /** Backups are copied offsite (`backup.offsite`). */
  offsite: boolean;
  /** This instance's last offsite copy, since it started. */
  lastOffsiteCopy: { backup: string; at: string; ok: boolean; reason?: string } | undefined;
  /** When this instance started (a schedule has had time to run only after one interval). */
  startedAt: number;
}

function ago(ms: number): string {
  if (ms >= 2 * DAY_MS) return `${Math.floor(ms / DAY_MS)} days ago`;
  const hours = Math.floor(ms / (60 * 60 * 1000));
  return hours >= 1 ? `${hours} hour(s) ago` : `${Math.max(1, Math.floor(ms / 60_000))} minute(s) ago`;
}

/** A schedule's interval as it is usually written: `6h`, `1d`, `90m`, `45s`. */
export function intervalText(seconds: number): string {
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60]] as const) if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

export function backupChecks(facts: BackupFacts, now: number): DoctorCheck[] {
  if (!facts.available) return [];
  const checks: DoctorCheck[] = [];
  const newest = facts.newest;
  const newestText = newest ? `newest ${newest.id}, taken ${ago(now - Date.parse(newest.createdAt))}` : "no backup in the backup directory";
  if (facts.scheduleSeconds === undefined) {
    checks.push({
      area: "backups",
      state: "warn",
      summary: `no scheduled backups (backup.schedule: off); ${newestText}`,
      hint: "set backup.schedule (e.g. 6h) and backup.passphrase, or run kai backup create from a job of your own (docs/operations/backup.md)",
    });
  } else {
    const intervalMs = facts.scheduleSeconds * 1000;
    // The alert's rule (KaiBackupTooOld): overdue at twice the schedule, once the instance has run that long (one
    // missed run is not yet a failure, and a node just started after a long stop has had no chance to take one).
    const overdue = now - facts.startedAt > 2 * intervalMs && (newest === undefined || now - Date.parse(newest.createdAt) > 2 * intervalMs);
    if (overdue) {
      checks.push({ area: "backups", state: "fail", summary: `scheduled backups are overdue: ${newestText}, the schedule is every ${intervalText(facts.scheduleSeconds)}`, hint: "kai logs tail --grep backup says why the scheduled backups failed" });
    } else {
      checks.push({ area: "backups", state: "ok", summary: `scheduled every ${intervalText(facts.scheduleSeconds)}; ${newestText}` });
    }
  }
  if (facts.offsite && facts.lastOffsiteCopy !== undefined && !facts.lastOffsiteCopy.ok) {
    checks.push({
      area: "backups",
      state: "warn",
      summary: `the last offsite copy failed (${facts.lastOffsiteCopy.backup} at ${facts.lastOffsiteCopy.at}: ${facts.lastOffsiteCopy.reason ?? "the copy failed"}); that backup is kept in the backup directory only`,
      hint: "check backup.offsite (bucket, endpoint, keys) and that the store answers; the next backup is copied again",
    });
  }
  return checks;
}

export interface DiskFacts {
  /** `data directory`, `backup directory`. */
  what: string;
  path: string;
  freeBytes: number;
  totalBytes: number;
}

function gib(bytes: number): string {
  return `${(bytes / GIB).toFixed(bytes < 10 * GIB ? 1 : 0)} GiB`;
}

/** Low at under 10 % or 2 GiB free (warn), under 3 % or 0.5 GiB (fail): a full disk stops writes and logs. */
export function diskChecks(disks: readonly DiskFacts[]): DoctorCheck[] {
  return disks.map((disk) => {
    const share = disk.totalBytes > 0 ? disk.freeBytes / disk.totalBytes : 1;
    const summary = `${disk.what} ${disk.path}: ${gib(disk.freeBytes)} free of ${gib(disk.totalBytes)} (${Math.round(share * 100)} %)`;
    if (share < 0.03 || disk.freeBytes < GIB / 2) return { area: "disk", state: "fail", summary, hint: "free space now: writes fail on a full disk (registrations, backups, log files)" };
    if (share < 0.1 || disk.freeBytes < 2 * GIB) return { area: "disk", state: "warn", summary, hint: "free space soon (old backups: backup.retain; logs: logging.rotation.retentionDays)" };
    return { area: "disk", state: "ok", summary };
  });
}

export interface LogFacts {
  /** `logging.file`. */
  files: boolean;
  /** Log files whose last write failed. */
  failing: readonly string[];
}

export function logChecks(facts: LogFacts): DoctorCheck[] {
  if (!facts.files) return [{ area: "logs", state: "ok", summary: "log files off (logging.file: false); stdout and kai logs tail only" }];
  if (facts.failing.length === 0) return [{ area: "logs", state: "ok", summary: "log files written" }];
  return [{ area: "logs", state: "fail", summary: `cannot write ${facts.failing.join(", ")}; their lines are held in memory (1 MiB) and then dropped`, hint: "free disk space or fix the folder's permissions; the node writes again by itself" }];
}

export interface TracingFacts {
  enabled: boolean;
  /** Where spans are exported (scheme, host and path only). */
  endpoint: string | undefined;
  sampleRatio: number;
  trouble: { since: string; reason: string; droppedSpans: number } | undefined;
}

export function tracingChecks(facts: TracingFacts): DoctorCheck[] {
  if (!facts.enabled) return [{ area: "tracing", state: "ok", summary: "off (tracing.enabled: false)" }];
  const share = `${Math.round(facts.sampleRatio * 100)} % of new traces recorded`;
  if (facts.endpoint === undefined) return [{ area: "tracing", state: "ok", summary: `on, not exported (no OTLP endpoint): trace ids in answers and log lines only; ${share}` }];
  if (facts.trouble !== undefined) {
    return [{
      area: "tracing",
      state: "warn",
      summary: `spans cannot be exported to ${facts.endpoint} since ${facts.trouble.since} (${facts.trouble.reason}); ${facts.trouble.droppedSpans} dropped`,
      hint: "check that the collector runs and answers at tracing.otlpEndpoint; export resumes by itself",
    }];
  }
  return [{ area: "tracing", state: "ok", summary: `exported to ${facts.endpoint}; ${share}` }];
}

export interface VaultFacts {
  initialized: boolean;
  locked: boolean;
  /** Opened by the key file beside the data (the development default), not a passphrase. */
  autoUnlock: boolean;
}

export function vaultChecks(facts: VaultFacts): DoctorCheck[] {
  if (!facts.initialized) return [{ area: "vault", state: "warn", summary: "not initialised: no secrets can be kept", hint: "kai vault init" }];
  if (facts.locked) return [{ area: "vault", state: "fail", summary: "locked: secrets cannot be read, the node is not ready", hint: "kai vault unlock" }];
  if (facts.autoUnlock) {
    return [{
      area: "vault",
      state: "warn",
      summary: "unlocked by its key file (vault.key, the development default): whoever copies the data and key directories has the secrets",
      hint: "kai vault rekey to a passphrase for production (docs/security.md)",
    }];
  }
  return [{ area: "vault", state: "ok", summary: "unlocked, sealed by a passphrase" }];
}

export interface SignInFacts {
  /** The first admin's one-time password file is still on disk: nobody has signed in as that admin yet. */
  firstAdminPending: boolean;
  /** `rateLimit.enabled`. */
  rateLimited: boolean;
}

export function signInChecks(facts: SignInFacts): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  if (facts.firstAdminPending) {
    checks.push({ area: "sign-in", state: "warn", summary: "the first admin has not signed in yet: its one-time password is still in first-admin.password", hint: "kai login as admin with that password and choose your own (the file is deleted then)" });
  }
  if (!facts.rateLimited) {
    checks.push({ area: "sign-in", state: "warn", summary: "rate limits are off (rateLimit.enabled: false): nothing slows a password or token guesser, or a flood", hint: "set rateLimit.enabled: true (a restart)" });
  }
  // Said as what is known: the file is gone. A restored node never had one, so "the first admin signed in" would claim
  // what nobody saw.
  if (checks.length === 0) checks.push({ area: "sign-in", state: "ok", summary: "no one-time first-admin password left on disk; rate limits on" });
  return checks;
}
