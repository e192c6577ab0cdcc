/**
 * `kai task` end to end: the built CLI against a real node and a small real HTTP agent (a node:http server registered
 * by a signed manifest). `run --wait` prints the finished task and its steps, `run --plan` takes a YAML plan,
 * input-required is answered with `kai task answer`, `list`, `cancel`, and a failed task exits 1 with its error.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
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
  agent = await HttpAgent.start("kExecutor:cli", (step) => {
    if (step.input.hang) return "hang";
    if (step.input.ask && step.answer === undefined) return { body: { inputRequired: { prompt: "Which colour?" } } };
    if (step.input.fail) return { status: 500, body: { error: { message: "out of ink" } } };
    return { body: { output: { step: step.stepId, got: step.input, answer: step.answer ?? null } } };
  });
  const admin = createClient({ url: server.url, token: server.adminToken });
  alice = (await admin.tokens.create({ scopes: ["tasks:run", "agents:read", "agents:write"], owner: "alice", ttl: "1h" })).token;
  const client = createClient({ url: server.url, token: alice });
  await client.agents.register(
    signAgentManifest({ id: "kExecutor:cli", name: "cli agent", skills: [{ id: "paint", name: "paint", capability: "paint" }], endpoint: { transport: "http", url: agent.url } }, klp.generateKeyPair()),
  );
});
afterAll(async () => {
  await server?.close();
  await agent?.close();
  box?.cleanup();
});

describe("kai task", () => {
  it("runs a task for an agent and waits for it", async () => {
    const result = await kai(["task", "run", "paint", "the", "fence", "--agent", "kExecutor:cli", "--input", '{"colour":"red"}', "--wait"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^state:\s+completed$/m);
    expect(result.stdout).toMatch(/^goal:\s+paint the fence$/m);
    expect(result.stdout).toMatch(/^main\s+paint\s+completed\s+kExecutor:cli\s+1\s+-$/m);
    expect(result.stdout).toContain('"got":{"colour":"red"}');
  });

  it("runs a YAML plan, and prints the task as JSON with --json", async () => {
    const plan = join(box.dir, "plan.yaml");
    writeFileSync(plan, "steps:\n  - id: first\n    capability: paint\n  - id: second\n    capability: paint\n    dependsOn: [first]\n    inputsFrom:\n      previous: { step: first, path: step }\n");
    const result = await kai(["task", "run", "two coats", "--plan", plan, "--wait", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const { task } = JSON.parse(result.stdout) as { task: Task };
    expect(task.state).toBe("completed");
    expect(task.result).toEqual({ second: { step: "second", got: { previous: "first" }, answer: null } });
  });

  it("stops waiting at a question, answers it with kai task answer, and lists the task", async () => {
    const waiting = await kai(["task", "run", "ask me", "--capability", "paint", "--input", '{"ask":true}', "--wait"]);
    expect(waiting.code, waiting.stderr).toBe(0);
    expect(waiting.stdout).toMatch(/^question:\s+Which colour\? \(step main; answer with: kai task answer \S+ <answer>\)$/m);
    const id = waiting.stdout.match(/^id:\s+(\S+)$/m)![1]!;
    const answered = await kai(["task", "answer", id, "blue", "--json"]);
    expect(answered.code, answered.stderr).toBe(0);
    expect(["working", "completed"]).toContain((JSON.parse(answered.stdout) as { task: Task }).task.state);
    const listed = await kai(["task", "list"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+(working|completed)\\s+`, "m"));
  }, 60_000);

  it("cancels a task, and exits 1 for a task that failed", async () => {
    const created = await kai(["task", "run", "forever", "--agent", "kExecutor:cli", "--input", '{"hang":true}']);
    const id = created.stdout.trim();
    const canceled = await kai(["task", "cancel", id]);
    expect(canceled.code, canceled.stderr).toBe(0);
    expect(canceled.stderr).toContain(`task ${id} canceled`);

    const failed = await kai(["task", "run", "fail", "--agent", "kExecutor:cli", "--input", '{"fail":true}', "--wait"]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^state:\s+failed$/m);
    expect(failed.stderr).toContain("out of ink");
  }, 60_000);

  it("refuses a bad --input as a usage error", async () => {
    const result = await kai(["task", "run", "x", "--capability", "paint", "--input", "{nope"]);
    expect(result.code).toBe(2);
  });
});
