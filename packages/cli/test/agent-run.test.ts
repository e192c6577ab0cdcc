/**
 * `kai agent runs|start|stop` with the built CLI against a real node whose config runs one agent: a small real process
 * (node, waiting), not started with the node. Listed as stopped; started (running, with a pid); stopped again
 * (stopped, its exit shown); an id the node does not run is a not-found error.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

const ID = "kExecutor:idle";
let server: TestServer;
let box: Sandbox;
const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });

beforeAll(async () => {
  server = await startTestServer({ agents: { run: [{ id: ID, command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"], autostart: false, stopGraceMs: 5000 }] } });
  box = sandbox();
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai agent runs|start|stop", () => {
  it("lists, starts and stops an agent the node runs", async () => {
    const listed = await kai(["agent", "runs"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${ID}\\s+stopped\\s+-\\s+0\\s+-`));

    const started = await kai(["agent", "start", ID, "--json"]);
    expect(started.code, started.stderr).toBe(0);
    const state = JSON.parse(started.stdout) as { state: string; pid: number };
    expect(state).toMatchObject({ state: "running", pid: expect.any(Number) });

    const stopped = await kai(["agent", "stop", ID]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout + stopped.stderr).toContain(`agent ${ID} is stopped`);
    const after = await kai(["agent", "runs", "--json"]);
    expect(JSON.parse(after.stdout)).toMatchObject({ agents: [{ id: ID, state: "stopped", pid: null, lastExit: { signal: "SIGTERM" } }] });
  });

  it("says so for an agent the node does not run", async () => {
    const missing = await kai(["agent", "start", "kExecutor:nobody"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("kExecutor:nobody");
  });
});
