/**
 * `kai connectors` end to end: the built CLI against a real server. The overview lists every connector with its
 * operations; naming one shows its parameters per operation; `--json` prints the protocol's shape; an unknown id
 * is a not-found failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectorInfoSchema } from "@kai/protocol";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";
import { EXIT } from "../src/exit-codes.js";

let server: TestServer;
let box: Sandbox;

const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai connectors", () => {
  it("lists the connectors and their operations", async () => {
    const listed = await kai(["connectors"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+OPERATIONS/m);
    expect(listed.stdout).toMatch(/^ollama\s+Ollama\s+chat, chat_stream, completions, embeddings, models$/m);
  });

  it("shows one connector's parameters per operation, and as JSON", async () => {
    const shown = await kai(["connectors", "ollama"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^chat\s+top_k\s+integer$/m);
    expect(shown.stdout).toMatch(/^chat\s+stop\s+text or list of text$/m);
    expect(shown.stdout).not.toMatch(/^chat\s+user\b/m);
    expect(shown.stdout).toMatch(/^models\s+\(none\)/m);
    const json = await kai(["connectors", "anthropic", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const info = ConnectorInfoSchema.parse(JSON.parse(json.stdout));
    expect(Object.keys(info.operations.find((entry) => entry.operation === "chat")?.parameters?.properties ?? {})).toContain("top_k");
  });

  it("fails with not-found for a connector the node does not have", async () => {
    const missing = await kai(["connectors", "no-such-provider"]);
    expect(missing.code).toBe(EXIT.notFound);
    expect(missing.stderr).toContain("ollama");
  });
});
