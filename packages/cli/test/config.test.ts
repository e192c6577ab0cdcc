/**
 * `kai config` end to end: the built CLI against a real node. `list` and `get` show the effective settings,
 * `explain` every layer and the winner, `set` changes the log level live (JSON `null` removes the runtime value) and
 * a restart-only setting is refused with exit 5 (`config_restart_required`); a token without `config:admin` exits 4.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
let carol: string;

const kai = (args: string[], token = carol) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: token } });

beforeAll(async () => {
  server = await startTestServer({ gateway: { retries: 3 } });
  box = sandbox();
  const admin = createClient({ url: server.url, token: server.adminToken });
  carol = (await admin.tokens.create({ scopes: ["config:admin"], owner: "carol", ttl: "1h" })).token;
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai config", () => {
  it("lists, gets and explains settings", async () => {
    const list = await kai(["config", "list"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^gateway\.retries = 3$/m);
    const got = await kai(["config", "get", "gateway.retries"]);
    expect(got.stdout.trim()).toBe("3");
    const explained = await kai(["config", "explain", "gateway.retries"]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/defaults\s+built-in\s+1/);
    expect(explained.stdout).toMatch(/cli \(wins\)\s+command line\s+3/);
    // The router reads its retries per request: a change applies live.
    expect(explained.stderr).toContain("can change live");
    const restartOnly = await kai(["config", "explain", "gateway.maxResponseBytes"]);
    expect(restartOnly.stderr).toContain("a change needs a restart");
    const json = JSON.parse((await kai(["config", "explain", "logging.level", "--json"])).stdout) as { winner: string; live: boolean };
    expect(json).toMatchObject({ live: true });
  });

  it("sets the log level live, removes it with null, and refuses a restart-only setting with exit 5", async () => {
    const set = await kai(["config", "set", "logging.level", "warn"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.trim()).toMatch(/^logging\.level: \w+ -> warn$/);
    expect((await kai(["config", "get", "logging.level"])).stdout.trim()).toBe("warn");
    expect((await kai(["config", "set", "logging.level", "null"])).code).toBe(0);
    expect((await kai(["config", "get", "logging.level"])).stdout.trim()).not.toBe("warn");
    const refused = await kai(["config", "set", "gateway.maxResponseBytes", "1048576"]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain("gateway.maxResponseBytes");
    expect((await kai(["config", "get", "gateway.maxResponseBytes"])).stdout.trim()).toBe(String(64 * 1024 * 1024));
  });

  it("needs config:admin", async () => {
    const admin = createClient({ url: server.url, token: server.adminToken });
    const reader = (await admin.tokens.create({ scopes: ["services:read"], owner: "dave", ttl: "1h" })).token;
    expect((await kai(["config", "list"], reader)).code).toBe(4);
  });
});
