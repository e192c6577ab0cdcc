/**
 * `kai doctor` on a node of two instances on one real PostgreSQL: asked on either, the answer holds both instances'
 * checks, each instance's its own (b's data folder holds a first admin's password file, a's does not: only b warns of
 * it); `instances=this` holds the answering one's only; a live member that never answers is named, and the answer is
 * then a warning at least. The same through `kai doctor` (each instance under its name, `--this-instance`, `--strict`).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DoctorResponseSchema, type DoctorResponse } from "@kai/protocol";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import type { TestServer } from "../helpers/test-server.js";
import { startInstances, type Instances } from "./support/instances.js";

const pg: PostgresServer | null = await startPostgres();
const CLI = fileURLToPath(new URL("../../../cli/dist/main.js", import.meta.url));

describe.skipIf(!pg)("kai doctor on a node of two instances", () => {
  let a: TestServer;
  let b: TestServer;
  let instances: Instances | undefined;
  let configDir: string;

  beforeAll(async () => {
    instances = await startInstances(pg!, { database: "doctor", cluster: { heartbeatMs: 200, memberTimeoutMs: 1500, pollIntervalMs: 300 } });
    [a, b] = instances.servers as [TestServer, TestServer];
    rmSync(join(a.dataDir, "first-admin.password"), { force: true });
    writeFileSync(join(b.dataDir, "first-admin.password"), "not a real password\n");
    configDir = mkdtempSync(join(tmpdir(), "kai-doctor-cli-"));
  }, 60_000);

  afterAll(async () => {
    await instances?.dispose();
    await pg?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  const doctor = async (server: TestServer, query = ""): Promise<DoctorResponse> => {
    const response = await server.request(`/api/doctor${query}`);
    expect(response.status).toBe(200);
    return DoctorResponseSchema.parse(await response.json());
  };
  const firstAdminWarning = (checks: DoctorResponse["checks"]) => checks.some((check) => check.area === "sign-in" && check.state === "warn" && /first admin/.test(check.summary));
  const kai = (server: TestServer, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, "doctor", "--url", server.url, ...args], { env: { ...process.env, KAI_TOKEN: server.adminToken, KAI_CONFIG_DIR: configDir } }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  test("either instance answers with both instances' checks, each its own", async () => {
    for (const [asked, other] of [[a, "b"], [b, "a"]] as const) {
      const answer = await doctor(asked);
      expect(answer.unanswered).toEqual([]);
      expect(answer.others?.map((report) => report.instance)).toEqual([other]);
      expect(answer.others![0]!.checks.map((check) => check.area)).toEqual(expect.arrayContaining(["tls", "backups", "disk", "logs", "tracing", "vault", "sign-in"]));
    }
    // b's own facts: its folder's file, not a's.
    const fromA = await doctor(a);
    expect(firstAdminWarning(fromA.checks)).toBe(false);
    expect(firstAdminWarning(fromA.others![0]!.checks)).toBe(true);
    const fromB = await doctor(b);
    expect(firstAdminWarning(fromB.checks)).toBe(true);
    expect(firstAdminWarning(fromB.others![0]!.checks)).toBe(false);

    const own = await doctor(a, "?instances=this");
    expect(own.instance).toBe("a");
    expect(own.others).toBeUndefined();
    expect(own.unanswered).toBeUndefined();
    expect((await a.request("/api/doctor?instances=some")).status).toBe(400);
  });

  test("kai doctor prints each instance's checks under its name; --this-instance the answering one's", async () => {
    const both = await kai(a, []);
    expect(both.code, both.stderr).toBe(0);
    const lines = both.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("a");
    const bAt = lines.indexOf("b");
    expect(bAt).toBeGreaterThan(0);
    // b's first-admin warning is under b, indented; a's checks have none.
    expect(lines.slice(bAt).some((line) => /^ {2}WARN {2}sign-in .*first admin/.test(line))).toBe(true);
    expect(lines.slice(0, bAt).filter((line) => /WARN.*first admin/.test(line))).toEqual([]);
    expect(both.stderr).toMatch(/^a: (all \d+ checks ok|\d+ warnings?, 0 failures)$/m);
    expect(both.stderr).toMatch(/^b: \d+ warnings?, 0 failures$/m);

    const mine = await kai(a, ["--this-instance"]);
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.stdout.split("\n")).not.toContain("b");
    expect(mine.stdout).toMatch(/^(ok {2}|WARN) {2}tls/m);
  });

  test("a live instance that never answers is named, and the answer is a warning at least", async () => {
    const removeSilent = await instances!.addSilentMember("silent");
    try {
      const answer = await doctor(a);
      expect(answer.unanswered).toEqual(["silent"]);
      expect(answer.others?.map((report) => report.instance)).toEqual(["b"]);
      expect(["warn", "fail"]).toContain(answer.state);

      const cli = await kai(a, ["--strict"]);
      expect(cli.code).toBe(9);
      expect(cli.stdout).toMatch(/^silent\n {2}\? +did not answer in time/m);
      expect(cli.stderr).toContain("silent: no answer");
    } finally {
      await removeSilent();
    }
  }, 30_000);
});
