/**
 * `kai task run --prompt` end to end: the built CLI against a real node and a small real HTTP agent. The prompt's
 * version is read first (a label pinned to its version), each `--var name=value` becomes its declared type, and the
 * rendered text reaches the agent's step input as `prompt` while the task keeps only its own input.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import { klp, signAgentManifest, type Task } from "@kai/protocol";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";
import { HttpAgent } from "../../server/test/agents/kcore/http-agent.js";

let server: TestServer;
let box: Sandbox;
let agent: HttpAgent;
let alice: string;

const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: alice } });

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
  agent = await HttpAgent.start("kExecutor:prompted", (step) => ({ body: { output: { got: step.input } } }));
  const admin = createClient({ url: server.url, token: server.adminToken });
  alice = (await admin.tokens.create({ scopes: ["tasks:run", "agents:read", "agents:write", "prompts:read", "prompts:write"], owner: "alice", ttl: "1h" })).token;
  const client = createClient({ url: server.url, token: alice });
  await client.agents.register(
    signAgentManifest({ id: "kExecutor:prompted", name: "prompted", skills: [{ id: "write", name: "write", capability: "write" }], endpoint: { transport: "http", url: agent.url } }, klp.generateKeyPair()),
  );
  await client.prompts.save("note", { template: "Note {{count}} about {{topic}}", variables: [{ name: "topic" }, { name: "count", type: "number" }], labels: ["production"] });
});
afterAll(async () => {
  await server?.close();
  await agent?.close();
  box?.cleanup();
});

describe("kai task run --prompt", () => {
  it("renders the prompt (label, typed --var) into the step's input", async () => {
    const result = await kai(["task", "run", "write a note", "--agent", "kExecutor:prompted", "--input", '{"tone":"dry"}', "--prompt", "note", "--prompt-label", "production", "--var", "topic=KLP", "--var", "count=3", "--wait", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const { task } = JSON.parse(result.stdout) as { task: Task };
    expect(task.state).toBe("completed");
    expect(task.result).toEqual({ main: { got: { tone: "dry", prompt: "Note 3 about KLP" } } });
    expect(task.plan?.steps[0]?.input).toEqual({ tone: "dry" });
  });

  it("fails before creating anything when a variable is missing", async () => {
    const result = await kai(["task", "run", "write a note", "--agent", "kExecutor:prompted", "--prompt", "note", "--var", "topic=KLP"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("prompt_variables_invalid");
  });
});
