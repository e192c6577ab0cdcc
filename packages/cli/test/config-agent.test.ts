/**
 * `kai config get|list|explain --agent` end to end: the built CLI against a real node started with a user file and an
 * `agents/` folder beside it. The agent's view shows its overrides file's value and the `agent` layer winning; an
 * agent without a file sees the node's value; an id that is not `kClass:name` exits 6 (`validation_failed`); `set` has
 * no `--agent` (an agent's overrides are its file).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "@kai/server";
import { createClient } from "@kai/sdk";
import { runKai, sandbox, type Sandbox } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "kai-cli-agent-config-"));
const agentFile = join(dir, "agents", "kPlanner.main.yaml");
let server: RunningServer;
let box: Sandbox;
let carol: string;

const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: carol } });

beforeAll(async () => {
  mkdirSync(join(dir, "agents"));
  writeFileSync(join(dir, "kai.yaml"), "agents:\n  planner:\n    attempts: 2\n");
  writeFileSync(agentFile, "agents:\n  planner:\n    attempts: 5\n");
  server = await startServer({ dataDir: join(dir, "data"), configFile: join(dir, "kai.yaml"), env: {}, port: 0, host: "127.0.0.1", quiet: true });
  box = sandbox();
  const admin = createClient({ url: server.url, token: server.adminToken });
  carol = (await admin.tokens.create({ scopes: ["config:admin"], owner: "carol", ttl: "1h" })).token;
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("kai config --agent", () => {
  it("gets, lists and explains a setting in an agent's view", async () => {
    expect((await kai(["config", "get", "agents.planner.attempts"])).stdout.trim()).toBe("2");
    const got = await kai(["config", "get", "agents.planner.attempts", "--agent", "kPlanner:main"]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout.trim()).toBe("5");
    expect(JSON.parse((await kai(["config", "get", "agents.planner.attempts", "--agent", "kPlanner:main", "--json"])).stdout)).toEqual({ key: "agents.planner.attempts", agent: "kPlanner:main", value: 5, winner: "agent" });
    // An agent without a file sees the node's value.
    expect((await kai(["config", "get", "agents.planner.attempts", "--agent", "kPlanner:spare"])).stdout.trim()).toBe("2");

    const list = await kai(["config", "list", "--agent", "kPlanner:main"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^agents\.planner\.attempts = 5$/m);
    expect(list.stderr).toContain(`kPlanner:main's overrides (${agentFile}): agents.planner.attempts`);

    const explained = await kai(["config", "explain", "agents.planner.attempts", "--agent", "kPlanner:main"]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/user\s+\S+kai\.yaml\s+2/);
    expect(explained.stdout).toContain(`agent (wins)  ${agentFile}`);
    expect(explained.stderr).toContain("agents.planner.attempts = 5 for kPlanner:main from agent");
    // Node-wide, no agent layer is listed.
    expect((await kai(["config", "explain", "agents.planner.attempts"])).stdout).not.toMatch(/^agent/m);
  });

  it("refuses an id that is not kClass:name with exit 6 (validation), and has no set --agent", async () => {
    const refused = await kai(["config", "get", "logging.level", "--agent", "../../x"]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain("kClass:name");
    const set = await kai(["config", "set", "agents.planner.attempts", "4", "--agent", "kPlanner:main"]);
    expect(set.code).not.toBe(0);
    expect((await kai(["config", "get", "agents.planner.attempts"])).stdout.trim()).toBe("2");
  });
});
