/**
 * `kai status`, and the rate-limit exit code (8) against a server with a tiny read budget.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: true, read: { max: 3, windowSeconds: 60 } } });
  box = sandbox();
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });

describe("kai status and rate limits", () => {
  it("summarises the node and the caller", async () => {
    const human = await kai(["status"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^version:\s+\S+$/m);
    expect(human.stdout).toMatch(/^you are:\s+\S+ \(admin\)$/m);
    // A node without TLS files says so (a proxy in front may terminate TLS).
    expect(human.stdout).toMatch(/^tls:\s+off \(plain HTTP/m);
    const json = await kai(["status", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ caller: { scopes: ["admin"] }, registry: { services: 0 } });
  });

  it("exits 8 once the read budget is spent", async () => {
    let last = await kai(["services", "list"]);
    for (let i = 0; i < 5 && last.code === 0; i++) last = await kai(["services", "list"]);
    expect(last.code).toBe(8);
    expect(last.stderr).toContain("(rate_limited)");
  });
});
