/**
 * `kai watch`: a long-running child that prints one line per registry event, until SIGINT.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitOf, runKai, sandbox, spawnKai, startTestServer, waitForOutput, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

const register = (id: string, tags: string[]) =>
  runKai(["--url", server.url, "services", "register", "-f", "-"], {
    cwd: box.dir,
    env: { ...box.env, KAI_TOKEN: server.adminToken },
    input: JSON.stringify({ id, name: id, tags }),
  });

describe("kai watch", () => {
  it("prints a line when a service registers, and stops cleanly on SIGINT", async () => {
    const child = spawnKai(["watch", "--url", server.url, "--tag", "watched"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });
    try {
      await waitForOutput(child.stderr, /watching 0 service\(s\) at revision \d+/);
      const line = waitForOutput(child.stdout, /registered w-1 active\n/);
      await register("not-watched", ["other"]);
      expect((await register("w-1", ["watched"])).code).toBe(0);
      const output = await line;
      expect(output).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z registered w-1 active$/m);
      // The filter held: the other service never showed up.
      expect(output).not.toContain("not-watched");
      child.kill("SIGINT");
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("--json prints NDJSON, and --from-revision replays what was missed", async () => {
    const start = JSON.parse((await runKai(["--url", server.url, "services", "list", "--json"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } })).stdout) as { revision: number };
    expect((await register("missed-1", ["replay"])).code).toBe(0);
    const child = spawnKai(["watch", "--url", server.url, "--json", "--tag", "replay", "--from-revision", String(start.revision)], {
      cwd: box.dir,
      env: { ...box.env, KAI_TOKEN: server.adminToken },
    });
    try {
      const output = await waitForOutput(child.stdout, /\n/);
      const event = JSON.parse(output.split("\n")[0]!) as { event: string; serviceId: string; revision: number; time: string };
      expect(event).toMatchObject({ event: "registered", serviceId: "missed-1" });
      expect(event.revision).toBeGreaterThan(start.revision);
      child.kill("SIGTERM");
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("exits 4 when the token is refused", async () => {
    const result = await runKai(["watch", "--url", server.url], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: "bad.token.here" } });
    expect(result.code).toBe(4);
  });

  it("exits 7 when the server cannot be reached at the start", async () => {
    const result = await runKai(["watch", "--url", "http://127.0.0.1:9"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });
    expect(result.code).toBe(7);
    expect(result.stderr).toContain("(unreachable)");
  });
});
