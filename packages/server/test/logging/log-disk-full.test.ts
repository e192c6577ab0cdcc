/**
 * A node whose log file cannot be written (its system log is /dev/full: every write is ENOSPC) keeps serving:
 * requests that log a line are answered as usual, nothing crashes, and the log lines still reach the node's other
 * destinations (here the test's capture, standing in for stdout); `kai doctor` names the file it cannot write.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { DoctorResponseSchema } from "@kai/protocol";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const dataDir = mkdtempSync(join(tmpdir(), "kai-disk-full-"));
let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// /dev/full (Linux) refuses every write with ENOSPC: a full disk without filling one. Elsewhere this test is skipped.
const DEV_FULL = existsSync("/dev/full");
if (!DEV_FULL) console.warn("[skipped] log-disk-full.test.ts needs /dev/full (Linux)");

it.skipIf(!DEV_FULL)("answers requests while its log file refuses every write", async () => {
  const systemLogs = join(dataDir, "logs", "system");
  mkdirSync(systemLogs, { recursive: true, mode: 0o700 });
  const today = new Date().toISOString().slice(0, 10);
  symlinkSync("/dev/full", join(systemLogs, `system-${today}.log`));
  server = await startTestServer({ keepDataDir: dataDir });
  for (let i = 0; i < 20; i++) {
    const response = await server.request("/api/services");
    expect(response.status).toBe(200);
  }
  expect(server.logs.some((line) => line.includes('"msg":"request"') && line.includes('"route":"/api/services"'))).toBe(true);
  // kai doctor says which file cannot be written.
  const doctor = DoctorResponseSchema.parse(await (await server.request("/api/doctor")).json());
  const logs = doctor.checks.filter((check) => check.area === "logs");
  expect(logs.map((check) => check.state)).toEqual(["fail"]);
  expect(logs[0]!.summary).toContain(join(systemLogs, `system-${today}.log`));
  expect(doctor.state).toBe("fail");
});
