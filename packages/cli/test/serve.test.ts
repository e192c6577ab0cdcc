/**
 * `kai serve` end to end: the real binary starts a server on a port we chose, writes the admin token
 * with mode 0600, answers /healthz, serves other `kai` commands, and stops with exit 0 on SIGTERM.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exitOf, freePort, runKai, sandbox, spawnKai, waitForOutput } from "./helpers.js";

const box = sandbox();
const dataDir = mkdtempSync(join(tmpdir(), "kai-serve-test-"));

afterAll(() => {
  box.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("kai serve", () => {
  it("starts, prints where things are, serves requests and shuts down cleanly on SIGTERM", async () => {
    const port = await freePort();
    const child = spawnKai(["serve", "--port", String(port), "--data-dir", dataDir, "--quiet"], { cwd: box.dir, env: box.env });
    try {
      const banner = await waitForOutput(child.stderr, /admin token: .+\n/, 15_000);
      const url = `http://127.0.0.1:${port}`;
      expect(banner).toContain(`listening on ${url}`);
      expect(banner).toContain(`${url}/docs`);
      const tokenPath = join(dataDir, "admin.token");
      expect(banner).toContain(tokenPath);

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      expect(statSync(tokenPath).mode & 0o777).toBe(0o600);

      // The default token lookup: KAI_DATA_DIR/admin.token, as after `npm start`.
      const status = await runKai(["status", "--url", url], { cwd: box.dir, env: { ...box.env, KAI_DATA_DIR: dataDir } });
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/^server:\s+http:\/\/127\.0\.0\.1:\d+$/m);
      const json = await runKai(["status", "--url", url, "--json"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: readFileSync(tokenPath, "utf8").trim() } });
      expect(JSON.parse(json.stdout)).toMatchObject({ registry: { services: 0 } });

      child.kill("SIGTERM");
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses a bad port with a usage error (exit 2)", async () => {
    const result = await runKai(["serve", "--port", "70000"], { cwd: box.dir, env: box.env });
    expect(result.code).toBe(2);
  });
});
