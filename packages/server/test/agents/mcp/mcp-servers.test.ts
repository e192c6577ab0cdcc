/**
 * MCP tool servers (issue 16) against servers built with the official MCP SDK: one over streamable HTTP in-process,
 * one over stdio as a child process the node starts. Their tools become capabilities of a `tool` record; a task step
 * calls a tool through kCore; an isError tool fails its step; list_changed refreshes the capabilities; a command
 * server gets its environment from the vault, starts again when its process dies, and ends when it is removed; a
 * server that stops answering goes offline.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MCP_METADATA_KEY, ServiceRecordSchema, TaskSchema, TERMINAL_TASK_STATES, type CreateTaskRequestInput, type ServiceRecord, type Task } from "@kai/protocol";
import { createClient } from "@kai/sdk";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { McpHttpServer } from "./mcp-http-server.js";

const CHILD = fileURLToPath(new URL("./mcp-stdio-child.mjs", import.meta.url));

let server: TestServer;
let tools: McpHttpServer;
let alice: string;

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  tools = await McpHttpServer.start();
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write", "services:read"], "alice");
});

afterAll(async () => {
  await server?.dispose();
  await tools?.close();
});

async function record(id: string, token?: string): Promise<ServiceRecord> {
  const response = await server.request(`/api/services/${id}`, token === undefined ? {} : { token });
  expect(response.status).toBe(200);
  return ServiceRecordSchema.parse(await response.json());
}

async function runTask(body: CreateTaskRequestInput): Promise<Task> {
  const created = await server.request("/api/agent/task", { method: "POST", json: body, token: alice });
  expect(created.status, await created.clone().text()).toBe(202);
  const id = TaskSchema.parse(((await created.json()) as { task: unknown }).task).id;
  return eventually(async () => {
    const response = await server.request(`/api/agent/task/${id}`, { token: alice });
    const task = TaskSchema.parse(((await response.json()) as { task: unknown }).task);
    return TERMINAL_TASK_STATES.includes(task.state) ? task : undefined;
  }, 10_000);
}

function findPid(output: unknown): number {
  const text = JSON.stringify(output);
  const match = /"pid":(\d+)/.exec(text);
  if (!match) throw new Error(`no pid in ${text}`);
  return Number(match[1]);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("adds a streamable-HTTP MCP server: its tools become capabilities with their schemas", async () => {
  const response = await server.request("/api/agents/mcp", { method: "POST", json: { id: "calc", url: tools.url }, token: alice });
  expect(response.status, await response.clone().text()).toBe(201);
  const added = ServiceRecordSchema.parse(await response.json());
  expect(added.type).toBe("tool");
  expect(added.owner).toBe("alice");
  expect(added.capabilities).toEqual(expect.arrayContaining(["mcp.calc.add", "mcp.calc.fail", "mcp.calc.pid", "mcp.calc.greeting"]));
  const agent = added.metadata.agent as { transport: string; source: string; skills: Array<{ capability: string; name: string; inputSchema?: { properties?: object }; outputSchema?: object }> };
  expect(agent.transport).toBe("mcp");
  expect(agent.source).toBe("mcp");
  const add = agent.skills.find((skill) => skill.capability === "mcp.calc.add")!;
  expect(add.name).toBe("Add numbers");
  expect(Object.keys(add.inputSchema?.properties ?? {})).toEqual(["a", "b"]);
  expect(add.outputSchema).toBeDefined();
  expect(JSON.stringify(added.metadata[MCP_METADATA_KEY])).not.toContain("secret");
});

it("runs a task step as a tools/call: the step's input is the arguments, structuredContent the output", async () => {
  const task = await runTask({ goal: "add", plan: { goal: "add", steps: [{ id: "sum", capability: "mcp.calc.add", input: { a: 2, b: 3 }, retries: 0 }] } });
  expect(task.state, JSON.stringify(task)).toBe("completed");
  expect(task.steps.find((step) => step.id === "sum")?.assignee).toBe("calc");
  expect(task.steps.find((step) => step.id === "sum")?.output).toEqual({ sum: 5 });
});

it("fails the step when the tool answers isError, with the tool's text", async () => {
  const task = await runTask({ goal: "fail", plan: { goal: "fail", steps: [{ id: "boom", capability: "mcp.calc.fail", input: { why: "bad input" }, retries: 0 }] } });
  expect(task.state).toBe("failed");
  const step = task.steps.find((candidate) => candidate.id === "boom")!;
  expect(step.error?.code).toBe("agent_error");
  expect(step.error?.message).toContain("cannot do that: bad input");
});

it("refreshes the capabilities when the server says its tool list changed", async () => {
  tools.addTool("Shout-Back");
  const refreshed = await eventually(async () => {
    const current = await record("calc", alice);
    return current.capabilities.includes("mcp.calc.shout-back") ? current : undefined;
  });
  expect((refreshed.metadata[MCP_METADATA_KEY] as { tools: Record<string, string> }).tools["mcp.calc.shout-back"]).toBe("Shout-Back");
});

it("refuses a command server to a caller who is not an admin, and an id that is not an MCP server's", async () => {
  const command = { command: process.execPath, args: [CHILD] };
  const denied = await server.request("/api/agents/mcp", { method: "POST", json: { id: "local", command }, token: alice });
  expect(denied.status).toBe(403);
  const both = await server.request("/api/agents/mcp", { method: "POST", json: { id: "local", command, url: tools.url }, token: alice });
  expect(both.status).toBe(400);
  const unreachable = await server.request("/api/agents/mcp", { method: "POST", json: { id: "gone", url: "http://127.0.0.1:9/mcp" }, token: alice });
  expect(unreachable.status).toBe(502);
  expect(((await unreachable.json()) as { error: { code: string } }).error.code).toBe("mcp_server_unreachable");
});

it("runs a stdio server by command (admin), with its environment from vault secrets, restarts it and ends it on removal", async () => {
  const stored = await server.request("/api/vault/secrets/mcp/greeting", { method: "PUT", json: { value: "hello from the vault" } });
  expect(stored.status, await stored.clone().text()).toBe(200);
  const command = { command: process.execPath, args: [CHILD], env: { GREETING: "mcp/greeting" } };
  // Through the SDK, as the CLI does.
  const admin = createClient({ url: server.url, token: server.adminToken });
  const { tool: added, created } = await admin.agents.addMcp({ id: "local", command, visibility: "public" });
  expect(created).toBe(true);
  expect(added.capabilities).toEqual(expect.arrayContaining(["mcp.local.add", "mcp.local.greeting", "mcp.local.pid"]));
  // The secret's name is kept, never its value.
  expect(JSON.stringify(added)).not.toContain("hello from the vault");
  expect((added.metadata[MCP_METADATA_KEY] as { command: { env: object } }).command.env).toEqual({ GREETING: "mcp/greeting" });

  // A task step runs on the command server (it has no URL: kCore reaches it through the node's own connection).
  const done = await runTask({ goal: "add on the local server", capability: "mcp.local.add", input: { a: 20, b: 22 } });
  expect(done.state, JSON.stringify(done.steps)).toBe("completed");
  expect(done.steps[0]?.assignee).toBe("local");
  expect(done.result).toEqual({ main: { sum: 42 } });

  const connection = await server.mesh.mcp.connection("local");
  const greeting = await connection.callTool("greeting", {}, new AbortController().signal);
  expect(greeting.content).toEqual([{ type: "text", text: "hello from the vault" }]);

  // The process dies: the next use starts it again from the record (as a node start does).
  const first = findPid((await connection.callTool("pid", {}, new AbortController().signal)).structuredContent);
  process.kill(first, "SIGKILL");
  await eventually(async () => !alive(first));
  await server.mesh.mcp.refreshAll();
  const again = await server.mesh.mcp.connection("local");
  const second = findPid((await again.callTool("pid", {}, new AbortController().signal)).structuredContent);
  expect(second).not.toBe(first);
  expect((await record("local")).status).toBe("active");

  await admin.agents.removeMcp("local");
  await eventually(async () => !alive(second));
  expect((await server.request("/api/services/local")).status).toBe(404);
});

it("puts a server that stops answering offline", async () => {
  await tools.close();
  await server.mesh.mcp.refreshAll();
  const current = await record("calc", alice);
  expect(current.status).toBe("offline");
});
