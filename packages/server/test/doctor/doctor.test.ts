/**
 * `GET /api/doctor` through real nodes: a fresh node names what a first week in production must change (no scheduled
 * backups, the vault opened by its key file, the first admin not signed in yet) and nothing it need not; the vault
 * locked is a failure, sealed by a passphrase it is fine; a node with scheduled backups whose offsite store does not
 * answer says the last copy failed (and never the store's secret key); a node whose trace collector refuses says spans
 * are not exported. Admin only. (A log file that cannot be written: test/logging/log-disk-full.test.ts; TLS files:
 * test/http/tls.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DoctorResponseSchema, type DoctorCheck, type DoctorResponse } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

const CANARY_SECRET = "doctor-canary-secret-3f9a1c7e5b";
const PASSPHRASE = "doctor test passphrase";

async function doctor(node: TestServer): Promise<DoctorResponse> {
  const response = await node.request("/api/doctor");
  expect(response.status).toBe(200);
  return DoctorResponseSchema.parse(await response.json());
}

const of = (answer: DoctorResponse, area: DoctorCheck["area"]) => answer.checks.filter((check) => check.area === area);

describe("a fresh node", () => {
  let node: TestServer;
  beforeAll(async () => {
    node = await startTestServer();
  });
  afterAll(async () => {
    await node?.dispose();
  });

  it("names what to change before production, and says the rest is fine", async () => {
    const answer = await doctor(node);
    expect(answer.state).toBe("warn");
    expect(answer.instance.length).toBeGreaterThan(0);
    expect(Math.abs(Date.parse(answer.checkedAt) - Date.now())).toBeLessThan(60_000);
    expect(of(answer, "tls")).toEqual([{ area: "tls", state: "ok", summary: "off: plain HTTP on 127.0.0.1, this machine only" }]);
    expect(of(answer, "backups").map((check) => [check.state, check.summary])).toEqual([["warn", "no scheduled backups (backup.schedule: off); no backup in the backup directory"]]);
    const [disk] = of(answer, "disk");
    expect(disk?.summary).toMatch(/^data directory \S+: [\d.]+ GiB free of [\d.]+ GiB \(\d+ %\)$/);
    expect(of(answer, "logs").map((check) => check.state)).toEqual(["ok"]);
    expect(of(answer, "tracing")).toEqual([{ area: "tracing", state: "ok", summary: "off (tracing.enabled: false)" }]);
    expect(of(answer, "vault").map((check) => check.state)).toEqual(["warn"]);
    expect(of(answer, "vault")[0]!.hint).toContain("kai vault rekey");
    expect(of(answer, "sign-in").map((check) => check.summary)).toEqual(["the first admin has not signed in yet: its one-time password is still in first-admin.password"]);
  });

  it("fails while the vault is locked, and is fine with it sealed by a passphrase", async () => {
    expect((await node.request("/api/vault/rekey", { method: "POST", json: { newPassphrase: PASSPHRASE } })).status).toBe(200);
    expect(of(await doctor(node), "vault")).toEqual([{ area: "vault", state: "ok", summary: "unlocked, sealed by a passphrase" }]);
    expect((await node.request("/api/vault/lock", { method: "POST" })).status).toBe(200);
    const locked = await doctor(node);
    expect(locked.state).toBe("fail");
    expect(of(locked, "vault").map((check) => [check.state, check.hint])).toEqual([["fail", "kai vault unlock"]]);
    expect((await node.request("/api/vault/unlock", { method: "POST", json: { passphrase: PASSPHRASE } })).status).toBe(200);
    expect((await doctor(node)).state).toBe("warn");
  });

  it("is for admins only", async () => {
    const viewer = await mintToken(node, ["services:read", "metrics:read"]);
    expect((await node.request("/api/doctor", { token: viewer })).status).toBe(403);
    expect((await node.request("/api/doctor", { token: null })).status).toBe(401);
  });
});

describe("backups and trace export", () => {
  let node: TestServer;
  const timeoutVariable = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
  const timeoutBefore = process.env[timeoutVariable];
  beforeAll(async () => {
    // The exporter's deadline per export, retries included (read from the process's environment): a refused export is
    // known within a second.
    process.env[timeoutVariable] = "1000";
    node = await startTestServer({
      config: {
        backup: {
          schedule: "6h",
          passphrase: PASSPHRASE,
          // Port 9 on loopback: nothing listens there, every request is refused.
          offsite: { store: "s3", s3: { endpoint: "http://127.0.0.1:9", bucket: "kai-doctor", forcePathStyle: true, accessKeyId: "AKIADOCTORCANARY", secretAccessKey: CANARY_SECRET } },
        },
        tracing: { enabled: true, otlpEndpoint: "http://127.0.0.1:9/v1/traces", sampleRatio: 1 },
      },
      env: { OTEL_BSP_SCHEDULE_DELAY: "100" },
    });
  });
  afterAll(async () => {
    await node?.dispose();
    if (timeoutBefore === undefined) delete process.env[timeoutVariable];
    else process.env[timeoutVariable] = timeoutBefore;
  });

  it("says the schedule and the newest backup, and that its offsite copy failed, without the store's secret", async () => {
    const created = await node.request("/api/backups", { method: "POST", json: {} });
    expect(created.status).toBe(201);
    const taken = (await created.json()) as { id: string; offsiteError?: string };
    expect(taken.offsiteError).toBeDefined();
    const response = await node.request("/api/doctor");
    const text = await response.text();
    expect(text).not.toContain(CANARY_SECRET);
    const answer = DoctorResponseSchema.parse(JSON.parse(text));
    const backups = of(answer, "backups");
    expect(backups.map((check) => check.state)).toEqual(["ok", "warn"]);
    expect(backups[0]!.summary).toMatch(new RegExp(`^scheduled every 6h; newest ${taken.id}, taken \\d+ minute\\(s\\) ago$`));
    expect(backups[1]!.summary).toContain(`the last offsite copy failed (${taken.id} at `);
    expect(backups[1]!.hint).toContain("backup.offsite");
  });

  it("says spans cannot be exported while the collector refuses them", async () => {
    const answer = await eventually(async () => {
      await node.request("/api/services");
      const checked = await doctor(node);
      return of(checked, "tracing")[0]?.state === "warn" ? checked : undefined;
    }, 15_000, 200);
    const [tracing] = of(answer, "tracing");
    expect(tracing!.summary).toMatch(/^spans cannot be exported to http:\/\/127\.0\.0\.1:9\/v1\/traces since \S+ \(.+\); \d+ dropped$/);
    expect(tracing!.hint).toContain("tracing.otlpEndpoint");
  });
});
