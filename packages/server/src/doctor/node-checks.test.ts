/**
 * The rules of `kai doctor` (node-checks.ts), each on its own facts: where ok turns into warn and warn into fail, and
 * that the thresholds agree with the alerts' (a certificate: 14 and 3 days; a backup: twice its schedule, once the
 * instance has run that long).
 */
import { describe, expect, it } from "vitest";
import { backupChecks, diskChecks, intervalText, logChecks, signInChecks, tlsChecks, tracingChecks, vaultChecks, type BackupFacts } from "./node-checks.js";

const NOW = Date.parse("2026-12-07T12:00:00.000Z");
const DAY = 24 * 60 * 60 * 1000;
const GIB = 1024 ** 3;
const at = (ms: number) => new Date(ms).toISOString();

describe("tls", () => {
  const certificate = (daysLeft: number) => ({ setting: "server.tls.certFile" as const, subject: "CN=kai.example", issuer: "CN=CA", notAfter: at(NOW + daysLeft * DAY) });
  const states = (daysLeft: number) => tlsChecks({ status: { certificates: [certificate(daysLeft)], notReloaded: [] }, host: "0.0.0.0", behindProxy: false }, NOW).map((check) => check.state);

  it("is ok from 14 days left, warns under 14, fails under 3 and once expired", () => {
    expect(states(30)).toEqual(["ok"]);
    expect(states(14)).toEqual(["ok"]);
    expect(states(13.9)).toEqual(["warn"]);
    expect(states(3)).toEqual(["warn"]);
    expect(states(2.9)).toEqual(["fail"]);
    expect(states(-1)).toEqual(["fail"]);
    const expired = tlsChecks({ status: { certificates: [certificate(-1)], notReloaded: [] }, host: "0.0.0.0", behindProxy: false }, NOW)[0]!;
    expect(expired.summary).toContain("EXPIRED");
    expect(expired.hint).toBeDefined();
  });

  it("fails for a change that did not load, beside the certificate still served", () => {
    const checks = tlsChecks({ status: { certificates: [certificate(60)], notReloaded: ["server.tls"] }, host: "0.0.0.0", behindProxy: false }, NOW);
    expect(checks.map((check) => check.state)).toEqual(["ok", "fail"]);
    expect(checks[1]!.summary).toContain("server.tls: the files changed on disk but did not load");
  });

  it("warns of plain HTTP on an address others reach, not on this machine's own nor behind a declared proxy", () => {
    expect(tlsChecks({ status: undefined, host: "127.0.0.1", behindProxy: false }, NOW).map((check) => check.state)).toEqual(["ok"]);
    expect(tlsChecks({ status: undefined, host: "::1", behindProxy: false }, NOW).map((check) => check.state)).toEqual(["ok"]);
    const open = tlsChecks({ status: undefined, host: "0.0.0.0", behindProxy: false }, NOW);
    expect(open.map((check) => check.state)).toEqual(["warn"]);
    expect(open[0]!.hint).toContain("server.tls");
    // A proxy in front is declared: TLS ends there.
    expect(tlsChecks({ status: undefined, host: "0.0.0.0", behindProxy: true }, NOW).map((check) => check.state)).toEqual(["ok"]);
  });
});

describe("backups", () => {
  const base: BackupFacts = { available: true, scheduleSeconds: 6 * 3600, newest: undefined, offsite: false, lastOffsiteCopy: undefined, startedAt: NOW - 30 * DAY };
  const newest = (hoursAgo: number) => ({ id: "20261207T000000000Z-aaaaaaaa", createdAt: at(NOW - hoursAgo * 3600_000) });

  it("warns when nothing is scheduled", () => {
    const checks = backupChecks({ ...base, scheduleSeconds: undefined, newest: newest(1) }, NOW);
    expect(checks.map((check) => check.state)).toEqual(["warn"]);
    expect(checks[0]!.summary).toContain("no scheduled backups");
    expect(checks[0]!.summary).toContain("newest 20261207T000000000Z-aaaaaaaa, taken 1 hour(s) ago");
  });

  it("fails when the newest backup is older than twice the schedule, as the alert does", () => {
    expect(backupChecks({ ...base, newest: newest(11) }, NOW).map((check) => check.state)).toEqual(["ok"]);
    const overdue = backupChecks({ ...base, newest: newest(13) }, NOW);
    expect(overdue.map((check) => check.state)).toEqual(["fail"]);
    expect(overdue[0]!.summary).toContain("the schedule is every 6h");
    expect(backupChecks({ ...base, newest: undefined }, NOW).map((check) => check.state)).toEqual(["fail"]);
  });

  it("gives an instance that started less than two intervals ago the time to take one", () => {
    const young = { ...base, startedAt: NOW - 11 * 3600_000 };
    expect(backupChecks({ ...young, newest: undefined }, NOW).map((check) => check.state)).toEqual(["ok"]);
    expect(backupChecks({ ...young, newest: newest(72) }, NOW).map((check) => check.state)).toEqual(["ok"]);
  });

  it("warns when the last offsite copy failed, and not once the next one went", () => {
    const failed = { backup: "20261207T000000000Z-aaaaaaaa", at: at(NOW - 3600_000), ok: false, reason: "the offsite store did not answer" };
    const checks = backupChecks({ ...base, newest: newest(1), offsite: true, lastOffsiteCopy: failed }, NOW);
    expect(checks.map((check) => check.state)).toEqual(["ok", "warn"]);
    expect(checks[1]!.summary).toContain("the offsite store did not answer");
    expect(backupChecks({ ...base, newest: newest(1), offsite: true, lastOffsiteCopy: { ...failed, ok: true } }, NOW).map((check) => check.state)).toEqual(["ok"]);
  });

  it("says nothing on a node without backups, and writes intervals as they are set", () => {
    expect(backupChecks({ ...base, available: false }, NOW)).toEqual([]);
    expect([intervalText(86_400), intervalText(21_600), intervalText(5400), intervalText(45)]).toEqual(["1d", "6h", "90m", "45s"]);
  });
});

describe("disk", () => {
  const disk = (freeGib: number, totalGib: number) => diskChecks([{ what: "data directory", path: "/var/lib/kai", freeBytes: freeGib * GIB, totalBytes: totalGib * GIB }])[0]!;

  it("warns under 10 % or 2 GiB free, fails under 3 % or half a GiB", () => {
    expect(disk(50, 100).state).toBe("ok");
    expect(disk(50, 100).summary).toBe("data directory /var/lib/kai: 50 GiB free of 100 GiB (50 %)");
    expect(disk(9, 100).state).toBe("warn");
    expect(disk(1.5, 10).state).toBe("warn");
    expect(disk(2.9, 100).state).toBe("fail");
    expect(disk(0.4, 1).state).toBe("fail");
  });
});

describe("logs, tracing, vault, sign-in", () => {
  it("fails for a log file that cannot be written", () => {
    expect(logChecks({ files: true, failing: [] }).map((check) => check.state)).toEqual(["ok"]);
    expect(logChecks({ files: false, failing: [] }).map((check) => check.state)).toEqual(["ok"]);
    const failing = logChecks({ files: true, failing: ["/data/logs/system/system-2026-12-07.log"] });
    expect(failing.map((check) => check.state)).toEqual(["fail"]);
    expect(failing[0]!.summary).toContain("system-2026-12-07.log");
  });

  it("warns while spans cannot be exported", () => {
    expect(tracingChecks({ enabled: false, endpoint: undefined, sampleRatio: 1, trouble: undefined })[0]!.summary).toBe("off (tracing.enabled: false)");
    expect(tracingChecks({ enabled: true, endpoint: "http://collector:4318/v1/traces", sampleRatio: 0.1, trouble: undefined })[0]!.summary).toBe("exported to http://collector:4318/v1/traces; 10 % of new traces recorded");
    const down = tracingChecks({ enabled: true, endpoint: "http://collector:4318/v1/traces", sampleRatio: 1, trouble: { since: at(NOW), reason: "ECONNREFUSED", droppedSpans: 12 } })[0]!;
    expect(down.state).toBe("warn");
    expect(down.summary).toContain("ECONNREFUSED");
    expect(down.summary).toContain("12 dropped");
  });

  it("fails for a locked vault, warns for one opened by its key file or not initialised", () => {
    expect(vaultChecks({ initialized: true, locked: true, autoUnlock: false })[0]!.state).toBe("fail");
    expect(vaultChecks({ initialized: true, locked: false, autoUnlock: true })[0]!.state).toBe("warn");
    expect(vaultChecks({ initialized: false, locked: false, autoUnlock: false })[0]!.state).toBe("warn");
    expect(vaultChecks({ initialized: true, locked: false, autoUnlock: false })[0]!.state).toBe("ok");
  });

  it("warns while the first admin has not signed in, and when rate limits are off", () => {
    expect(signInChecks({ firstAdminPending: false, rateLimited: true })).toEqual([{ area: "sign-in", state: "ok", summary: "no one-time first-admin password left on disk; rate limits on" }]);
    expect(signInChecks({ firstAdminPending: true, rateLimited: false }).map((check) => check.state)).toEqual(["warn", "warn"]);
  });
});
